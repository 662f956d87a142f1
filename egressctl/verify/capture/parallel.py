"""Every core for one capture: the file cut into parts, the parts analysed by threads, merged exactly.

Why threads: the C engine runs inside ctypes calls, which release the GIL, so N threads walking N parts of
one file use N cores with no copy, no second process and one policy table in memory. Each thread maps one
window of its part at a time and folds its leaks into its own C flow table, so memory stays flat in the
file's size (threads x window, plus the distinct flows).

Where to cut is a guess (:mod:`cuts`), proven by the part before it: that thread must end exactly on the
cut, in the state the next part assumed. Parts are accepted in file order while that holds; from the
first part that is not proven on (a wrong guess, a damaged record, a section that changes byte order),
the rest of the file is analysed again by one thread from that part's start, which is proven. A bad guess
costs time, never a count.

The merge is exact: every figure is a sum (counters, rule hits, a flow's packets and bytes) or a minimum
or maximum (a flow's first and last seen), and flows are reported sorted by their figures and 5-tuple, so
the report is byte for byte the one-thread report. The numpy engine stays single-threaded.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egressctl.verify.capture import c_engine, cuts
from egressctl.verify.capture import defs as d
from egressctl.verify.capture.flowtable import FlowTable, from_c, leak_flows
from egressctl.verify.capture.scan import (
    WINDOW,
    EngineName,
    ScanResult,
    Walker,
    open_capture,
    result,
    scan,
    use_c,
)
from egressctl.verify.flows import LeakFlow
from egressctl.verify.matcher import CompiledPolicy

THREADS_ENV = "EGRESSCTL_CAPTURE_THREADS"  # a number of threads; 1 analyses captures on one core
PARTS_PER_THREAD = 4  # more parts than threads: a thread slowed by another process does less of the file
MIN_PART = 16 << 20   # bytes: smaller files are not worth a thread


def threads() -> int:
    """Threads for one capture: ``$EGRESSCTL_CAPTURE_THREADS`` when a positive number, else usable CPUs."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class _Part:
    """One part of the file, its walk, and whether it ended where and how the next part assumed."""

    start: cuts.Start
    stop: int
    ctx: d.Context
    flows: c_engine.CFlows
    walker: Walker | None = None

    def proves(self, nxt: cuts.Start) -> bool:
        """Whether this walk ended exactly at ``nxt`` in the state ``nxt`` assumed."""
        w = self.walker
        return (w is not None and w.end == self.stop == nxt.pos and not w.errors and w.ctx.swap == nxt.swap
                and w.ifaces == nxt.ifaces)


class _Scan:
    """One capture analysed by threads with the C engine (see the module docstring)."""

    def __init__(self, path: Path, cp: CompiledPolicy, f: Any, size: int, window: int) -> None:
        self.path, self.f, self.size, self.window = path, f, size, window
        self.n_rules = len(cp.rule_names)
        self.policy = c_engine.CPolicy(cp)
        self.fmt = d.PCAP
        self.fmt_name = ""

    def _walker(self, ctx: d.Context, flows: c_engine.CFlows | None) -> Walker:
        eng = c_engine.CEngine(self.policy, flows=flows)
        return Walker(self.path, eng, ctx, _no_records, self.window)

    def first(self) -> tuple[cuts.Start, cuts.Start, int]:
        """(the first part's start, the state later parts assume, the pcap snap length) from the header."""
        w = self._walker(d.Context.new(self.n_rules), None)
        self.fmt_name, pos = w.header(self.f, self.size)
        self.fmt = w.ctx.fmt
        start = cuts.Start(pos, w.ctx.swap, list(w.ifaces))
        if self.fmt == d.PCAP:
            return start, start, w.ifaces[0].snaplen
        return start, cuts.prologue(self.f.fileno(), w), 0

    def part(self, start: cuts.Start, stop: int) -> _Part:
        """A part, not yet walked."""
        return _Part(start, stop, d.Context.new(self.n_rules), c_engine.CFlows())

    def walk(self, part: _Part) -> _Part:
        """Walk one part (in any thread)."""
        w = self._walker(part.ctx, part.flows)
        w.ctx.fmt, w.ctx.swap = self.fmt, part.start.swap
        w.set_ifaces(list(part.start.ifaces))
        w.walk(self.f, part.start.pos, self.size, part.stop)
        part.walker = w
        return part

    def run(self, n_threads: int) -> tuple[ScanResult, list[LeakFlow]]:
        """Plan, walk the parts, accept the proven ones, redo the rest in one walk, merge."""
        first, later, snaplen = self.first()
        n_parts = min(n_threads * PARTS_PER_THREAD, max(1, (self.size - first.pos) // MIN_PART))
        n_parts = n_parts if n_threads > 1 else 1
        bounds = cuts.plan(self.f.fileno(), self.size, self.fmt, later, snaplen, n_parts)
        starts = [first] + [cuts.Start(c, later.swap, list(later.ifaces)) for c in bounds]
        parts = [self.part(s, e) for s, e in zip(starts, [*bounds, self.size], strict=True)]
        self._walk_all(parts, n_threads)
        return self._merge(self._proven(parts))

    def _walk_all(self, parts: list[_Part], n_threads: int) -> None:
        """Walk every part, ``n_threads`` at a time (this thread is one), each taking the next part left.

        Plain threads rather than ``concurrent.futures``: its import alone costs more than starting them.
        """
        todo = iter(parts)
        lock = threading.Lock()
        failed: list[BaseException] = []

        def work() -> None:
            while not failed:
                with lock:
                    part = next(todo, None)
                if part is None:
                    return
                try:
                    self.walk(part)
                except BaseException as exc:  # re-raised by the calling thread
                    failed.append(exc)

        helpers = [threading.Thread(target=work, name=f"capture-{i}", daemon=True)
                   for i in range(min(n_threads, len(parts)) - 1)]
        for t in helpers:
            t.start()
        work()
        for t in helpers:
            t.join()
        if failed:
            raise failed[0]

    def _proven(self, parts: list[_Part]) -> list[_Part]:
        """The parts to count: the proven ones, then the rest walked again from the first unproven one."""
        for k, part in enumerate(parts[:-1]):
            if not part.proves(parts[k + 1].start):
                return [*parts[:k], self.walk(self.part(part.start, self.size))]
        return parts

    def _merge(self, parts: list[_Part]) -> tuple[ScanResult, list[LeakFlow]]:
        ctx, flows = parts[0].ctx, parts[0].flows
        for p in parts[1:]:
            ctx.add(p.ctx)
            flows.merge(p.flows)
        last = parts[-1].walker
        assert last is not None
        res = result("c", self.fmt_name, ctx, self.n_rules, last.errors, last.unread)
        return res, leak_flows(from_c(flows.export()))


def _no_records(leaks: Any) -> None:
    """Leaks go to the C flow tables; an engine in that mode returns no records."""


def scan_flows(path: str | Path, cp: CompiledPolicy, *, engine: EngineName = "auto",
               n_threads: int | None = None, window: int = WINDOW) -> tuple[ScanResult, list[LeakFlow]]:
    """Check every packet of a capture against ``cp``: the scan's totals and its leak flows.

    The C engine uses ``n_threads`` threads (default :func:`threads`); the numpy engine one.

    Raises:
        VerificationError: the file cannot be opened or is not a capture file at all.
    """
    if not use_c(engine):
        table = FlowTable()
        res = scan(path, cp, table.add, engine=engine, window=window)
        return res, table.leak_flows()
    p = Path(path)
    with open_capture(p) as f:
        size = os.fstat(f.fileno()).st_size
        return _Scan(p, cp, f, size, window).run(n_threads or threads())
