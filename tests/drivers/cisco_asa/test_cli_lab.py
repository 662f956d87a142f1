"""``egressctl isolate`` / ``restore --stage`` / ``restore --full`` on an emulated ASA, by the CLI.

The whole product path (inventory, planner, executor with its read-back and fresh-session management check,
journal, ``clear conn`` of denied connections, the save after the confirmation) against the ASA emulator
served on loopback (port 27831, helper range 27800-27849), no data plane: the packets are proven by
``test_isolation_lab.py``. No ``revert_host`` here, so the plan names the controller's watchdog.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from egressctl_lab import hostkeys
from egressctl_lab.emu.server import RunningEmulator
from egressctl_lab.testing.emulator import available, serve_emulated

from egressctl.inventory.loader import load_inventory

pytestmark = [pytest.mark.ssh, pytest.mark.slow,
              pytest.mark.skipif(not available("cisco_asa"), reason="cisco_asa emulator not available")]

SITE = Path(__file__).with_name("site.yaml")
PORT = 27831
SPEC = {"interfaces": {"GigabitEthernet0/0": "gi0", "GigabitEthernet0/1": "gi1"},
        "options": {"nameif:GigabitEthernet0/0": "outside", "nameif:GigabitEthernet0/1": "inside"}}
Firewall = tuple[Path, dict[str, str], RunningEmulator]


@pytest.fixture(scope="module")
def firewall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Firewall]:
    device = load_inventory(SITE).site("clinic").device("asa-a")
    tmp = tmp_path_factory.mktemp("h9-cli")
    with serve_emulated(device, port=PORT, spec_kw=SPEC, tag="h9cli") as emu:
        text = SITE.read_text().replace("port: 27801", f"port: {PORT}")
        pin = hostkeys.public_line("asa-a")
        text = "\n".join(ln.split("host_key:")[0] + f"host_key: {pin}" if "host_key:" in ln else ln
                         for ln in text.splitlines())
        inventory = tmp / "inventory.yaml"
        inventory.write_text(text + "\n")
        env = {**os.environ, "H9_ASA_SECRET": emu.secret.password or "",
               "EGRESSCTL_STATE_DIR": str(tmp / "s")}
        yield inventory, env, emu.handle


def egressctl(inventory: Path, env: dict[str, str], *args: str) -> tuple[int, str, list[dict[str, object]]]:
    done = subprocess.run([sys.executable, "-m", "egressctl", "-i", str(inventory), *args],
                          capture_output=True, text=True, env=env, timeout=180, check=False)
    events = [json.loads(ln) for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode:
        events.append({"stderr": done.stderr[-2000:]})
    return done.returncode, done.stdout, events


def test_plan_names_the_safety_net(firewall: Firewall) -> None:
    inventory, env, _ = firewall
    code, out, _ = egressctl(inventory, env, "plan", "clinic", "--to", "isolated")
    assert code == 0, out
    assert "controller" in out and "write memory" in out, out


@pytest.mark.parametrize("step", [["isolate", "clinic"], ["restore", "clinic", "--stage", "ministry"],
                                  ["restore", "clinic", "--full"]], ids=["isolate", "ministry", "full"])
def test_operation_through_the_cli(firewall: Firewall, step: list[str]) -> None:
    inventory, env, emu = firewall
    code, _, events = egressctl(inventory, env, *step, "--yes", "--no-verify", "--json")
    assert code == 0, events[-3:]
    final = events[-1]
    assert final.get("schema") == "egressctl.operation/1", final
    device = emu.device
    running, startup = device.running, device.startup  # type: ignore[attr-defined]
    owned = set(running.acls)
    assert len(owned) == (1 if step[0] == "isolate" or "--stage" in step else 0), owned
    assert set(startup.acls) == owned, "the confirmed change is saved"
    assert [g for g in running.access_groups if g[0] in owned] == [(a, "out", "outside") for a in owned]


def test_check_reads_the_bindings_and_names_the_safety_net(firewall: Firewall) -> None:
    """``egressctl check``: no site ACL out on the outside (ok), the revert in the controller (a warning)."""
    inventory, env, _ = firewall
    code, out, _ = egressctl(inventory, env, "check", "clinic", "--device", "asa-a")
    assert "access-groups" in out and "no site ACL bound out" in out, out
    assert "safety-net" in out and "no revert_host" in out, out
    # the site's vantage point and capture namespaces do not exist here (exit 7 for them); the ASA's rows pass
    assert code in (0, 7) and not [ln for ln in out.splitlines() if "asa-a" in ln and "FAIL" in ln], out
