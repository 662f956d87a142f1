"""An allowed probe that got no answer is asked again before it counts as blocked.

One missed reply is not evidence that a path is closed: on a loaded machine (two cores, load 20) a
vantage point's child, the destination's userspace service or the forwarding namespaces can all be late
by more than the 1 s time-out, and the verification would report ``blocked-allowed`` (exit 3) on an
open path. So, after the first run of a vantage point's probes, the *expected-reachable* probes that
stayed silent (or could not even be sent) run again, alone, with growing time-outs
(:data:`SCHEDULE`, multiples of the base time-out). Their time-outs together stay within :data:`BUDGET`
base time-outs (6 s by default), and no try starts once :data:`WALL` base time-outs of wall time have
passed since the first retry (18 s): at load 20 starting a probe child costs seconds, which must not eat
the listening time (a budget counted in wall time gave a starved service's late answer a 1 s window and
called it blocked) nor make the wait unbounded. What answers on a retry is open (reported as a late
answer, a warning); what is still silent after the last try is ``blocked-allowed`` as before.

Nothing here loosens what counts as a leak: expected-blocked probes are never run again, so an answered
one is a leak at once and a silent one passes exactly as before. A refusal (an RST forged by a device, an
ICMP error) is an answer of its own and is not retried either. The clock and the runner are parameters,
so the schedule is tested without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from egressctl.errors import EgressError
from egressctl.inventory.credentials import redact
from egressctl.verify.probe.matrix import Cell
from egressctl.verify.probe.records import Probe, ProbeResult, ProbeRun

SCHEDULE = (1.0, 1.5, 2.0)  # time-out of each extra try, in base time-outs (growing)
BUDGET = 6.0  # the extra tries' time-outs together, in base time-outs
WALL = 18.0  # no extra try starts after this much wall time since the first one, in base time-outs
MIN_TRY = 0.5  # a try shorter than this (in base time-outs) proves nothing: the budget is spent
NO_RETRY: tuple[float, ...] = ()

Runner = Callable[[list[Probe], float], ProbeRun]
Clock = Callable[[], float]


def needs_retry(cell: Cell, result: ProbeResult) -> bool:
    """An expected-reachable probe with no answer at all: silent, or not sent (a transient local error)."""
    if cell.expected != "reachable":
        return False
    return result.outcome == "silent" or result.detail.startswith("not sent:")


@dataclass
class Settled:
    """The results of one vantage point after its retries, how many tries each probe took, and the log."""

    results: list[ProbeResult]
    tries: list[int]
    log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def late(self) -> list[int]:
        """Indexes of the probes that answered only on a retry."""
        return [i for i, (r, n) in enumerate(zip(self.results, self.tries, strict=True))
                if n > 1 and r.outcome == "answered"]


def _pending(cells: Sequence[Cell], results: Sequence[ProbeResult]) -> list[int]:
    return [i for i, (c, r) in enumerate(zip(cells, results, strict=True)) if needs_retry(c, r)]


def settle(cells: Sequence[Cell], first: ProbeRun, run: Runner, timeout: float, *,
           schedule: Sequence[float] = SCHEDULE, budget: float = BUDGET,
           clock: Clock = time.monotonic) -> Settled:
    """Retry the silent expected-reachable probes of ``first`` (see the module docstring).

    ``first.results`` are in the order of ``cells`` (probe ids ``vantage:index``). A try whose run fails
    (the vantage point cannot be reached any more) ends the retries: the probes keep their last result,
    the failure is in the log, and nothing is judged on it.
    """
    by_id = {r.id: r for r in first.results}
    results = [by_id[c.probe(i).id] for i, c in enumerate(cells)]
    tries = [1] * len(cells)
    log: list[dict[str, Any]] = []
    start, listened = clock(), 0.0
    for factor in schedule:
        pending = _pending(cells, results)
        left = budget * timeout - listened
        if not pending or left < MIN_TRY * timeout or clock() - start >= WALL * timeout:
            break
        wait = min(factor * timeout, left)
        listened += wait
        entry: dict[str, Any] = {"probes": len(pending), "timeout_s": round(wait, 3)}
        log.append(entry)
        t0 = clock()
        try:
            again = run([cells[i].probe(i) for i in pending], wait)
        except (EgressError, OSError) as exc:
            entry.update(error=redact(str(exc)), elapsed_s=round(clock() - t0, 3))
            break
        got = {r.id: r for r in again.results}
        for i in pending:
            tries[i] += 1
            new = got.get(cells[i].probe(i).id)
            if new is not None:
                results[i] = new
        entry.update(answered=sum(1 for i in pending if results[i].outcome == "answered"),
                     elapsed_s=round(clock() - t0, 3))
    return Settled(results, tries, log)
