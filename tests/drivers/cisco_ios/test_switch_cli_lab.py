"""``egressctl plan`` / ``isolate`` / ``restore`` on the emulated Catalyst switch, by the CLI.

The whole product path (inventory with the switch settings, planner with its switch-mode refusals, executor
with its read-back and fresh-session management check, journal, the save after the confirmation) against
the IOS emulator's switch personality served on loopback (port 28070, helper range 28050-28099), no data
plane: the packets are proven by ``test_switch_isolation_lab.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_lab import hostkeys
from egressctl_lab.testing.emulator import available, serve_emulated

from egressctl.inventory.loader import load_inventory
from tests.drivers.cisco_ios.switch_netns import SPEC, UPLINK_PORT

pytestmark = [pytest.mark.ssh, pytest.mark.slow,
              pytest.mark.skipif(not available("cisco_ios"), reason="cisco_ios emulator not available")]

SITE = Path(__file__).with_name("netns_site.yaml")
PORT = 28070
Switch = tuple[Path, dict[str, str], Any]


@pytest.fixture(scope="module")
def switch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Switch]:
    device = load_inventory(SITE).site("h13net").device("sw-h13")
    tmp = tmp_path_factory.mktemp("h13-cli")
    with serve_emulated(device, port=PORT, spec_kw=SPEC, time_scale=0.1, tag="h13cli") as emu:
        pin = hostkeys.public_line("sw-h13")
        text = SITE.read_text().replace("port: 28050", f"port: {PORT}")
        text = "\n".join(ln.split("host_key:")[0] + f"host_key: {pin}" if "host_key:" in ln else ln
                         for ln in text.splitlines())
        inventory = tmp / "inventory.yaml"
        inventory.write_text(text + "\n")
        env = {**os.environ, "H13_NETNS_SECRET": emu.secret.password or "",
               "EGRESSCTL_STATE_DIR": str(tmp / "s")}
        yield inventory, env, emu.handle


def egressctl(switch: Switch, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    inventory, env, _ = switch
    done = subprocess.run([sys.executable, "-m", "egressctl", "-i", str(inventory), *args],
                          capture_output=True, text=True, env=env, timeout=180, check=False)
    try:  # plan --json prints one document, the operations one event a line
        events = [json.loads(done.stdout)]
    except ValueError:
        events = [json.loads(ln) for ln in done.stdout.splitlines() if ln.startswith("{")]
    return done.returncode, events, done.stderr[-2000:]


def owned(switch: Switch) -> tuple[set[str], set[str], bool, bool]:
    """(egressctl ACLs running, those saved, uplink shut running, uplink shut saved) on the emulator."""
    device = switch[2].device
    run, start = device.running, device.startup
    return ({n for (_, n) in run.acls}, {n for (_, n) in start.acls}, run.interfaces[UPLINK_PORT].shutdown,
            start.interfaces[UPLINK_PORT].shutdown)


@pytest.mark.parametrize("step", [["isolate", "h13net"], ["restore", "h13net", "--stage", "web"],
                                  ["restore", "h13net", "--full"]], ids=["isolate", "web", "full"])
def test_acl_mode_through_the_cli(switch: Switch, step: list[str]) -> None:
    code, events, err = egressctl(switch, *step, "--yes", "--no-verify", "--json")
    assert code == 0, (events[-3:], err)
    assert events[-1].get("schema") == "egressctl.operation/1", events[-1]
    running, saved, shut, _ = owned(switch)
    assert running == saved == (set() if "--full" in step else {"EGRESSCTL-V4-A", "EGRESSCTL-V6-A"}
                                if step[0] == "isolate" else {"EGRESSCTL-V4-B", "EGRESSCTL-V6-B"})
    assert not shut and not switch[2].device.pending


def test_shutdown_mode_plan_refuses_a_stage_and_states_the_mode(switch: Switch) -> None:
    code, _, err = egressctl(switch, "plan", "h13cut", "--to", "web", "--json")
    assert code == 2 and "switch mode shutdown-uplink only isolates fully or restores fully" in err, err
    code, events, err = egressctl(switch, "plan", "h13cut", "--to", "isolated", "--json")
    assert code == 0, err
    dev = events[-1]["devices"][0]
    said = "switch mode shutdown-uplink: shuts uplinks GigabitEthernet1/0/48"
    assert any(said in w for w in dev["warnings"]), dev["warnings"]
    assert dev["lines"][-2:] == [f"interface {UPLINK_PORT}", " shutdown"]


@pytest.mark.parametrize("step", [["isolate", "h13cut"], ["restore", "h13cut", "--full"]],
                         ids=["isolate", "full"])
def test_shutdown_mode_through_the_cli(switch: Switch, step: list[str]) -> None:
    code, events, err = egressctl(switch, *step, "--yes", "--no-verify", "--json")
    assert code == 0, (events[-3:], err)
    running, saved, shut, shut_saved = owned(switch)
    isolated = step[0] == "isolate"
    assert shut == shut_saved == isolated, "the uplink's shutdown follows the target and is saved"
    assert running == saved == ({"EGRESSCTL-V4-A", "EGRESSCTL-V6-A"} if isolated else set())
