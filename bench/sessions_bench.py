"""Benchmark: time to end N denied sessions per device, one clear per session (before) vs batched (after).

Builds the lab (namespace prefix ``h15``, loopback ports from 28100; the hold server listens on 28140-28141
inside the lab's internet namespace), puts core-b in a stateful ruleset (so it tracks connections) and, for
each N, holds N idle TCP connections from srv1 and from ws1 to the web canary (192.0.2.80, ports 28140 and
28141, which every target denies) plus the CERT's VPN flow (UDP 203.0.113.10:4500, always allowed). Then on
each stateful device on the way (fw-b FortiOS, ce-b Junos, core-b Linux from srv1; fw-a PAN-OS from ws1)
it times ``clear_sessions(isolated policy, inside)`` alone (the driver's SSH session is opened first and
not timed) and checks in the device's namespace that none of the N is left. The devices stay at ``normal``:
the clear is decided by the policy it is given, and with no cut the idle connections send nothing that
could re-create an entry. "before" runs the drivers' session modules as they were at ``--before`` (loaded
from git, one round trip per session); "after" runs the working tree's. Every process is bounded in time
and killed at the end; nothing leaves the lab's namespaces.

Usage: ``python bench/sessions_bench.py [--sizes 5,20,100] [--before REV]`` (root, network namespaces).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from egressctl_lab import Lab, node_exec_prefix

from egressctl.inventory.credentials import resolve
from egressctl.inventory.loader import load_inventory
from egressctl.policy import compute_policy
from egressctl.registry import driver_class

ROOT = Path(__file__).resolve().parents[1]
PREFIX, PORT_BASE, PORTS = "h15", 28100, (28140, 28141)
WEB, CERT_VPN = "192.0.2.80", "203.0.113.10"
DEVICES = {"fw-b": "srv1", "ce-b": "srv1", "core-b": "srv1", "fw-a": "ws1"}
PLATFORM_OF = {"fw-b": "fortinet", "ce-b": "juniper_junos", "core-b": "linux_nftables",
               "fw-a": "paloalto_panos"}
STATEFUL = ("table inet h15_site {\n chain forward {\n  type filter hook forward priority 0; policy accept;\n"
            "  ct state established,related accept\n }\n}\n")
SERVER = f"""
import socket, threading, time
END = time.monotonic() + 900
held = []
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("{WEB}", port)); s.listen(512); s.settimeout(1.0)
    while time.monotonic() < END:
        try:
            held.append(s.accept()[0])
        except OSError:
            pass
for p in {PORTS}:
    threading.Thread(target=serve, args=(p,), daemon=True).start()
print("ready", flush=True)
time.sleep(900)
"""
CLIENT = f"""
import socket, sys, time
n = int(sys.argv[1]); held = []
for i in range(n):
    held.append(socket.create_connection(("{WEB}", {PORTS}[i % 2]), timeout=5))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(("{CERT_VPN}", 4500)); u.send(b"vpn")
print("ready", flush=True)
end = time.monotonic() + 300
while time.monotonic() < end:
    u.send(b"vpn"); time.sleep(0.5)
"""


def in_ns(state: Path, node: str, *argv: str, stdin: str = "") -> str:
    """A command in one lab node's namespace (bounded), its output."""
    done = subprocess.run([*node_exec_prefix(node, state_dir=state), *argv], input=stdin, capture_output=True,
                          text=True, timeout=30, check=False)
    return done.stdout + done.stderr


@contextlib.contextmanager
def process(state: Path, node: str, code: str, *args: str) -> Iterator[None]:
    """A Python process in ``node`` that prints ``ready``; killed however the body ends."""
    argv = [*node_exec_prefix(node, state_dir=state), sys.executable, "-u", "-c", code, *args]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"{node}: {line or proc.stderr.read() if proc.stderr else ''}")
        yield
    finally:
        proc.kill()
        proc.wait(10)


def held_here(state: Path, node: str) -> int:
    """Established entries to the hold ports in ``node``'s conntrack table."""
    out = "".join(in_ns(state, node, "conntrack", "-L", "-p", "tcp", "--dport", str(p)) for p in PORTS)
    return sum(1 for line in out.splitlines() if "ESTABLISHED" in line)


def forget(state: Path) -> None:
    """Drop the hold ports' leftover entries everywhere (closed connections linger in TIME_WAIT)."""
    for node in DEVICES:
        for p in PORTS:
            in_ns(state, node, "conntrack", "-D", "-p", "tcp", "--dport", str(p))


def before_modules(rev: str) -> dict[str, types.ModuleType]:
    """Each platform's ``sessions`` module as it was at ``rev`` (one clear per session)."""
    out = {}
    for platform in PLATFORM_OF.values():
        name = f"egressctl_drivers.{platform}.sessions"
        src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:drivers/{platform}/sessions.py"],
                             capture_output=True, text=True, check=True, timeout=30).stdout
        mod = types.ModuleType(name)
        exec(compile(src, f"{rev}:drivers/{platform}/sessions.py", "exec"), mod.__dict__)
        out[platform] = mod
    return out


@contextlib.contextmanager
def sessions_module(platform: str, replacement: types.ModuleType | None) -> Iterator[None]:
    """The platform's driver module using ``replacement`` as its sessions module for the body."""
    drv_mod = importlib.import_module(f"egressctl_drivers.{platform}.driver")
    current = importlib.import_module(f"egressctl_drivers.{platform}.sessions")
    names = [k for k, v in vars(drv_mod).items() if v is current]
    for k in names:
        setattr(drv_mod, k, replacement or current)
    try:
        yield
    finally:
        for k in names:
            setattr(drv_mod, k, current)


def is_clear(what: object) -> bool:
    """Whether one command (or batch of lines) sent to the device ends sessions."""
    text = " ".join(what) if isinstance(what, list) else str(what)
    return any(w in text for w in ("session clear", "session6 clear", "clear security flow", "clear session",
                                   "conntrack -D"))


def metered(drv: Any, spent: list[float]) -> None:
    """Add the time of every command that ends sessions to ``spent`` (the device's own clearing work)."""
    for name in ("send", "send_config"):
        inner = getattr(drv, name)

        def call(what: Any, *a: Any, _inner: Any = inner, **k: Any) -> Any:
            start = time.perf_counter()
            try:
                return _inner(what, *a, **k)
            finally:
                if is_clear(what):
                    spent.append(time.perf_counter() - start)

        setattr(drv, name, call)


def timed_clear(lab: Any, state: Path, device: str) -> tuple[float, float, str]:
    """Seconds ``clear_sessions`` took on ``device``, of which in clear commands, what it reported."""
    site = load_inventory(lab.inventory_path).site("lab")
    dev = site.device(device)
    cls: Any = driver_class(dev.platform)
    drv = cls(dev, timeout=60.0)
    drv.open(resolve(dev.credential))
    spent: list[float] = []
    metered(drv, spent)
    try:
        start = time.perf_counter()
        report = drv.clear_sessions(compute_policy(site, "isolated"), site.inside)
        took = time.perf_counter() - start
    finally:
        drv.close()
    left = held_here(state, device)
    vpn = in_ns(state, device, "conntrack", "-L", "-p", "udp", "--dport", "4500").count(f"dst={CERT_VPN}")
    plan = report.detail.split("; ")[-2 if device == "ce-b" else -1] if "clears (" in report.detail else ""
    warn = " WARNING" if "WARNING" in report.detail else ""
    what = f"matched {report.matched} cleared {report.cleared} left {left} vpn entries {vpn} {plan}{warn}"
    return took, sum(spent), what


Times = dict[tuple[str, str], tuple[float, float]]


def run_size(lab: Any, state: Path, n: int, old: dict[str, types.ModuleType]) -> Times:
    """Both variants for one N: fresh connections each time, every device timed."""
    out: Times = {}
    for variant in ("before", "after"):
        forget(state)
        with process(state, "srv1", CLIENT, str(n)), process(state, "ws1", CLIENT, str(n)):
            time.sleep(0.5)
            for device, platform in PLATFORM_OF.items():
                here = held_here(state, device)
                with sessions_module(platform, old[platform] if variant == "before" else None):
                    took, clearing, what = timed_clear(lab, state, device)
                out[(device, variant)] = (took, clearing)
                print(f"N={n:<4} {variant:<6} {device:<7} held {here:<4} {took:6.2f} s "
                      f"(clears {clearing:5.2f} s)  {what}", flush=True)
    return out


def table(results: dict[int, Times]) -> None:
    """One row per device and N: before, after, speed-up; and the part spent in the clear commands."""
    print("\nclear_sessions wall time; 'in clears' = inside the commands that end sessions (the device's"
          "\nwork: an emulator ends one command's entries with one conntrack -R batch), the rest is listing")
    print("device  platform         N     before s (in clears)  after s (in clears)     x")
    for n, got in results.items():
        for device, platform in PLATFORM_OF.items():
            (b, bc), (a, ac) = got[(device, "before")], got[(device, "after")]
            print(f"{device:<7} {platform:<16} {n:<5} {b:8.2f} ({bc:8.2f}) {a:8.2f} ({ac:8.2f}) {b / a:5.1f}")


def main() -> None:
    """Build the lab, run every size, print the table, tear the lab down."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5,20,100")
    ap.add_argument("--before", default="2c6bd15", help="git revision of the per-session drivers")
    args = ap.parse_args()
    sizes = [min(200, max(1, int(x))) for x in args.sizes.split(",")][:5]
    old = before_modules(args.before)
    with tempfile.TemporaryDirectory(prefix="h15-bench-") as tmp:
        state = Path(tmp)
        os.environ["EGRESSCTL_STATE_DIR"] = str(state)
        lab = Lab(ROOT / "inventory" / "lab.yaml", prefix=PREFIX, port_base=PORT_BASE, state_dir=state)
        t0 = time.perf_counter()
        with lab:
            print(f"lab up in {time.perf_counter() - t0:.1f} s", flush=True)
            in_ns(state, "core-b", "nft", "-f", "-", stdin=STATEFUL)
            with process(state, "inet", SERVER):
                results = {n: run_size(lab, state, n, old) for n in sizes}
            table(results)


if __name__ == "__main__":
    main()
