"""``egressctl plan`` / ``isolate`` / ``restore`` on the emulated Catalyst switch, by the CLI.

The whole product path (inventory with the switch settings, planner with its switch-mode refusals, executor
with its read-back and fresh-session management check, journal, the save after the confirmation) against
the IOS emulator's switch personality served on loopback (port 28070, helper range 28050-28099), no data
plane: the packets are proven by ``test_switch_isolation_lab.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from egressctl_lab.testing.emulator import available

from tests.drivers.cisco_ios.switch_netns import SPEC, UPLINK_PORT
from tests.support.emulator_cli import CliRig, cli_rig

pytestmark = [pytest.mark.ssh, pytest.mark.slow,
              pytest.mark.skipif(not available("cisco_ios"), reason="cisco_ios emulator not available")]

SITE = Path(__file__).with_name("netns_site.yaml")
PORT = 28070


@pytest.fixture(scope="module")
def switch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRig]:
    with cli_rig(SITE, "h13net", "sw-h13", tmp_path_factory.mktemp("h13-cli"), port=PORT, tag="h13cli",
                 spec=SPEC, time_scale=0.1) as rig:
        yield rig


def owned(switch: CliRig) -> tuple[set[str], set[str], bool, bool]:
    """(egressctl ACLs running, those saved, uplink shut running, uplink shut saved) on the emulator."""
    device = switch.emu.device
    run, start = device.running, device.startup
    return ({n for (_, n) in run.acls}, {n for (_, n) in start.acls}, run.interfaces[UPLINK_PORT].shutdown,
            start.interfaces[UPLINK_PORT].shutdown)


@pytest.mark.parametrize("step", [["isolate", "h13net"], ["restore", "h13net", "--stage", "web"],
                                  ["restore", "h13net", "--full"]], ids=["isolate", "web", "full"])
def test_acl_mode_through_the_cli(switch: CliRig, step: list[str]) -> None:
    switch.operation(step)
    running, saved, shut, _ = owned(switch)
    assert running == saved == (set() if "--full" in step else {"EGRESSCTL-V4-A", "EGRESSCTL-V6-A"}
                                if step[0] == "isolate" else {"EGRESSCTL-V4-B", "EGRESSCTL-V6-B"})
    assert not shut and not switch.emu.device.pending


def test_shutdown_mode_plan_refuses_a_stage_and_states_the_mode(switch: CliRig) -> None:
    run = switch.run("plan", "h13cut", "--to", "web", "--json")
    refusal = "switch mode shutdown-uplink only isolates fully or restores fully"
    assert run.code == 2 and refusal in run.err, run.err
    run = switch.run("plan", "h13cut", "--to", "isolated", "--json")
    assert run.code == 0, run.err
    dev = run.events[-1]["devices"][0]
    said = "switch mode shutdown-uplink: shuts uplinks GigabitEthernet1/0/48"
    assert any(said in w for w in dev["warnings"]), dev["warnings"]
    assert dev["lines"][-2:] == [f"interface {UPLINK_PORT}", " shutdown"]


@pytest.mark.parametrize("step", [["isolate", "h13cut"], ["restore", "h13cut", "--full"]],
                         ids=["isolate", "full"])
def test_shutdown_mode_through_the_cli(switch: CliRig, step: list[str]) -> None:
    switch.operation(step)
    running, saved, shut, shut_saved = owned(switch)
    isolated = step[0] == "isolate"
    assert shut == shut_saved == isolated, "the uplink's shutdown follows the target and is saved"
    assert running == saved == ({"EGRESSCTL-V4-A", "EGRESSCTL-V6-A"} if isolated else set())
