"""Benchmark: isolating the whole lab site, all devices in parallel vs one at a time.

Builds a lab (namespace prefix ``es-b``, its own state directory and ports), then for each round:
isolate with the engine's default pool (every device in parallel), restore fully (not timed), isolate with
``max_workers=1`` (serial), restore fully. Verification is off in the timed runs so the figure is the
devices' own work; the probe matrix (a few seconds) comes on top in ``egressctl isolate``.

Each device's own duration is read from the event stream: the sum of its steps, each from its ``started``
event to its end (the executor reads every device before it changes any, so a device's first and last
events also span the time it waits for the others). The claim checked: parallel wall time ≈ the slowest
device, far below the sum of devices.

Then the proof's own costs (ISSUE 10): isolations *with* verification (no post-isolate watch, so only the
probe matrix and the held-open sessions are timed), alternately with and without held sessions. Printed:
each device's ``sessions`` step (ending the established sessions the cut denies; read from its
``sessions started`` to ``sessions ok`` events, with how many sessions it ended), and what held sessions
add to verification (verification time with minus without; the agents' start before the change and the
report after it, as the verification document records them). Goals: session kill ≤ 1 s per device, held
checks ≤ 1 s on top of verification.

Usage: ``python bench/isolate_bench.py [--rounds N] [--proof-rounds N]`` (root, network namespaces).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from egressctl_lab import Lab

from egressctl.engine import Engine
from egressctl.events import DeviceStep, Event, Step, StepStatus

ROOT = Path(__file__).resolve().parents[1]
PREFIX, PORT_BASE = "es-b", 23850


class Timeline:
    """A sink adding up each device's step durations (thread-safe: devices run in parallel)."""

    def __init__(self) -> None:
        self.started: dict[tuple[str, Step], float] = {}
        self.busy: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        """Record a step's start; add its duration to its device at its end."""
        if not isinstance(event, DeviceStep):
            return
        with self._lock:
            key = (event.device, event.step)
            if event.status is StepStatus.STARTED:
                self.started[key] = event.at
            elif key in self.started:
                self.busy[event.device] = self.busy.get(event.device, 0.0) + event.at - self.started.pop(key)

    def durations(self) -> dict[str, float]:
        """Seconds each device spent in its own steps."""
        return dict(self.busy)


def timed_isolate(lab: Lab, state: Path, workers: int) -> tuple[float, dict[str, float]]:
    """Isolate the site with ``workers`` threads; wall seconds and per-device seconds. Restores after."""
    engine = Engine(lab.inventory_path, state_dir=state, max_workers=workers)
    try:
        tl = Timeline()
        t0 = time.perf_counter()
        res = engine.isolate("lab", verify=False, sink=tl)
        wall = time.perf_counter() - t0
        if res.outcome != "ok":
            raise SystemExit(f"isolate failed ({workers} workers): {res.message}")
        back = engine.restore("lab", full=True, verify=False)
        if back.outcome != "ok":
            raise SystemExit(f"restore failed: {back.message}")
        return wall, tl.durations()
    finally:
        engine.close()


class SessionSteps:
    """A sink recording each device's ``sessions`` step: seconds and sessions ended."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.took: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        """Record a ``sessions`` step's start and its ok end (with its report's count)."""
        if not isinstance(event, DeviceStep) or event.step is not Step.SESSIONS:
            return
        with self._lock:
            if event.status is StepStatus.STARTED:
                self.started[event.device] = event.at
            elif event.status is StepStatus.OK and event.device in self.started:
                ended = int(event.data.get("sessions", {}).get("cleared", 0))
                self.took[event.device] = (event.at - self.started[event.device], ended)


ProofRun = tuple[float, dict[str, tuple[float, int]], dict[str, float]]


def proof_run(lab: Lab, state: Path, held: bool) -> ProofRun:
    """Isolate with verification (held sessions on or off, no watch); restore after.

    Returns (verification seconds, per-device sessions step (seconds, sessions ended), held-session cost).
    """
    engine = Engine(lab.inventory_path, state_dir=state)
    try:
        steps = SessionSteps()
        res = engine.isolate("lab", verify=True, held_sessions=held, watch_after=0.0, sink=steps)
        ver = res.verification
        if ver is None or not ver.ok:
            raise SystemExit(f"isolate with verification failed: {res.message}")
        back = engine.restore("lab", full=True, verify=False)
        if back.outcome != "ok":
            raise SystemExit(f"restore failed: {back.message}")
        return float(ver.details["elapsed_s"]), steps.took, dict(ver.details.get("held_sessions_cost_s", {}))
    finally:
        engine.close()


def proof_report(runs: dict[bool, list[ProofRun]]) -> None:
    """Print the sessions steps and what held sessions add to verification (medians)."""
    med = statistics.median
    for held in (True, False):
        devices = sorted({d for _, took, _ in runs[held] for d in took})
        cells = ", ".join(f"{d} {med(r[1][d][0] for r in runs[held] if d in r[1]):.2f} s "
                          f"({med(r[1][d][1] for r in runs[held] if d in r[1]):.0f} ended)" for d in devices)
        label = "with held sessions" if held else "without held sessions"
        print(f"sessions step per device, {label}: {cells}")
    with_held, without = med(r[0] for r in runs[True]), med(r[0] for r in runs[False])
    start = med(r[2].get("start", 0.0) for r in runs[True])
    collect = med(r[2].get("collect", 0.0) for r in runs[True])
    print(f"verification: {with_held:.2f} s with held sessions, {without:.2f} s without: held checks add "
          f"{with_held - without:+.2f} s (agents' start before the change {start:.2f} s, not in "
          f"verification; report after the matrix {collect:.2f} s)")


def report(rows: list[tuple[str, float, dict[str, float]]]) -> None:
    """Print each run and the medians."""
    devices = sorted(rows[0][2])
    print(f"{'run':<10}{'wall s':>8}{'slowest':>9}{'sum':>8}  " + "  ".join(f"{d:>7}" for d in devices))
    for name, wall, per in rows:
        cells = "  ".join(f"{per.get(d, float('nan')):7.2f}" for d in devices)
        print(f"{name:<10}{wall:8.2f}{max(per.values()):9.2f}{sum(per.values()):8.2f}  {cells}")
    for mode in ("parallel", "serial"):
        mine = [r for r in rows if r[0].startswith(mode)]
        wall = statistics.median(r[1] for r in mine)
        slow = statistics.median(max(r[2].values()) for r in mine)
        total = statistics.median(sum(r[2].values()) for r in mine)
        print(f"median {mode:<8}: wall {wall:.2f} s, slowest device {slow:.2f} s, "
              f"sum of devices {total:.2f} s")
    par = [r for r in rows if r[0].startswith("parallel")]
    ratio = statistics.median(r[1] / max(r[2].values()) for r in par)
    share = statistics.median(r[1] / sum(r[2].values()) for r in par)
    print(f"parallel wall / slowest device = {ratio:.2f}; parallel wall / sum of devices = {share:.2f}")


def main() -> None:
    """Build the lab, run the rounds, print the figures, tear the lab down."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--proof-rounds", type=int, default=None, help="default: --rounds; 0 skips them")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="es-bench-") as tmp:
        state = Path(tmp)
        lab = Lab(ROOT / "inventory" / "lab.yaml", prefix=PREFIX, port_base=PORT_BASE, state_dir=state)
        t0 = time.perf_counter()
        with lab:
            print(f"lab up in {time.perf_counter() - t0:.1f} s ({len(lab.site.devices)} devices)")
            rows: list[tuple[str, float, dict[str, float]]] = []
            for i in range(max(1, args.rounds)):
                rows.append((f"parallel{i + 1}", *timed_isolate(lab, state, workers=8)))
                rows.append((f"serial{i + 1}", *timed_isolate(lab, state, workers=1)))
            report(rows)
            proofs: dict[bool, list[ProofRun]] = {True: [], False: []}
            for _ in range(args.rounds if args.proof_rounds is None else args.proof_rounds):
                for held in (True, False):
                    proofs[held].append(proof_run(lab, state, held))
            if proofs[True]:
                proof_report(proofs)


if __name__ == "__main__":
    main()
