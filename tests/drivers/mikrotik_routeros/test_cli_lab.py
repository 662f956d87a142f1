"""``egressctl isolate`` / ``restore --stage`` / ``restore --full`` on an emulated RouterOS router (CLI).

The whole product path (inventory, planner, executor with its read-back and fresh-session management check,
journal, the session kill after an isolation) against the RouterOS emulator served on loopback (port 27954,
helper range 27950-27999), no data plane: the packets are proven by ``test_isolation_lab.py``.
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
              pytest.mark.skipif(not available("mikrotik_routeros"), reason="no RouterOS emulator")]

SITE = Path(__file__).with_name("site.yaml")
PORT = 27954
SPEC = {"interfaces": {"ether1": "e1", "bridge": "br0"}}
Router = tuple[Path, dict[str, str], RunningEmulator]


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Router]:
    device = load_inventory(SITE).site("clinic").device("rtr-a")
    tmp = tmp_path_factory.mktemp("h11-cli")
    with serve_emulated(device, port=PORT, spec_kw=SPEC, time_scale=0.1, tag="h11cli") as emu:
        text = SITE.read_text().replace("port: 27951", f"port: {PORT}")
        pin = hostkeys.public_line("rtr-a")
        text = "\n".join(ln.split("host_key:")[0] + f"host_key: {pin}" if "host_key:" in ln else ln
                         for ln in text.splitlines())
        inventory = tmp / "inventory.yaml"
        inventory.write_text(text + "\n")
        env = {**os.environ, "H11_ROS_SECRET": emu.secret.password or "",
               "EGRESSCTL_STATE_DIR": str(tmp / "s")}
        yield inventory, env, emu.handle


def egressctl(inventory: Path, env: dict[str, str], *args: str) -> tuple[int, list[dict[str, object]]]:
    done = subprocess.run([sys.executable, "-m", "egressctl", "-i", str(inventory), *args],
                          capture_output=True, text=True, env=env, timeout=180, check=False)
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
    config = emu.device.config  # type: ignore[attr-defined]
    filters = [*config.items("ip firewall filter"), *config.items("ipv6 firewall filter")]
    mine = {i.props.get("chain") for i in filters if i.props.get("comment", "").startswith("egressctl")}
    if step[0] == "isolate" or "--stage" in step:
        assert len(mine - {"forward"}) == 1, f"one egressctl chain after the confirm: {mine}"
    else:
        assert not mine, mine
    armed = {i.props.get("name") for i in config.items("system scheduler")}
    assert not armed & {"egressctl-revert", "egressctl-revert-boot"}, "the confirm removed the safety net"
    assert not config.items("system script")
