"""juniper_junos driver against the emulated SRX over real SSH (netmiko ``juniper_junos``) (DRV1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from egressctl.inventory.credentials import Secret
from egressctl.inventory.models import Device
from tests.integration import d1_emulated as emu
from tests.integration.d1_lifecycle import LifecycleSuite, lab_site

pytestmark = pytest.mark.skipif(not emu.available("juniper_junos"), reason="no juniper_junos emulator")

SPEC = {"interfaces": {"ge-0/0/0": "ge0", "ge-0/0/1": "ge1"},
        "zones": {"untrust": ["ge-0/0/0.0"], "trust": ["ge-0/0/1.0"]}}


@pytest.fixture(scope="module")
def srx() -> Iterator[emu.Emulated]:
    with emu.emulated(lab_site().device("ce-b"), 23430, SPEC) as e:
        yield e


class TestJuniperJunosLifecycle(LifecycleSuite):
    revert_wait = 60 * emu.TIME_SCALE

    @pytest.fixture(scope="class")
    def device(self, srx: emu.Emulated) -> Device:
        return srx.device

    @pytest.fixture(scope="class")
    def secret(self, srx: emu.Emulated) -> Secret:
        return srx.secret

    def rejected_line(self, drv: Any) -> None:
        drv._config_mode()
        try:
            drv.send_config(["set security policies d1-no-such-keyword x"], exit_config_mode=False,
                            enter_config_mode=False)
        finally:
            drv.discard()

    def test_09_owned_policies_precede_the_site_policy(self, drv: Any, site: Any) -> None:
        from egressctl.policy import compute_policy

        self.apply(drv, compute_policy(site, "isolated"))
        drv.confirm()
        names = drv.send("show configuration security policies | display set").split()
        order = list(dict.fromkeys(n for i, n in enumerate(names) if i and names[i - 1] == "policy"))
        site_first = next(i for i, n in enumerate(order) if not n.startswith("egressctl-"))
        assert all(n.startswith("egressctl-") for n in order[:site_first]) and site_first > 0
        assert not any(n.startswith("egressctl-") for n in order[site_first:])
        self.apply(drv, compute_policy(site, "normal"))
        drv.confirm()
