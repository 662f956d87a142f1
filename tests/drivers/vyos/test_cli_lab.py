"""``egressctl isolate`` / ``restore --stage`` / ``restore --full`` on an emulated VyOS router, by the CLI.

The whole product path (inventory, planner, executor with its read-back and fresh-session management check,
journal, the save after the confirmation) against the VyOS emulator (1.5: the driver sets the reload action
first) served on loopback (port 27931, helper range 27900-27949), no data plane: the packets are proven by
``test_isolation_lab.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from egressctl_lab.testing.emulator import available

from tests.support.emulator_cli import CliRig, cli_rig, is_cut, operation_steps

pytestmark = [pytest.mark.ssh, pytest.mark.slow,
              pytest.mark.skipif(not available("vyos"), reason="vyos emulator not available")]

SITE = Path(__file__).with_name("site.yaml")
PORT = 27931
SPEC = {"interfaces": {"eth0": "e0", "eth1": "e1"}, "options": {"version": "1.5-rolling-202501010000"}}


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRig]:
    with cli_rig(SITE, "clinic", "vy-a", tmp_path_factory.mktemp("h10-cli"), port=PORT, tag="h10cli",
                 spec=SPEC, time_scale=0.1, timeout=300) as rig:
        yield rig


@pytest.mark.parametrize("step", operation_steps("clinic"))
def test_operation_through_the_cli(router: CliRig, step: list[str]) -> None:
    device = router.operation(step)
    active = device.active
    names = set(active.get("firewall", {}).get("ipv4", {}).get("name", {}))
    assert names == ({"EGRESSCTL-V4"} if is_cut(step) else set())
    assert device.saved == active, "the confirmed change is saved"
    assert not device.confirm_pending and device.reboots == 0
