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

Per site it also prints the phases from the event stream: ``pre`` (operation start to its first device
connect: planning and the held sessions opening), ``devices`` (first connect to last done) and ``proof``
(last done to the verdict), so a slow whole command can be told apart from slow devices.

Usage: ``python bench/estate_bench.py [--sites 10] [--devices-per-site 10]`` (root, network namespaces).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PREFIX, PORT_BASE = "et-", 25100
EGRESSCTL = [sys.executable, "-m", "egressctl"]


def run(argv: list[str], env: dict[str, str]) -> tuple[int, str, float, int, float]:
    """(exit code, stdout, seconds, peak RSS in KiB, CPU seconds) of one egressctl child process."""
    begin = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([*EGRESSCTL, *argv], stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return (proc.returncode, out.read().decode(), time.monotonic() - begin, usage.ru_maxrss,
                usage.ru_utime + usage.ru_stime)


def phases(lines: list[dict[str, Any]], site: str) -> str:
    """``pre X s, devices Y s, proof Z s`` of one site from its events (see the module docstring)."""
    mine = [ev for ev in lines if ev.get("site") == site and "at" in ev]
    start = min((ev["at"] for ev in mine if ev.get("event") == "OperationStarted"), default=None)
    steps = [ev for ev in mine if ev.get("event") == "DeviceStep"]
    verdict = [ev["at"] for ev in mine if ev.get("event") == "VerificationDone"]
    if start is None or not steps:
        return ""
    first = min(ev["at"] for ev in steps if ev["step"] == "connect")
    last = max(ev["at"] for ev in steps if ev["step"] == "done")
    proof = f", proof {max(verdict) - last:.1f} s" if verdict else ""
    return f"pre {first - start:.1f} s, devices {last - first:.1f} s{proof}"


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
    text = " ".join(str(site.get("error") or ver.get("summary") or res.get("message") or "").split())
    parts = text.split("; ")  # an all-or-nothing restore: the device that failed first, its followers after
    parts.sort(key=lambda p: "another device failed" in p)
    return "; ".join(parts)[:400]


def held_cost(site: dict[str, Any]) -> str:
    """``held N s/K looks`` : the held sessions' collection (its re-checks under load), when they ran."""
    details = ((site.get("result") or {}).get("verification") or {}).get("details") or {}
    cost = details.get("held_sessions_cost_s") or {}
    if "collect" not in cost:
        return ""
    return f", held {cost['collect']:.1f} s/{cost.get('looks', 1)} looks"


def report(name: str, code: int, out: str, seconds: float, rss: int, cpu: float) -> bool:
    """Print one operation's per-site and total figures; True when every site is ok and verified."""
    lines = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    doc = lines[-1] if lines and lines[-1].get("schema") == "egressctl.estate/1" else {}
    devices = device_times(lines)
    load = os.getloadavg()[0]
    print(f"\n{name}: exit {code}, {seconds:.1f} s wall (process), controller peak RSS {rss / 1024:.0f} MB, "
          f"controller CPU {cpu:.1f} s; load average now {load:.1f}")
    for site in doc.get("sites", []):
        mine = {k: v for k, v in devices.items() if k.startswith(site["site"] + "/")}
        slow = max(mine.items(), key=lambda kv: kv[1], default=("-", 0.0))
        print(f"  {site['site']:<6} {site['outcome']:<8} exit {site['exit_code']:<3} {site['verdict']:<14} "
              f"{site['seconds']:6.1f} s   slowest device {slow[0]} {slow[1]:.1f} s; "
              f"{phases(lines, site['site'])}{held_cost(site)}")
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
    ap.add_argument("--time-scale", type=float, default=0.25,
                    help="lab device timers (dead-man switches) run this many times real time; 1 on a loaded "
                         "machine, where a device can take longer than a quarter of its revert timer")
    ap.add_argument("--devices-per-site", type=int, default=0,
                    help="devices in each copy (branch devices added; 0: the site's five)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="estate-bench-"))
    env = {**os.environ, "EGRESSCTL_STATE_DIR": str(work / "lab-state")}
    site = Path(__file__).resolve().parents[1] / "lab" / "site.yaml"
    ok = False
    try:
        begin = time.monotonic()
        argv = ["lab", "up", "-i", str(site), "--sites", str(args.sites), "--prefix", args.prefix,
                "--port-base", str(args.port_base), "--devices-per-site", str(args.devices_per_site),
                "--time-scale", str(args.time_scale)]
        up = subprocess.run([*EGRESSCTL, *argv], env=env, check=True, capture_output=True, text=True)
        print(f"lab up {' '.join(argv[4:])}: {time.monotonic() - begin:.1f} s")
        status = subprocess.run([*EGRESSCTL, "lab", "status"], env=env, capture_output=True, text=True)
        print(f"lab status: exit {status.returncode}; " + status.stdout.strip().splitlines()[-1])
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
        if down.returncode == 0:  # else the lab's state (pid files, estate.json) is what a retry needs
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
