"""Retries of silent expected-reachable probes (egressctl.verify.probe.retry): a fake clock, no sleeps.

The runner is a function standing for one probe run on a vantage point; it advances the fake clock by
what the run would take, so the schedule and the budget are checked exactly. Expected-blocked probes
must never reach the runner again: an answered one is a leak at once, a silent one passes as before.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from egressctl.errors import VerificationError
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from egressctl.verify.probe import active
from egressctl.verify.probe.matrix import Cell, build_matrix
from egressctl.verify.probe.records import Probe, ProbeResult, ProbeRun
from egressctl.verify.probe.retry import BUDGET, NO_RETRY, SCHEDULE, WALL, needs_retry, settle

INV = Path(__file__).resolve().parents[3] / "inventory" / "lab.yaml"


class FakeClock:
    """Monotonic seconds that move only when a fake run says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def site() -> Site:
    return load_inventory(INV).site("lab")


@pytest.fixture(scope="module")
def cells(site: Site) -> list[Cell]:
    return build_matrix(site, "isolated")["ws1"]


def first_run(cells: list[Cell], outcome: Callable[[int, Cell], str]) -> ProbeRun:
    """A first run where probe ``i`` has the outcome ``outcome(i, cell)``."""
    res = [ProbeResult(c.probe(i).id, outcome(i, c), "syn-ack" if outcome(i, c) == "answered" else "no reply")
           for i, c in enumerate(cells)]  # type: ignore[arg-type]
    return ProbeRun(res, 1.0, {})


class FakeRunner:
    """Answers a probe on its ``answer_on``-th try (1 = the first run); each run costs wait + ``overhead``."""

    def __init__(self, clock: FakeClock, answer_on: dict[str, int], overhead: float = 0.0,
                 fail_on: int | None = None) -> None:
        self.clock, self.answer_on, self.overhead, self.fail_on = clock, answer_on, overhead, fail_on
        self.calls: list[tuple[list[str], float]] = []

    def __call__(self, probes: list[Probe], wait: float) -> ProbeRun:
        self.calls.append(([p.id for p in probes], wait))
        self.clock.now += wait + self.overhead
        if self.fail_on == len(self.calls):
            raise VerificationError("probe run failed (255): ssh: connect refused")
        tried = len(self.calls) + 1
        res = [ProbeResult(p.id, "answered" if self.answer_on.get(p.id, 99) <= tried else "silent",
                           "syn-ack" if self.answer_on.get(p.id, 99) <= tried else "no reply")
               for p in probes]
        return ProbeRun(res, wait, {})


def _reachable(cells: list[Cell]) -> list[int]:
    return [i for i, c in enumerate(cells) if c.expected == "reachable"]


def _all_silent(cells: list[Cell]) -> ProbeRun:
    return first_run(cells, lambda i, c: "silent")


def test_a_late_answer_counts_as_open_after_one_retry(cells: list[Cell]) -> None:
    late = _reachable(cells)[0]
    clock = FakeClock()
    first = first_run(cells, lambda i, c: "answered" if c.expected == "reachable" and i != late else "silent")
    runner = FakeRunner(clock, {cells[late].probe(late).id: 2})
    out = settle(cells, first, runner, 1.0, clock=clock)
    assert runner.calls == [([cells[late].probe(late).id], 1.0)]  # only the silent allowed probe, once
    assert out.results[late].outcome == "answered" and out.tries[late] == 2 and out.late == [late]
    assert all(n == 1 for i, n in enumerate(out.tries) if i != late)
    assert out.log == [{"probes": 1, "timeout_s": 1.0, "answered": 1, "elapsed_s": 1.0}]


def test_denied_probes_are_never_probed_again(cells: list[Cell]) -> None:
    """A silent denied probe passes as before; an answered one stays a leak; neither reaches the runner."""
    blocked = [i for i, c in enumerate(cells) if c.expected == "blocked"]
    leak = blocked[0]
    clock = FakeClock()
    first = first_run(cells, lambda i, c: "answered" if c.expected == "reachable" or i == leak else "silent")
    runner = FakeRunner(clock, {})
    out = settle(cells, first, runner, 1.0, clock=clock)
    assert runner.calls == [] and out.log == [] and set(out.tries) == {1}
    obs = [active.Observation(c, out.results[i], out.tries[i]) for i, c in enumerate(cells)]
    report = active.ActiveReport("lab", "isolated", obs)
    assert report.verdict == "leak" and [o.cell for o in report.leaks] == [cells[leak]]


def test_still_silent_after_the_last_try_is_blocked(cells: list[Cell]) -> None:
    clock = FakeClock()
    runner = FakeRunner(clock, {})
    out = settle(cells, _all_silent(cells), runner, 1.0, clock=clock)
    allowed = _reachable(cells)
    assert [w for _, w in runner.calls] == [1.0, 1.5, 2.0]  # growing time-outs
    assert all(ids == [cells[i].probe(i).id for i in allowed] for ids, _ in runner.calls)
    assert clock.now - 100.0 == 4.5 <= BUDGET
    assert [out.tries[i] for i in allowed] == [1 + len(SCHEDULE)] * len(allowed) and out.late == []
    obs = [active.Observation(c, out.results[i], out.tries[i]) for i, c in enumerate(cells)]
    report = active.ActiveReport("lab", "isolated", obs)
    assert report.verdict == "blocked-allowed"
    assert "4 tries" in report.summary and "warning" not in report.summary


def test_the_budgets_bound_the_tries(cells: list[Cell]) -> None:
    """Time-outs together within BUDGET; no try starts after WALL; a try under half a time-out is skipped."""
    clock = FakeClock()
    runner = FakeRunner(clock, {}, overhead=2.0)  # a slow child start does not eat the listening time
    settle(cells, _all_silent(cells), runner, 1.0, clock=clock)
    assert [w for _, w in runner.calls] == [1.0, 1.5, 2.0]
    clock = FakeClock()
    runner = FakeRunner(clock, {}, overhead=8.0)  # 9 s, then 18.5 s: past WALL, no third try
    settle(cells, _all_silent(cells), runner, 1.0, clock=clock)
    assert [w for _, w in runner.calls] == [1.0, 1.5] and WALL == 18.0
    assert clock.now - 100.0 <= WALL + 2.0 + 8.0  # at most one run past the wall limit
    clock = FakeClock()
    runner = FakeRunner(clock, {}, overhead=0.5)
    settle(cells, _all_silent(cells), runner, 2.0, clock=clock)  # the schedule scales with the time-out
    assert [w for _, w in runner.calls] == [2.0, 3.0, 4.0]
    clock = FakeClock()
    runner = FakeRunner(clock, {})
    settle(cells, _all_silent(cells), runner, 1.0, schedule=(2.0, 3.0, 4.0), clock=clock)
    assert [w for _, w in runner.calls] == [2.0, 3.0, 1.0]  # the last try gets what is left of BUDGET
    clock = FakeClock()
    runner = FakeRunner(clock, {})
    settle(cells, _all_silent(cells), runner, 1.0, schedule=(3.0, 2.8, 1.0), clock=clock)
    assert [w for _, w in runner.calls] == pytest.approx([3.0, 2.8])  # 0.2 s left: no third try
    assert sum(w for _, w in runner.calls) <= BUDGET


def test_answers_stop_the_retries_of_those_that_answered(cells: list[Cell]) -> None:
    allowed = _reachable(cells)
    a, b = allowed[0], allowed[1]
    clock = FakeClock()
    runner = FakeRunner(clock, {cells[a].probe(a).id: 2, cells[b].probe(b).id: 3})
    first = first_run(cells, lambda i, c: "silent" if i in (a, b) or c.expected == "blocked" else "answered")
    out = settle(cells, first, runner, 1.0, clock=clock)
    assert [len(ids) for ids, _ in runner.calls] == [2, 1]
    assert (out.tries[a], out.tries[b]) == (2, 3) and out.late == [a, b]
    assert [e["answered"] for e in out.log] == [1, 1]


def test_refusals_are_answers_and_not_sent_is_retried(cells: list[Cell]) -> None:
    i = _reachable(cells)[0]
    cell = cells[i]
    assert not needs_retry(cell, ProbeResult("x", "refused", "rst forged by a device 0 hop(s) away"))
    assert needs_retry(cell, ProbeResult("x", "refused", "not sent: ENOBUFS", "local host"))
    assert needs_retry(cell, ProbeResult("x", "silent", "no reply"))
    assert not needs_retry(cell, ProbeResult("x", "answered", "syn-ack"))
    blocked = next(c for c in cells if c.expected == "blocked")
    assert not needs_retry(blocked, ProbeResult("x", "silent", "no reply"))


def test_a_failed_retry_ends_the_retries_and_keeps_the_silence(cells: list[Cell]) -> None:
    clock = FakeClock()
    runner = FakeRunner(clock, {}, fail_on=2)
    out = settle(cells, _all_silent(cells), runner, 1.0, clock=clock)
    assert len(runner.calls) == 2 and "connect refused" in out.log[-1]["error"]
    assert {out.tries[i] for i in _reachable(cells)} == {2}  # the failed run counts as no try
    assert all(out.results[i].outcome == "silent" for i in _reachable(cells))


def test_no_retry_schedule(cells: list[Cell]) -> None:
    clock = FakeClock()
    runner = FakeRunner(clock, {})
    out = settle(cells, _all_silent(cells), runner, 1.0, schedule=NO_RETRY, clock=clock)
    assert runner.calls == [] and set(out.tries) == {1}


def test_verify_active_reports_tries_and_a_late_answer_as_a_warning(site: Site,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Through verify_active: a probe that answers on its second run is a warning, the verdict holds."""
    matrix = build_matrix(site, "isolated")
    late = {vp: cs[_reachable(cs)[0]].probe(_reachable(cs)[0]).id for vp, cs in matrix.items()}
    seen: dict[str, int] = {}

    def run_probes(vp: Any, probes: list[Probe], timeout: float, prefix: Any) -> ProbeRun:
        cells = {c.probe(i).id: c for i, c in enumerate(matrix[vp.name])}
        out = []
        for p in probes:
            seen[p.id] = seen.get(p.id, 0) + 1
            open_ = cells[p.id].expected == "reachable" and (p.id != late[vp.name] or seen[p.id] > 1)
            word = "syn-ack" if open_ else "no reply"
            out.append(ProbeResult(p.id, "answered" if open_ else "silent", word))
        return ProbeRun(out, timeout, {}, vp.name)

    monkeypatch.setattr(active, "_run_probes", run_probes)
    report = active.verify_active(site, "isolated")
    assert report.verdict == "cut-confirmed" and report.ok
    assert sorted(f"{o.cell.vantage}:{o.tries}" for o in report.answered_on_retry) == ["srv1:2", "ws1:2"]
    assert "warning: answered only on a retry" in report.summary and "2 tries" in report.summary
    doc = report.to_dict()
    assert {o["tries"] for o in doc["matrix"]} == {1, 2} and len(doc["answered_on_retry"]) == 2
    assert doc["runs"]["ws1"]["retries"][0]["probes"] == 1
    monkeypatch.setattr(active, "_run_probes", lambda vp, probes, t, pre: ProbeRun(
        [ProbeResult(p.id, "silent", "no reply") for p in probes], t, {}, vp.name))
    quiet = active.verify_active(site, "isolated", retry_schedule=NO_RETRY)
    assert quiet.verdict == "blocked-allowed" and {o.tries for o in quiet.observations} == {1}
