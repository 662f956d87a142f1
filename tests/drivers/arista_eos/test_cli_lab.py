"""``egressctl isolate`` / ``restore --stage`` / ``restore --full`` on an emulated EOS switch, by the CLI.

The whole product path (inventory, planner, executor with its read-back and fresh-session management check,
journal, the save after the confirmation) against the EOS emulator served on loopback (port 27731, helper
range 27700-27749), no data plane: the packets are proven by ``test_isolation_lab.py``.
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
              pytest.mark.skipif(not available("arista_eos"), reason="arista_eos emulator not available")]

SITE = Path(__file__).with_name("site.yaml")
PORT = 27731
SPEC = {"interfaces": {"Ethernet1": "et1", "Vlan10": "vl10"}}
Switch = tuple[Path, dict[str, str], RunningEmulator]


@pytest.fixture(scope="module")
def switch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Switch]:
    device = load_inventory(SITE).site("dist").device("dist-a")
    tmp = tmp_path_factory.mktemp("h8-cli")
    with serve_emulated(device, port=PORT, spec_kw=SPEC, time_scale=0.1, tag="h8cli") as emu:
        text = SITE.read_text().replace("port: 27701", f"port: {PORT}")
        pin = hostkeys.public_line("dist-a")
        text = "\n".join(ln.split("host_key:")[0] + f"host_key: {pin}" if "host_key:" in ln else ln
                         for ln in text.splitlines())
        inventory = tmp / "inventory.yaml"
        inventory.write_text(text + "\n")
        env = {**os.environ, "H8_EOS_SECRET": emu.secret.password or "",
               "EGRESSCTL_STATE_DIR": str(tmp / "s")}
        yield inventory, env, emu.handle


def egressctl(inventory: Path, env: dict[str, str], *args: str) -> tuple[int, list[dict[str, object]]]:
    done = subprocess.run([sys.executable, "-m", "egressctl", "-i", str(inventory), *args],
                          capture_output=True, text=True, env=env, timeout=180, check=False)
    events = [json.loads(ln) for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode:
        events.append({"stderr": done.stderr[-2000:]})
    return done.returncode, events


@pytest.mark.parametrize("step", [["isolate", "dist"], ["restore", "dist", "--stage", "ministry"],
                                  ["restore", "dist", "--full"]], ids=["isolate", "ministry", "full"])
def test_operation_through_the_cli(switch: Switch, step: list[str]) -> None:
    inventory, env, emu = switch
    code, events = egressctl(inventory, env, *step, "--yes", "--no-verify", "--json")
    assert code == 0, events[-3:]
    final = events[-1]
    assert final.get("schema") == "egressctl.operation/1", final
    device = emu.device
    running = device.running  # type: ignore[attr-defined]
    startup = device.startup  # type: ignore[attr-defined]
    owned = {name for (_, name) in running.acls}
    assert owned == ({"EGRESSCTL-V4", "EGRESSCTL-V6"} if step[0] == "isolate" or "--stage" in step else set())
    assert {name for (_, name) in startup.acls} == owned, "the confirmed change is saved"
    assert not device.timer_holder()  # type: ignore[attr-defined]
