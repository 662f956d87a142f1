#!/usr/bin/env python3
"""The whole suite for ``scripts/test``: the fast tier, then the slow tiers as K isolated shards at once.

The slow tiers (lab, root, ssh, slow) mostly wait (SSH, emulators' timers, probes), so running them side
by side overlaps the waits. They cannot share the host, though: lab modules use named network namespaces
(/run/netns), loopback ports and nft tables, all host-global. So each shard is a pytest process in network,
mount and PID namespaces of its own (``unshare``), with a private tmpfs on /run/netns and its own loopback:
two shards never meet on a namespace name, a port or a table, nor see each other's processes, and when a
shard ends the kernel ends every process it left. The filesystem stays shared (temp dirs are per test,
``--basetemp`` per shard). The modules that need the host's network (``--shard host``, see
``tests/support/sharding.py``) run beside the shards in the host's namespaces. Without ``unshare`` (not
root, no namespaces) the slow tiers run in one process here, as before, saying why.

Usage: ``shards.py PYTHON [--shards K] [--record-durations] [PYTEST ARGS...]`` (K: also
``EGRESSCTL_TEST_SHARDS``, default 3; 0 runs the slow tiers unsharded). Exits non-zero when a tier or a
shard failed, and when no test ran. ``shards.py --init CMD...`` is the PID 1 of a shard (internal).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAST_TIER = "not lab and not root and not ssh and not slow"
SLOW_TIERS = "lab or root or ssh or slow"
UNSHARE = ["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc",
           "--propagation", "private", "--"]
#: A shard still running after this many seconds is killed (and fails); CI's own limit is 90 minutes.
SHARD_TIMEOUT = float(os.environ.get("EGRESSCTL_TEST_SHARD_TIMEOUT", "3000"))
PROGRESS_EVERY = 300.0
#: One line of pytest -q's progress: a letter per finished test, then maybe ``[ 45%]``.
PROGRESS_LINE = re.compile(r"([.sFExX]+)(?:\s+\[[ \d%/]+\])?")


@dataclass
class Shard:
    """One pytest process of the slow tiers and the files it writes."""

    name: str
    spec: str
    isolated: bool
    work: Path
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    wall: float = 0.0
    rc: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def log(self) -> Path:
        """Its output (pytest's, and the namespaces' PID 1's)."""
        return self.work / f"{self.name}.log"

    @property
    def junit(self) -> Path:
        """Its junit report, merged into the summary."""
        return self.work / f"{self.name}.xml"

    @property
    def durations(self) -> Path:
        """Seconds per module (``--record-durations``)."""
        return self.work / f"{self.name}.durations.json"


def pytest_argv(python: str, junit: Path, extra: list[str]) -> list[str]:
    """The pytest command line scripts/test has always used, plus ``extra``, over ``tests``."""
    return [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *extra, "tests"]


def shard_argv(python: str, shard: Shard, user: list[str]) -> list[str]:
    """The shard's command: under ``unshare`` with this script as its PID 1 when isolated."""
    own = [f"--basetemp={shard.work / (shard.name + '-tmp')}", f"--record-durations={shard.durations}",
           "-m", SLOW_TIERS, f"--shard={shard.spec}"]
    argv = pytest_argv(python, shard.junit, [*own, *user])
    return [*UNSHARE, python, str(Path(__file__).resolve()), "--init", *argv] if shard.isolated else argv


# --- PID 1 inside a shard ----------------------------------------------------------------------------------


def init(argv: list[str]) -> int:
    """Private /run/netns and loopback, then run ``argv``, reaping orphans; its exit code is ours.

    As PID 1 this process adopts every orphan (daemons of the lab's tests), so it must reap them or they
    stay zombies that look alive to ``kill(pid, 0)``. When it returns, the kernel kills what is left.
    """
    Path("/run/netns").mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run/netns"], check=True)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    children: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: object) -> None:
        for c in children:
            c.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # before the child: it gets them at default
        signal.signal(sig, forward)
    child = subprocess.Popen(argv)
    children.append(child)
    while True:
        pid, status = os.wait()
        if pid == child.pid:
            report_leftovers()
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code


def report_leftovers() -> None:
    """Say which processes the shard's tests left running (the kernel ends them when PID 1 exits)."""
    left = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != "1":
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")[:150]
                left.append(f"{entry.name}: {cmdline.decode(errors='replace')}")
    if left:
        print(f"shard: {len(left)} processes left behind (killed now):", *left, sep="\n  ", file=sys.stderr)


# --- running and watching the shards --------------------------------------------------------------------


def isolation_problem(python: str) -> str | None:
    """Why isolated shards cannot run here (None when they can): a trial of the real thing."""
    if os.geteuid() != 0:
        return "not root"
    try:
        trial = subprocess.run([*UNSHARE, python, str(Path(__file__).resolve()), "--init", "true"],
                               capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unshare: {exc}"
    return None if trial.returncode == 0 else f"unshare: {trial.stderr.strip() or trial.returncode}"


def start(shard: Shard, python: str, user: list[str]) -> None:
    """Start ``shard`` in a session of its own, its output to its log."""
    with shard.log.open("wb") as log:
        shard.proc = subprocess.Popen(shard_argv(python, shard, user), stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)
    shard.started = time.monotonic()


def progress(shard: Shard) -> str:
    """How many tests the shard has finished: the outcome letters of pytest's ``-q`` progress lines."""
    try:
        lines = shard.log.read_text(errors="replace").splitlines()
    except OSError:
        return "?"
    report = next((i for i, line in enumerate(lines) if line.startswith("==")), len(lines))
    marks = (PROGRESS_LINE.fullmatch(line.strip()) for line in lines[:report])  # not a traceback's "E"
    return f"{sum(len(m.group(1)) for m in marks if m)} done"


def kill(shard: Shard) -> None:
    """SIGKILL the shard's process group (``--kill-child`` then takes its whole PID namespace down)."""
    if shard.proc is not None and shard.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shard.proc.pid, signal.SIGKILL)
        shard.proc.wait()


def wait_all(shards: list[Shard]) -> None:
    """Wait for every shard (bounded by SHARD_TIMEOUT), saying when each ends and, now and then, how far."""
    t0 = last = time.monotonic()
    while any(s.rc is None for s in shards):
        time.sleep(1)
        now = time.monotonic()
        for s in shards:
            if s.rc is None and s.proc is not None and s.proc.poll() is not None:
                s.rc, s.wall = s.proc.returncode, now - s.started
                print(f"scripts/test: shard {s.name} ended (exit {s.rc}) after {s.wall:.0f} s", flush=True)
            elif s.rc is None and now - s.started > SHARD_TIMEOUT:
                kill(s)
                s.rc, s.wall = 124, now - s.started
                s.notes.append(f"killed after {SHARD_TIMEOUT:.0f} s (EGRESSCTL_TEST_SHARD_TIMEOUT)")
                print(f"scripts/test: shard {s.name} killed: over {SHARD_TIMEOUT:.0f} s", flush=True)
        if now - last >= PROGRESS_EVERY:
            last = now
            running = ", ".join(f"{s.name} {progress(s)}" for s in shards if s.rc is None)
            print(f"scripts/test: {now - t0:.0f} s, running: {running}", flush=True)


def run_shards(python: str, count: int, user: list[str], work: Path) -> list[Shard]:
    """Start the K isolated shards and the host one, wait for them all; killed on the way out."""
    shards = [Shard(f"{i}of{count}", f"{i}/{count}", True, work) for i in range(1, count + 1)]
    shards.append(Shard("host", "host", False, work))
    try:
        for s in shards:
            start(s, python, user)
        print(f"scripts/test: slow tiers in {count} isolated shards + host, logs in {work}", flush=True)
        wait_all(shards)
    finally:
        for s in shards:
            kill(s)
    return shards


# --- results --------------------------------------------------------------------------------------------


def counts(junit: Path) -> tuple[int, int, int] | None:
    """(tests, failed incl. errors, skipped) of one junit file; None when it is missing or broken."""
    try:
        root = ET.parse(junit).getroot()  # noqa: S314 (our own pytest's report)
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    return total, failed, sum(int(s.get("skipped", 0)) for s in suites)


def shard_ok(shard: Shard) -> bool:
    """Passed, or selected nothing (pytest's 5: another shard holds every module this run asked for)."""
    return shard.rc in (0, 5) and counts(shard.junit) is not None


def summarize(fast: tuple[int, Path] | None, shards: list[Shard]) -> int:
    """Per-shard walls, the failing shards' logs, one ``scripts/test: N tests, ...`` line; the exit code."""
    results = [] if fast is None else [(fast[0] in (0, 5), counts(fast[1]))]
    for s in shards:
        c = counts(s.junit)
        line = f"scripts/test: shard {s.name}: exit {s.rc}, {s.wall:.0f} s wall"
        print(line + (f", {c[0]} tests, {c[1]} failed, {c[2]} skipped" if c else ", no junit report"),
              *s.notes, sep="; ")
        results.append((shard_ok(s), c))
    for s in shards:
        if not shard_ok(s) and s.log.exists():
            print(f"\n===== shard {s.name} failed: its log ({s.log}) =====", flush=True)
            sys.stdout.write(s.log.read_text(errors="replace"))
    total = sum(c[0] for _, c in results if c)
    failed = sum(c[1] for _, c in results if c)
    skipped = sum(c[2] for _, c in results if c)
    passed = total - skipped - failed
    print(f"scripts/test: {total} tests, {passed} passed, {failed} failed, {skipped} skipped")
    if total - skipped == 0:
        print("scripts/test: no test ran: failing", file=sys.stderr)
        return 1
    return 0 if all(ok for ok, _ in results) else 1


def record_durations(shards: list[Shard]) -> None:
    """Merge what the shards measured into tests/durations.json (modules not run keep their figure)."""
    table_path = ROOT / "tests" / "durations.json"
    table = json.loads(table_path.read_text()) if table_path.exists() else {}
    for s in shards:
        if s.durations.exists():
            table.update(json.loads(s.durations.read_text()))
    table_path.write_text(json.dumps(dict(sorted(table.items())), indent=1) + "\n")
    print(f"scripts/test: module durations written to {table_path}")


def run_fast_tier(python: str, user: list[str], junit: Path) -> int:
    """The fast tier first, on every core with pytest-xdist when installed (as ``scripts/test --fast``)."""
    xdist = subprocess.run([python, "-c", "import xdist"], capture_output=True, check=False).returncode == 0
    workers = str(len(os.sched_getaffinity(0)) + 1)  # as scripts/test --fast: one more than cores, worksteal
    extra = ["-m", FAST_TIER, *(["-n", workers, "--dist", "worksteal"] if xdist else []), *user]
    print("scripts/test: the fast tier", flush=True)
    return subprocess.run(pytest_argv(python, junit, extra), cwd=ROOT, check=False,
                          start_new_session=True).returncode


def parse_args(argv: list[str]) -> tuple[str, int, bool, list[str]]:
    """PYTHON, K, --record-durations and the arguments left for pytest."""
    python, rest = argv[0], argv[1:]
    count = int(os.environ.get("EGRESSCTL_TEST_SHARDS", "3"))
    record, user = False, []
    it = iter(rest)
    for arg in it:
        if arg == "--shards":
            count = int(next(it))
        elif arg.startswith("--shards="):
            count = int(arg.split("=", 1)[1])
        elif arg == "--record-durations":
            record = True
        else:
            user.append(arg)
    return python, count, record, user


def default_signals() -> None:
    """Every process from here starts with SIGINT and SIGHUP at their defaults, as the tests assume.

    Started by a shell in the background (SIGINT ignored) or under nohup (SIGHUP ignored), we would pass the
    ignored disposition on, and the tests that interrupt a child (``lab up``, an operation) would find it
    deaf. A handler, unlike SIG_IGN, is reset at exec; ours keeps this process deaf to a hangup if it was,
    and the pytest runs have sessions of their own, so a hangup nohup shielded them from does not reach them.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
        signal.signal(signal.SIGHUP, lambda _s, _f: None)


def main(argv: list[str]) -> int:
    """Fast tier, then the slow tiers sharded (or serial, saying why), then one summary."""
    if argv[:1] == ["--init"]:
        return init(argv[1:])
    python, count, record, user = parse_args(argv)
    default_signals()
    work = Path(tempfile.mkdtemp(prefix="egressctl-test-"))
    fast_junit = work / "fast.xml"
    fast = (run_fast_tier(python, user, fast_junit), fast_junit)
    why = "--shards 0" if count < 1 else isolation_problem(python)
    if why is not None:
        print(f"scripts/test: the slow tiers in one process, unsharded ({why})", flush=True)
        serial = Shard("serial", "", False, work)
        own = ["-m", SLOW_TIERS, f"--record-durations={serial.durations}", *user]
        t0 = time.monotonic()
        serial.rc = subprocess.run(pytest_argv(python, serial.junit, own), cwd=ROOT, check=False,
                                   start_new_session=True).returncode
        serial.wall = time.monotonic() - t0
        shards = [serial]
    else:
        t0 = time.monotonic()
        shards = run_shards(python, count, user, work)
        print(f"scripts/test: the slow tiers took {time.monotonic() - t0:.0f} s of wall time")
    if record:
        record_durations(shards)
    rc = summarize(fast, shards)
    if rc == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"scripts/test: logs and reports kept in {work}", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
