"""CPU per verification child, before and after issue 13's lighter children, alternating runs.

Verification starts three kinds of child inside the site's namespaces: a probe run per vantage point, a
watch agent per capture point and a held-session agent per vantage point. In an estate dozens start at
once on two cores, so what each one imports is paid dozens of times. This prints, per child, the median
user+system CPU, wall time and peak RSS of the whole child process (``os.wait4``), for:

* ``before``: the code of a git revision (default :data:`BEFORE`, the last one before the lighter
  children: its watch agent takes the whole site as its job, so a later revision does not fit this side),
  exported to a temporary directory with this tree's built C helpers copied beside it and put first on
  ``PYTHONPATH``, started the way that revision starts it;
* ``after``: this working tree, started the way it starts it now.

Runs alternate (before, after, before, ...) so a load change hits both sides alike. Everything runs in two
namespaces made here (``et-vca``/``et-vcb``, a veth pair, 10.251.0.0/24), removed in a ``finally``; probes
and held flows go only to the other namespace.

Usage: ``python bench/verify_children.py [--runs 5] [--rev 2c6bd15]`` (root).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NS_A, NS_B = "et-vca", "et-vcb"
ADDR_A, ADDR_B = "10.251.0.1", "10.251.0.2"
BEFORE = "2c6bd15"
Row = tuple[float, float, int]  # CPU seconds, wall seconds, peak RSS KiB


def sh(*argv: str) -> None:
    """Run one setup command; raise on failure."""
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def up() -> None:
    """Two namespaces joined by a veth pair."""
    for ns in (NS_A, NS_B):
        sh("ip", "netns", "add", ns)
    sh("ip", "link", "add", "et-vca0", "netns", NS_A, "type", "veth", "peer", "name", "et-vcb0", "netns",
       NS_B)
    for ns, dev, addr in ((NS_A, "et-vca0", ADDR_A), (NS_B, "et-vcb0", ADDR_B)):
        sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def down() -> None:
    """Remove what :func:`up` made (also half-made)."""
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False, timeout=30)


def export(rev: str, where: Path) -> Path:
    """The package ``egressctl`` of ``rev`` in ``where``, with this tree's built C helpers beside it."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "egressctl"], capture_output=True,
                         check=True, timeout=60).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=tar, check=True, timeout=60)
    for so in (ROOT / "egressctl").rglob("*.so"):
        shutil.copy2(so, where / so.relative_to(ROOT))
    return where


def child(ns: str, argv: list[str], stdin: bytes, env: dict[str, str]) -> tuple[Row, bytes]:
    """Run ``argv`` in ``ns``; its CPU, wall time and peak RSS (``ip netns exec`` execs it) and stdout."""
    begin = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as inp:
        inp.write(stdin)
        inp.seek(0)
        proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, *argv], stdin=inp, stdout=out,
                                stderr=subprocess.DEVNULL, env=env, cwd="/")  # -m puts the cwd first
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        data = out.read()
    if proc.returncode:
        raise RuntimeError(f"{argv} exited {proc.returncode}")
    return (usage.ru_utime + usage.ru_stime, time.monotonic() - begin, usage.ru_maxrss), data


def probe_plan() -> bytes:
    """50 TCP probes to the other namespace (closed ports: the kernel's RST is the answer), 1 s timeout."""
    from egressctl.verify.probe.records import Probe, plan_to_json

    probes = [Probe(f"vc:{i}", 4, "tcp", ADDR_B, 20000 + i) for i in range(50)]
    return plan_to_json(probes, 1.0).encode()


def watch_jobs() -> tuple[bytes, bytes]:
    """(old job: the whole site, new job: compiled tables) for a 1 s watch of ``et-vcb0``."""
    from egressctl.inventory.loader import load_inventory
    from egressctl.verify.watch.session import agent_job, site_document

    site = load_inventory(ROOT / "lab" / "site.yaml").sites[0]
    common = {"target": "isolated", "seconds": 1.0, "iface": "et-vcb0", "exit": "bench"}
    old = {"site": site_document(site), **common}
    new = {**agent_job(site, "isolated", 1.0), "iface": "et-vcb0", "exit": "bench"}
    return json.dumps(old).encode(), json.dumps(new).encode()


def held_job() -> bytes:
    """Two UDP flows to the other namespace; the agent opens them and ends at stdin's end (start-up cost)."""
    flows = [{"id": f"h{i}", "proto": "udp", "family": 4, "dst": ADDR_B, "dport": 9000 + i} for i in range(2)]
    return (json.dumps({"flows": flows, "interval": 0.2, "establish": 0.2, "seconds": 1.0}) + "\n").encode()


def main() -> int:
    """Measure every child kind, alternating before/after; print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rev", default=BEFORE)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="verify-children-"))
    before_env = {**os.environ, "PYTHONPATH": str(export(args.rev, tmp))}
    after_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    old_watch, new_watch = watch_jobs()
    plan, held = probe_plan(), held_job()
    cli_probe = ["-m", "egressctl.cli.main", "probe", "--json", "--plan", "-"]
    kinds: dict[str, tuple[Callable[[], tuple[Row, bytes]], Callable[[], tuple[Row, bytes]]]] = {
        "probe run (50 probes)": (
            lambda: child(NS_A, cli_probe, plan, before_env),
            lambda: child(NS_A, ["-m", "egressctl.verify.probe", "-"], plan, after_env)),
        "watch agent (1 s)": (
            lambda: child(NS_B, ["-m", "egressctl.verify.watch.agent"], old_watch, before_env),
            lambda: child(NS_B, ["-m", "egressctl.verify.watch.agent"], new_watch, after_env)),
        "held agent (start, end)": (
            lambda: child(NS_A, ["-m", "egressctl.verify.probe", "--hold"], held, before_env),
            lambda: child(NS_A, ["-m", "egressctl.verify.probe", "--hold"], held, after_env)),
    }
    down()
    try:
        up()
        print(f"{'child':<24}{'side':<8}{'CPU s (median)':>16}{'wall s':>9}{'peak RSS MB':>13}   CPU runs")
        for name, (before, after) in kinds.items():
            rows: dict[str, list[Row]] = {"before": [], "after": []}
            for _ in range(args.runs):
                for side, run in (("before", before), ("after", after)):
                    rows[side].append(run()[0])
            for side, got in rows.items():
                cpu = statistics.median(r[0] for r in got)
                wall = statistics.median(r[1] for r in got)
                rss = max(r[2] for r in got) / 1024
                runs = " ".join(f"{r[0]:.2f}" for r in got)
                print(f"{name:<24}{side:<8}{cpu:>16.3f}{wall:>9.2f}{rss:>13.0f}   {runs}")
        print(f"before = {args.rev} (started as that revision starts it), after = the working tree; "
              f"load average now {os.getloadavg()[0]:.1f}")
    finally:
        down()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
