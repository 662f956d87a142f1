"""``egressctl isolate`` / ``restore --stage`` / ``restore --full`` on an emulated VyOS router, by the CLI.

The whole product path (inventory, planner, executor with its read-back and fresh-session management check,
journal, the save after the confirmation) against the VyOS emulator (1.5: the driver sets the reload action
first) served on loopback (port 27931, helper range 27900-27949), no data plane: the packets are proven by
``test_isolation_lab.py``.
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
              pytest.mark.skipif(not available("vyos"), reason="vyos emulator not available")]

SITE = Path(__file__).with_name("site.yaml")
PORT = 27931
SPEC = {"interfaces": {"eth0": "e0", "eth1": "e1"}, "options": {"version": "1.5-rolling-202501010000"}}
Router = tuple[Path, dict[str, str], RunningEmulator]


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Router]:
    device = load_inventory(SITE).site("clinic").device("vy-a")
    tmp = tmp_path_factory.mktemp("h10-cli")
    with serve_emulated(device, port=PORT, spec_kw=SPEC, time_scale=0.1, tag="h10cli") as emu:
        text = SITE.read_text().replace("port: 27901", f"port: {PORT}")
        pin = hostkeys.public_line("vy-a")
        text = "\n".join(ln.split("host_key:")[0] + f"host_key: {pin}" if "host_key:" in ln else ln
                         for ln in text.splitlines())
        inventory = tmp / "inventory.yaml"
        inventory.write_text(text + "\n")
        env = {**os.environ, "H10_VYOS_SECRET": emu.secret.password or "",
               "EGRESSCTL_STATE_DIR": str(tmp / "s")}
        yield inventory, env, emu.handle


def egressctl(inventory: Path, env: dict[str, str], *args: str) -> tuple[int, list[dict[str, object]]]:
    done = subprocess.run([sys.executable, "-m", "egressctl", "-i", str(inventory), *args],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    events = [json.loads(ln) for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode:
        events.append({"stderr": done.stderr[-2000:]})
    return done.returncode, events


@pytest.mark.parametrize("step", [["isolate", "clinic"], ["restore", "clinic", "--stage", "ministry"],
                                  ["restore", "clinic", "--full"]], ids=["isolate", "ministry", "full"])
def test_operation_through_the_cli(router: Router, step: list[str]) -> None:
    inventory, env, emu = router
    code, events = egressctl(inventory, env, *step, "--yes", "--no-verify", "--json")
    assert code == 0, events[-3:]
    final = events[-1]
    assert final.get("schema") == "egressctl.operation/1", final
    device = emu.device
    active = device.active  # type: ignore[attr-defined]
    names = set(active.get("firewall", {}).get("ipv4", {}).get("name", {}))
    assert names == ({"EGRESSCTL-V4"} if step[0] == "isolate" or "--stage" in step else set())
    assert device.saved == active, "the confirmed change is saved"  # type: ignore[attr-defined]
    assert not device.confirm_pending and device.reboots == 0  # type: ignore[attr-defined]
