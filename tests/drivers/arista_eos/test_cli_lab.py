"""``egressctl isolate`` / ``restore --stage`` / ``restore --full`` on an emulated EOS switch, by the CLI.

The whole product path (inventory, planner, executor with its read-back and fresh-session management check,
journal, the save after the confirmation) against the EOS emulator served on loopback (port 27731, helper
range 27700-27749), no data plane: the packets are proven by ``test_isolation_lab.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from egressctl_lab.testing.emulator import available

from tests.support.emulator_cli import CliRig, cli_rig, is_cut, operation_steps

pytestmark = [pytest.mark.ssh, pytest.mark.slow,
              pytest.mark.skipif(not available("arista_eos"), reason="arista_eos emulator not available")]

SITE = Path(__file__).with_name("site.yaml")
PORT = 27731
SPEC = {"interfaces": {"Ethernet1": "et1", "Vlan10": "vl10"}}


@pytest.fixture(scope="module")
def switch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRig]:
    with cli_rig(SITE, "dist", "dist-a", tmp_path_factory.mktemp("h8-cli"), port=PORT, tag="h8cli",
                 spec=SPEC, time_scale=0.1) as rig:
        yield rig


@pytest.mark.parametrize("step", operation_steps("dist"))
def test_operation_through_the_cli(switch: CliRig, step: list[str]) -> None:
    device = switch.operation(step)
    running, startup = device.running, device.startup
    owned = {name for (_, name) in running.acls}
    assert owned == ({"EGRESSCTL-V4", "EGRESSCTL-V6"} if is_cut(step) else set())
    assert {name for (_, name) in startup.acls} == owned, "the confirmed change is saved"
    assert not device.timer_holder()
