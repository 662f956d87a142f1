"""Benchmark: ending N denied sessions on the ASA, VyOS and RouterOS, one clear per session vs batched.

The companion of ``bench/sessions_bench.py`` for the platforms that are not in the lab site: each
emulator is served in this process on loopback (ports 28350-28352, lab host keys, a fresh password) with
an in-memory session table holding N denied TCP sessions to the web canary (192.0.2.80:9443) and the
CERT's allowed VPN flow; the real driver logs in over SSH (netmiko, not timed) and ``clear_sessions(isolated
policy, inside)`` is timed. What it measures is the CLI: the round trips and the emulator's console; the
kernel's conntrack work is not in it (the lab bench has that for the other platforms). "before" runs the
drivers' session modules as they were at ``--before`` (loaded from git), "after" the working tree's; both
must leave only the VPN flow. Nothing leaves the process but loopback SSH.

Usage: ``python bench/sessions_routers_bench.py [--sizes 5,20,100] [--before REV]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

from egressctl_lab.emu.sessions import Flow, MemoryTable
from egressctl_lab.testing.emulator import Emulated, serve_emulated
from egressctl_lab.testing.lifecycle import make

from egressctl.inventory.loader import load_inventory
from egressctl.policy import compute_policy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from sessions_bench import sessions_module  # noqa: E402

PORT_BASE = 28350
#: platform -> (device in tests/drivers/<platform>/site.yaml, emulator spec, inside and outside kernel names)
PLATFORMS: dict[str, tuple[str, dict[str, Any], str, str]] = {
    "cisco_asa": ("asa-a", {"interfaces": {"GigabitEthernet0/0": "gi0", "GigabitEthernet0/1": "gi1"},
                            "options": {"nameif:GigabitEthernet0/0": "outside",
                                        "nameif:GigabitEthernet0/1": "inside"}}, "gi1", "gi0"),
    "vyos": ("vy-a", {"interfaces": {"eth0": "e0", "eth1": "e1"}}, "e1", "e0"),
    "mikrotik_routeros": ("rtr-a", {"interfaces": {"ether1": "e1", "bridge": "br0"}}, "br0", "e1"),
}
WEB, CERT_VPN = "192.0.2.80", "203.0.113.10"


def before_module(platform: str, rev: str) -> types.ModuleType:
    """The platform's ``sessions`` module as it was at ``rev``."""
    name = f"egressctl_drivers.{platform}.sessions"
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:drivers/{platform}/sessions.py"],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    mod = types.ModuleType(name)
    exec(compile(src, f"{rev}:drivers/{platform}/sessions.py", "exec"), mod.__dict__)
    return mod


def seed(emu: Emulated, n: int, inside: str, outside: str) -> None:
    """N denied sessions from two inside hosts to the web canary, and the CERT's VPN flow."""
    flows = [Flow(100 + i, 4, "tcp", f"10.10.1.{11 + i % 2}", WEB, 40000 + i, 9443, "ESTABLISHED", 400)
             for i in range(n)]
    flows.append(Flow(1, 4, "udp", "10.10.1.12", CERT_VPN, 4500, 4500, "", 120))
    routes = {"10.10.1.11": inside, "10.10.1.12": inside, WEB: outside, CERT_VPN: outside}

    def put() -> None:
        table = emu.handle.dataplane.sessions
        assert isinstance(table, MemoryTable)
        table.entries, table.routes = flows, routes

    emu.call(put)


def timed(platform: str, emu: Emulated, n: int, old: types.ModuleType | None) -> tuple[float, str]:
    """Seconds of one ``clear_sessions`` over SSH, and its report (only the VPN flow may be left)."""
    site = load_inventory(ROOT / "tests" / "drivers" / platform / "site.yaml").site("clinic")
    _, _, inside, outside = PLATFORMS[platform]
    seed(emu, n, inside, outside)
    drv = make(emu.device, timeout=30.0)
    drv.open(emu.secret)
    try:
        with sessions_module(platform, old):
            start = time.perf_counter()
            report = drv.clear_sessions(compute_policy(site, "isolated"), list(site.inside))
            spent = time.perf_counter() - start
    finally:
        drv.close()
    left = emu.call(lambda: [f.ct_id for f in emu.handle.dataplane.sessions.flows()])
    if left != [1] or report.cleared != n:
        raise SystemExit(f"{platform} N={n}: left {left}, {report.detail}")
    return spent, report.detail


def main() -> None:
    """Print one line per platform and size: before and after seconds."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="5,20,100")
    ap.add_argument("--before", default="0690da6^", help="git revision of the per-session drivers")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"{'platform':<18} {'N':>4} {'before s':>9} {'after s':>8}  after's plan")
    for i, (platform, (name, spec, _, _)) in enumerate(PLATFORMS.items()):
        site = load_inventory(ROOT / "tests" / "drivers" / platform / "site.yaml").site("clinic")
        device = site.device(name)
        old = before_module(platform, args.before)
        with serve_emulated(device, port=PORT_BASE + i, spec_kw=spec, tag="h20") as emu:
            for n in sizes:
                before, _ = timed(platform, emu, n, old)
                after, detail = timed(platform, emu, n, None)
                plan = detail.split("; ")[-1]
                print(f"{platform:<18} {n:>4} {before:>9.2f} {after:>8.2f}  {plan}", flush=True)


if __name__ == "__main__":
    main()
