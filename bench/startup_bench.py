"""How long egressctl takes to start (issue 13: ``--help`` and a 0-packet ``verify --pcap`` under 0.15 s).

Every TUI operation starts a child ``egressctl``, and an operator at 3 a.m. types ``--help`` first, so the
fixed cost of a whole process matters, not one function. Each command below is run as a separate process
``--runs`` times, the commands *alternating* round by round (so a burst of load from other users of the
machine hits all of them alike) after one unmeasured warm-up round (page cache and ``__pycache__`` warm);
the medians of wall time and of CPU time (user + system, which a loaded machine inflates far less) are
printed side by side with the interpreter's own floors:

* ``egressctl --help``, ``egressctl --version``;
* ``egressctl -i inventory/lab.yaml verify lab --pcap EMPTY`` on a 0-packet capture (a 24-byte pcap header
  written here), in a private state directory: the site's state comes from the journal, as an operator
  runs it; the same with ``--stage isolated`` (no journal read) and with ``--json``; these are answered by
  the fast path (``egressctl/cli/fastpath.py``) from the compiled policy cached in the state directory,
  and ``(cold cache)`` is the first run after the inventory changed (the cache removed before each run:
  YAML, pydantic and the policy compilation paid once more);
* ``python -c pass`` (the interpreter), ``python -c "import typer"`` (the CLI framework's floor) and
  ``python -c "import typer, pydantic, yaml, numpy"`` (what the verify path imports by design today);
* ``tcpdump -r EMPTY`` for reference, when tcpdump is installed.

``--baseline DIR`` adds the egressctl rows once more, run from another source tree of the package (put
first on ``PYTHONPATH``), in the same rounds: before/after figures measured side by side, e.g.

    git archive HEAD~3 egressctl | tar -x -C /tmp/before   # plus the built egressctl/verify/**/*.so
    python bench/startup_bench.py --baseline /tmp/before

    python bench/startup_bench.py [--runs 15] [--egressctl PATH] [--baseline DIR]

Children run without ``PYTHONDONTWRITEBYTECODE`` even when it is set here: an installed egressctl has its
bytecode compiled, and a module recompiled on every run is not what an operator waits for.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: pcap global header: magic, version 2.4, thiszone, sigfigs, snaplen, linktype Ethernet; no records.
EMPTY_PCAP = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def egressctl_argv(explicit: str | None) -> list[str]:
    """The console script next to this interpreter (what operators and the TUI run), else ``-m``."""
    if explicit:
        return [explicit]
    script = Path(sys.executable).with_name("egressctl")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "egressctl"]


@dataclass
class Command:
    """One measured process: its argv, and what it adds to the environment (a baseline's PYTHONPATH)."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    baseline: bool = False
    #: A directory removed before each run (the policy cache, for a cold-cache row).
    fresh: Path | None = None


def commands(egressctl: list[str], pcap: Path, state: Path) -> dict[str, Command]:
    """The measured commands by label, in the order they are printed."""
    inv = str(ROOT / "inventory" / "lab.yaml")
    verify = [*egressctl, "-i", inv, "--state-dir", str(state), "verify", "lab", "--pcap", str(pcap)]
    py = sys.executable
    found = {
        "egressctl --help": Command([*egressctl, "--help"], baseline=True),
        "egressctl --version": Command([*egressctl, "--version"], baseline=True),
        "verify --pcap (0 packets)": Command(verify, baseline=True),
        "verify --pcap --stage isolated": Command([*verify, "--stage", "isolated"], baseline=True),
        "verify --pcap --json": Command([*verify, "--json"], baseline=True),
        "verify --pcap (cold cache)": Command(verify, baseline=True, fresh=state / "cache"),
        "python -c pass": Command([py, "-c", "pass"]),
        "python -c 'import typer'": Command([py, "-c", "import typer"]),
        "import typer,pydantic,yaml,numpy": Command([py, "-c", "import typer, pydantic, yaml, numpy"]),
    }
    tcpdump = shutil.which("tcpdump")
    if tcpdump:
        found["tcpdump -r (0 packets)"] = Command([tcpdump, "-r", str(pcap)])
    return found


def with_baseline(cmds: dict[str, Command], baseline: Path | None) -> dict[str, Command]:
    """Each egressctl command twice when a baseline tree is given: ``(baseline)`` runs it from that tree."""
    if baseline is None:
        return cmds
    found: dict[str, Command] = {}
    for label, cmd in cmds.items():
        if cmd.baseline:
            found[f"{label} (baseline)"] = Command(cmd.argv, {"PYTHONPATH": str(baseline.resolve())},
                                                   fresh=cmd.fresh)
        found[label] = cmd
    return found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Runs:
    """One command's measured runs: wall and CPU (user + system) seconds, and the last exit code."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    code: int = 0


def run_once(cmd: Command, env: dict[str, str], into: Runs | None = None) -> None:
    """Run one whole process; its wall and CPU seconds and exit code go ``into`` (when given).

    The CPU seconds (from the children's rusage) are what the process itself cost, which other users of a
    shared machine do not inflate the way they inflate wall time: on an idle machine the wall time of
    these single-threaded start-ups is about their CPU time plus a few milliseconds of I/O.
    """
    if cmd.fresh is not None:
        shutil.rmtree(cmd.fresh, ignore_errors=True)
    cpu, start = _children_cpu(), time.perf_counter()
    rc = subprocess.run(cmd.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        env={**env, **cmd.env}, check=False).returncode
    if into is not None:
        into.wall.append(time.perf_counter() - start)
        into.cpu.append(_children_cpu() - cpu)
        into.code = rc


def measure(cmds: dict[str, Command], runs: int, env: dict[str, str]) -> dict[str, Runs]:
    """Each command ``runs`` times, alternating, after one warm-up round."""
    for cmd in cmds.values():
        run_once(cmd, env)
    found = {label: Runs() for label in cmds}
    for _ in range(runs):
        for label, cmd in cmds.items():
            run_once(cmd, env, found[label])
    return found


def report(results: dict[str, Runs]) -> None:
    """Wall median, min and max, CPU median per command, and the exit code (a failed command is no figure)."""
    print(f"{'command':<45} {'median':>8} {'min':>8} {'max':>8} {'cpu':>8}  exit")
    for label, r in results.items():
        print(f"{label:<45} {statistics.median(r.wall):>7.3f}s {min(r.wall):>7.3f}s {max(r.wall):>7.3f}s "
              f"{statistics.median(r.cpu):>7.3f}s  {r.code}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="measured rounds (default 15)")
    ap.add_argument("--egressctl", help="the egressctl executable (default: the one next to this python)")
    ap.add_argument("--baseline", type=Path, help="another source tree of egressctl to compare with")
    ns = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="egressctl-startup-") as tmp:
        pcap = Path(tmp) / "empty.pcap"
        pcap.write_bytes(EMPTY_PCAP)
        env = {**os.environ, "EGRESSCTL_STATE_DIR": str(Path(tmp) / "state")}
        env.pop("EGRESSCTL_INVENTORY", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cmds = with_baseline(commands(egressctl_argv(ns.egressctl), pcap, Path(tmp) / "state"), ns.baseline)
        print(f"{ns.runs} rounds, alternating, after one warm-up round; {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.2f}")
        report(measure(cmds, ns.runs, env))


if __name__ == "__main__":
    main()
