#!/usr/bin/env python3
"""Capture analysis benchmark, whole processes as users run them: ``egressctl verify --pcap``, ``tcpdump -r``.

    python bench/capture_bench.py [--packets 2000000,10000000] [--rounds 5] [--numpy-rounds 1] [--cleanup]

For each capture size (generated once by a child process and cached, see ``capture_inputs.py``), every
command below runs as its own process, the commands alternating round by round in a rotating order (load
from other users of the machine falls on all of them alike), after one unmeasured warm-up round that also
leaves the file in the page cache:

* ``egressctl -i INV verify gen --pcap FILE --stage s2 --json``, on every core and with
  ``EGRESSCTL_CAPTURE_THREADS=1``, and without ``--json`` (the text report a person reads);
* ``tcpdump -n -r FILE --count -F BPF`` with the equivalent filter (same semantics: its match count must
  be the ground truth's leak count), and ``tcpdump -r`` with no filter (the floor of reading the file);
* with ``--numpy-rounds N`` (N > 0): the same CLI in an install without the C engine (numpy fallback);
* both tools on a 0-packet capture: their fixed cost (interpreter and imports; compiling the BPF);
* with ``--baseline DIR``: egressctl from another source tree (first on ``PYTHONPATH``), in the same
  rounds: before/after figures side by side. DIR needs its C engine built in place, e.g.
  ``git archive COMMIT egressctl | tar -x -C DIR``, then ``cc -O2 -shared -fPIC -I<Python's include dir>
  -o DIR/egressctl/verify/capture/_engine<EXT_SUFFIX> DIR/egressctl/verify/capture/*.c``.

Per command: median and minimum wall time, whole-process packets/s, CPU seconds, and the peak RSS of that
process alone (``/usr/bin/time``); for egressctl also the in-engine rate from its report (analysis time inside
the process: start-up excluded). Exactness: egressctl's leak packets and flows against the ground truth,
every egressctl report equal to the first one (timing fields aside), tcpdump's count against the leaks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capture_inputs import prepare
from egressctl_lab.testing import capture_generator as pcapgen

CLI = "import sys; from egressctl.cli.main import main; sys.argv[0] = 'egressctl'; main()"
NUMPY_FALLBACK = ("import sys; from egressctl.verify import native; native.extension_path = lambda m: None; "
                  "from egressctl.cli.main import main; sys.argv[0] = 'egressctl'; main()")


@dataclass
class Command:
    """One measured process kind."""

    label: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    packets: int = 0
    rounds: int | None = None  # None: every round
    runs: list[dict[str, Any]] = field(default_factory=list)


def run(cmd: Command) -> dict[str, Any]:
    """Run once under ``/usr/bin/time``: wall time, the command's CPU time and peak RSS, exit code, output.

    Not ``os.wait4`` on a child of this process: Linux starts a child's peak RSS at its parent's RSS when it
    forks (kept across exec), so every small command would show this script's size. ``time`` is tiny.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as usage:
        argv = ["/usr/bin/time", "-f", "%M %U %S", "-o", usage.name, *cmd.argv]
        t0 = time.perf_counter()
        done = subprocess.run(argv, stdout=out, stderr=err, env={**os.environ, **cmd.env}, check=False)
        wall = time.perf_counter() - t0
        rss_kb, user, system = usage.read().split()[-3:]
        out.seek(0)
        err.seek(0)
        return {"wall": wall, "cpu": float(user) + float(system), "rss_mb": int(rss_kb) / 1024,
                "rc": done.returncode, "out": out.read().decode(), "err": err.read().decode()[-400:]}


def commands(path: Path, inv: Path, bpf: Path, packets: int, ns: argparse.Namespace) -> list[Command]:
    state = tempfile.mkdtemp(prefix="capture-bench-state-")
    egressctl = [str(Path(sys.executable).with_name("egressctl")), "-i", str(inv), "--state-dir", state]
    verify = ["verify", "gen", "--pcap", str(path), "--stage", pcapgen.TARGET, "--json"]
    empty = str(path.with_name("empty.pcap"))
    cmds = [
        Command("egressctl verify --pcap (all cores)", egressctl + verify, packets=packets),
        Command("egressctl verify --pcap, 1 thread", egressctl + verify, {"EGRESSCTL_CAPTURE_THREADS": "1"},
                packets=packets),
        Command("egressctl verify --pcap, text output", egressctl + verify[:-1], packets=packets),
        Command("tcpdump -r + equivalent BPF", ["tcpdump", "-n", "-r", str(path), "--count", "-F", str(bpf)],
                packets=packets),
        Command("tcpdump -r, no filter (floor)", ["tcpdump", "-n", "-r", str(path), "--count"],
                packets=packets),
        Command("egressctl, 0-packet capture (start-up)", [*egressctl, *verify[:3], empty, *verify[4:]]),
        Command("tcpdump + BPF, 0-packet capture", ["tcpdump", "-n", "-r", empty, "--count", "-F", str(bpf)]),
    ]
    if ns.baseline:
        cmds.insert(1, Command(f"egressctl baseline ({ns.baseline.name})", [sys.executable, "-c", CLI,
                                                                           *egressctl[1:], *verify],
                               {"PYTHONPATH": str(ns.baseline)}, packets=packets))
    if ns.numpy_rounds:
        cmds.append(Command("egressctl, numpy fallback (no C engine)",
                            [sys.executable, "-c", NUMPY_FALLBACK, *egressctl[1:], *verify], packets=packets,
                            rounds=ns.numpy_rounds))
    return cmds


def measure(cmds: list[Command], rounds: int) -> tuple[float, float]:
    """Warm-up round, then ``rounds`` alternating rounds; returns the 1-minute load average before/after."""
    before = os.getloadavg()[0]
    for r in range(rounds + 1):
        order = cmds[r % len(cmds):] + cmds[: r % len(cmds)]
        for cmd in order:
            if r and cmd.rounds is not None and len(cmd.runs) >= cmd.rounds:
                continue
            if not r and cmd.rounds is not None:
                continue  # the slow fallback is not warmed up: the file is warm from the others
            res = run(cmd)
            if r:
                cmd.runs.append(res)
        print(f"  round {r}/{rounds} done", file=sys.stderr, flush=True)
    return before, os.getloadavg()[0]


def _flows(doc: dict[str, Any]) -> dict[str, int]:
    """Leak flows keyed as the ground truth keys them (``pcapgen.flow_key``, protocol by name)."""
    return {f"{f['family']}|{f['proto']}|{f['src']}|{f['dst']}|{f['sport']}|{f['dport']}": f["packets"]
            for f in doc["leak_flows"]}


def exact(cmd: Command, truth: pcapgen.GroundTruth, ref: dict[str, bytes]) -> str:
    """Whether every run of ``cmd`` found exactly the planted leaks (and, for egressctl, the same report)."""
    if not cmd.packets:
        return "n/a"
    if cmd.argv[0] == "tcpdump":
        counts = {int(w.split()[0]) for r in cmd.runs for w in r["out"].splitlines() if w.endswith("packets")}
        if "-F" not in cmd.argv:
            return "n/a"
        return "yes" if counts == {truth.leak_packets} else f"NO ({sorted(counts)} matched)"
    if "--json" not in cmd.argv:
        codes = {r["rc"] for r in cmd.runs}
        return "exit 3 (leak found)" if codes == {3} else f"NO (exit {sorted(codes)})"
    verdicts = set()
    for r in cmd.runs:
        doc = json.loads(r["out"])
        ok = doc["leak_packets"] == truth.leak_packets and _flows(doc) == truth.leak_flows
        doc.update(elapsed_s=0, packets_per_s=0, engine="")
        text = json.dumps(doc, sort_keys=True).encode()
        same = ref.setdefault("baseline" if "PYTHONPATH" in cmd.env else "current", text) == text
        verdicts.add("yes (packets, flows, same report)" if ok and same else f"NO (rc {r['rc']})")
    return ", ".join(sorted(verdicts))


def report(cmds: list[Command], truth: pcapgen.GroundTruth, path: Path, load: tuple[float, float]) -> None:
    print(f"\ncapture: {path.name} ({path.stat().st_size / 1e9:.2f} GB, {truth.packets:,} packets, "
          f"{truth.leak_packets:,} planted leak packets in {len(truth.leak_flows):,} flows, "
          f"{truth.vlan_leaks} VLAN-tagged, {truth.ipv6_leaks} IPv6); load average {load[0]:.2f} before, "
          f"{load[1]:.2f} after\n")
    print(f"| {'process':<42} | {'median s':>8} | {'min s':>6} | {'packets/s':>11} | {'in-engine/s':>11} "
          f"| {'CPU s':>6} | {'peak RSS':>8} | exact")
    print(f"|{'-' * 44}|{'-' * 9}:|{'-' * 7}:|{'-' * 12}:|{'-' * 12}:|{'-' * 7}:|{'-' * 9}:|------")
    ref: dict[str, bytes] = {}
    med = {}
    for c in cmds:
        if not c.runs:
            continue
        walls = [r["wall"] for r in c.runs]
        med[c.label] = statistics.median(walls)
        pps = f"{c.packets / med[c.label]:,.0f}" if c.packets else "-"
        engine = "-"
        if c.packets and "--json" in c.argv:
            engine = f"{statistics.median(json.loads(r['out'])['packets_per_s'] for r in c.runs):,.0f}"
        print(f"| {c.label:<42} | {med[c.label]:>8.3f} | {min(walls):>6.3f} | {pps:>11} | {engine:>11} "
              f"| {statistics.median(r['cpu'] for r in c.runs):>6.2f} "
              f"| {max(r['rss_mb'] for r in c.runs):>5.0f} MB | {exact(c, truth, ref)}")
    tcp = med["tcpdump -r + equivalent BPF"]
    for label in ("egressctl verify --pcap (all cores)", "egressctl verify --pcap, 1 thread"):
        print(f"\n{label}: {tcp / med[label]:.2f}x faster than tcpdump -r + equivalent BPF (medians)", end="")
    print()


def header(ns: argparse.Namespace) -> None:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    tcpdump = subprocess.run(["tcpdump", "--version"], capture_output=True, text=True, check=False).stdout
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {cpu}, {os.cpu_count()} CPUs "
          f"({len(os.sched_getaffinity(0))} usable); Linux {platform.release()}; Python "
          f"{platform.python_version()}; {tcpdump.splitlines()[0] if tcpdump else 'no tcpdump'}; "
          f"{ns.rounds} alternating rounds after a warm-up")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", default="2000000", help="capture sizes, comma-separated")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--numpy-rounds", type=int, default=0, help="runs of the numpy fallback (0: skip)")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "egressctl" / "bench"
    ap.add_argument("--cache", type=Path, default=cache)
    ap.add_argument("--cleanup", action="store_true", help="delete the generated captures afterwards")
    ap.add_argument("--baseline", type=Path, help="another source tree of egressctl, measured alongside")
    ns = ap.parse_args()
    header(ns)
    for packets in (int(p) for p in ns.packets.split(",")):
        path, truth, inv, bpf = prepare(ns.cache, packets, ns.seed)
        cmds = commands(path, inv, bpf, packets, ns)
        load = measure(cmds, ns.rounds)
        report(cmds, truth, path, load)
        if ns.cleanup:
            path.unlink()
            Path(f"{path}.truth.json").unlink()


if __name__ == "__main__":
    main()
