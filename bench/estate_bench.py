"""Benchmark: one command isolating an estate of N lab sites, with verification, then a full restore.

Builds ``egressctl lab up --sites N`` (namespace prefix ``et-``, ports from 25100, its own state directory),
runs ``egressctl isolate --group estate --yes --json`` as a child process (so its peak RSS is the
controller's own, read with ``wait4``), then ``restore --group estate --full``, and tears the estate down
in a ``finally``.

From the ``--json`` stream: each device's own time (its first ``connect started`` to its ``done``, the
same measure as isolate_bench.py), the device phase of the whole estate (first connect to last done) and,
from the estate document, each site's wall time and verification verdict. Goals (issue 13): wall time
within 2x the slowest single device's time; controller peak RSS under 500 MB; every site verified. The
wall time includes each site's proof (probes, held sessions, a 3 s watch), which no device time does, so
the device phase is printed beside it.

Usage: ``python bench/estate_bench.py [--sites 10]`` (root, network namespaces).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PREFIX, PORT_BASE = "et-", 25100
EGRESSCTL = [sys.executable, "-m", "egressctl"]


def run(argv: list[str], env: dict[str, str]) -> tuple[int, str, float, int]:
    """(exit code, stdout, seconds, peak RSS in KiB) of one egressctl child process."""
    begin = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([*EGRESSCTL, *argv], stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return proc.returncode, out.read().decode(), time.monotonic() - begin, usage.ru_maxrss


def device_times(lines: list[dict[str, Any]]) -> dict[str, float]:
    """``site/device`` -> seconds from its first ``connect started`` to its ``done``."""
    start: dict[str, float] = {}
    end: dict[str, float] = {}
    for ev in lines:
        if ev.get("event") != "DeviceStep":
            continue
        key = f"{ev['site']}/{ev['device']}"
        if ev["step"] == "connect" and ev["status"] == "started":
            start.setdefault(key, ev["at"])
        if ev["step"] == "done":
            end[key] = ev["at"]
    return {k: end[k] - t for k, t in start.items() if k in end}


def why(site: dict[str, Any]) -> str:
    """One line on why a site did not exit 0: its error, message, or verification summary."""
    res = site.get("result") or {}
    ver = res.get("verification") or {}
    text = site.get("error") or ver.get("summary") or res.get("message") or ""
    return " ".join(str(text).split())[:300]


def report(name: str, code: int, out: str, seconds: float, rss: int) -> bool:
    """Print one operation's per-site and total figures; True when every site is ok and verified."""
    lines = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    doc = lines[-1] if lines and lines[-1].get("schema") == "egressctl.estate/1" else {}
    devices = device_times(lines)
    print(f"\n{name}: exit {code}, {seconds:.1f} s wall (process), controller peak RSS {rss / 1024:.0f} MB")
    for site in doc.get("sites", []):
        mine = {k: v for k, v in devices.items() if k.startswith(site["site"] + "/")}
        slow = max(mine.items(), key=lambda kv: kv[1], default=("-", 0.0))
        print(f"  {site['site']:<6} {site['outcome']:<8} exit {site['exit_code']:<3} {site['verdict']:<14} "
              f"{site['seconds']:6.1f} s   slowest device {slow[0]} {slow[1]:.1f} s")
        if site["exit_code"]:
            print(f"         why: {why(site)}")
    if not devices:
        print("  no device events (see the exit code)")
        return False
    slowest = max(devices.values())
    starts = [ev["at"] for ev in lines if ev.get("event") == "DeviceStep"]
    phase = max(starts) - min(starts)
    summary = doc.get("summary", {})
    wall = float(summary.get("seconds", seconds))
    print(f"  {len(doc.get('sites', []))} sites, {len(devices)} devices; estate wall {wall:.1f} s; slowest "
          f"single device {slowest:.1f} s; ratio {wall / slowest:.2f} (goal <= 2); device phase "
          f"{phase:.1f} s (ratio {phase / slowest:.2f}); sum of devices {sum(devices.values()):.0f} s")
    verified = summary.get("verified", 0) == summary.get("sites", -1)
    print(f"  every site verified: {verified}; peak RSS goal < 500 MB: {rss / 1024 < 500}")
    return code == 0 and verified


def main() -> int:
    """Up, isolate, restore, down; exit 1 when an operation failed or a site was not verified."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=10)
    ap.add_argument("--prefix", default=PREFIX)
    ap.add_argument("--port-base", type=int, default=PORT_BASE)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="estate-bench-"))
    env = {**os.environ, "EGRESSCTL_STATE_DIR": str(work / "lab-state")}
    site = Path(__file__).resolve().parents[1] / "lab" / "site.yaml"
    ok = False
    try:
        begin = time.monotonic()
        argv = ["lab", "up", "-i", str(site), "--sites", str(args.sites), "--prefix", args.prefix,
                "--port-base", str(args.port_base)]
        up = subprocess.run([*EGRESSCTL, *argv], env=env, check=True, capture_output=True, text=True)
        print(f"lab up --sites {args.sites}: {time.monotonic() - begin:.1f} s")
        inventory = up.stdout.strip().splitlines()[-1].removeprefix("inventory: ")
        common = ["-i", inventory, "--state-dir", str(work / "controller")]
        iso = run([*common, "isolate", "--group", "estate", "--yes", "--json"], env)
        ok = report("isolate --group estate", *iso)
        back = run([*common, "restore", "--group", "estate", "--full", "--yes", "--json"], env)
        ok = report("restore --group estate --full", *back) and ok
    finally:
        begin = time.monotonic()
        down = subprocess.run([*EGRESSCTL, "lab", "down"], env=env, capture_output=True, text=True)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        stray = [ln.split()[0] for ln in left.splitlines() if ln.startswith(args.prefix)]
        print(f"\nlab down: exit {down.returncode}, {time.monotonic() - begin:.1f} s; "
              f"namespaces left with prefix {args.prefix}: {len(stray)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
