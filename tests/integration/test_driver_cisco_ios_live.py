"""cisco_ios driver against the emulated IOS router over real SSH (netmiko ``cisco_ios``) (DRV1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from egressctl.inventory.credentials import Secret
from egressctl.inventory.models import Device
from tests.integration import d1_emulated as emu
from tests.integration.d1_lifecycle import LifecycleSuite, lab_site

pytestmark = pytest.mark.skipif(not emu.available("cisco_ios"), reason="cisco_ios emulator not available")

SPEC = {"interfaces": {"GigabitEthernet0/0": "gi0-0", "GigabitEthernet0/1": "gi0-1"}}


@pytest.fixture(scope="module")
def router() -> Iterator[emu.Emulated]:
    with emu.emulated(lab_site().device("ce-a"), 23420, SPEC) as e:
        yield e


class TestCiscoIosLifecycle(LifecycleSuite):
    revert_wait = 60 * emu.TIME_SCALE

    @pytest.fixture(scope="class")
    def device(self, router: emu.Emulated) -> Device:
        return router.device

    @pytest.fixture(scope="class")
    def secret(self, router: emu.Emulated) -> Secret:
        return router.secret

    def rejected_line(self, drv: Any) -> None:
        drv.send_config(["ip access-list extended EGRESSCTL-V4", " permit tcp host 10.0.0.1 eq nosuch any"])

    def test_09_archive_is_configured(self, drv: Any) -> None:
        assert "path flash:archive" in drv.send("show running-config | section archive")
