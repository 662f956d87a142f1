"""The executor: drives a plan over a site's devices in parallel, one device lifecycle each.

The steps of one device (and their events, undo and the ``sessions`` step) are
:class:`~egressctl.lifecycle.Lifecycle`'s. Here sit the parallelism (bounded, 8 workers by default; a first
Ctrl-C, SIGTERM or SIGHUP stops new commits and lets the devices in flight finish) and the site-level rules:

* **every device is read before any is changed**, and one holding *another controller's* unconfirmed
  change (its marker's operation id is not in this journal) stops the whole operation, nothing touched
  (outcome ``refused``, exit 4, naming the owner), unless the operator said ``--take-over``;
* **isolation is fail-closed**: each device confirms as soon as it is proven; a device that fails is rolled
  back on its own and the others stay cut (outcome ``partial``).
* **a restore is all-or-nothing**: every device is committed and proven first; only then are all confirmed.
  If any device fails (or a confirm fails), every changed device is rolled back (outcome ``rolled-back``),
  and, when this run resumes one that crashed in its confirm phase, so is every device that run had
  already confirmed (:mod:`egressctl.allornothing`).

Warnings that do not change the outcome (sessions an isolation could not end) are carried on each device
result for the engine to turn into "needs attention".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import partial
from typing import TypeVar

from egressctl.allornothing import UndoPlan, return_confirmed, rollback_changed
from egressctl.driver import Stamp
from egressctl.events import Event, Step, StepStatus
from egressctl.inventory.credentials import Secret, secret_for
from egressctl.inventory.models import Device, Site
from egressctl.lifecycle import DriverFactory, Lifecycle, Live, holder
from egressctl.planner import Plan
from egressctl.results import SUCCESS, DeviceResult, Execution

T = TypeVar("T")
R = TypeVar("R")
#: Seconds between the main thread's wake-ups while it waits for the devices (see ``Executor._gather``).
POLL = 0.2


class Executor:
    """Runs one plan. Construct per operation; :meth:`run` returns an :class:`Execution`.

    ``stamp`` is written into each device's marker; ``is_ours(op_id)`` says whether an operation is in
    this controller's journal; ``take_over`` lets it act on another controller's unconfirmed change;
    ``undo``: for a resumed restore, where each device stood before it began and what the dead runs confirmed.
    """

    def __init__(self, site: Site, plan: Plan, op_id: str, *, factory: DriverFactory,
                 emit: Callable[[Event], None], snapshot: Callable[[str, str], None],
                 revert_in: int = 120, all_or_nothing: bool = False, max_workers: int = 8,
                 cancel: threading.Event | None = None,
                 secrets: Callable[[Device], Secret] = secret_for, stamp: Stamp | None = None,
                 is_ours: Callable[[str], bool] = lambda op_id: True, take_over: bool = False,
                 undo: UndoPlan | None = None) -> None:
        self.plan = plan
        self.all_or_nothing = all_or_nothing
        self.max_workers = max(1, max_workers)
        self.cancel = cancel or threading.Event()
        self.is_ours, self.take_over, self.undo = is_ours, take_over, undo
        self.device = Lifecycle(site, op_id, factory=factory, emit=emit, snapshot=snapshot, secrets=secrets,
                                revert_in=revert_in, faults=plan.faults, cancel=self.cancel, stamp=stamp,
                                is_ours=is_ours)

    def _gather(self, pool: ThreadPoolExecutor, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Map ``fn`` over ``items`` in the pool and wait for all of them.

        The wait wakes every :data:`POLL` seconds: a signal the kernel handed to a worker thread only runs
        its Python handler (setting ``cancel``) once the main thread runs again, and a wait without a
        time-out would hold it back until every device had finished. Where the handlers are not the
        operation's (:func:`egressctl.interrupts.signals_cancel`), a first ``KeyboardInterrupt`` that lands
        in the wait stops new commits, a second leaves.
        """
        futures: list[Future[R]] = [pool.submit(fn, it) for it in items]
        while True:
            try:
                if not wait(futures, timeout=POLL).not_done:
                    break
            except KeyboardInterrupt:
                if self.cancel.is_set():
                    raise
                self.cancel.set()
        return [f.result() for f in futures]

    def _advance_and_confirm(self, live: Live) -> Live:
        live = self.device.confirm(self.device.advance(live))
        live.close()
        return live

    def run(self) -> Execution:
        """Run the plan and return per-device results and the site outcome."""
        todo = [dp for dp in self.plan.devices if not dp.skipped]
        skipped = [DeviceResult(dp.device, "skipped", error=dp.skipped)
                   for dp in self.plan.devices if dp.skipped]
        for r in skipped:
            self.device.event(r.device, Step.DONE, StepStatus.SKIPPED, r.error)
        with ThreadPoolExecutor(max_workers=min(self.max_workers, max(1, len(todo)))) as pool:
            lives = self._gather(pool, self.device.open, todo)
            holders = self._foreign(lives)
            if holders and not self.take_over:
                return self._refuse(lives, holders, skipped)
            for lv in holders:
                self.device.take_over(lv)
            if not self.all_or_nothing:
                lives = self._gather(pool, self._advance_and_confirm, lives)
            else:
                lives = self._run_all_or_nothing(pool, lives)
        results = [lv.result for lv in lives] + skipped
        return Execution(sorted(results, key=lambda r: r.device), self._outcome(results))

    def _foreign(self, lives: list[Live]) -> list[Live]:
        """Devices holding an unconfirmed change of an operation this journal does not know."""
        return [lv for lv in lives if lv.state is not None and lv.state.pending_commit
                and lv.state.op_id and not self.is_ours(lv.state.op_id)]

    def _refuse(self, lives: list[Live], holders: list[Live], skipped: list[DeviceResult]) -> Execution:
        """Stop before any change: another controller's change waits for its confirmation."""
        who = "; ".join(f"{lv.device.name}: {holder(lv.state)}" for lv in holders if lv.state is not None)
        for lv in lives:
            lv.close()
            if lv in holders:
                lv.result.failed_step = Step.READ_STATE.value
                lv.result.error = (f"holds an unconfirmed change this controller did not make "
                                   f"({holder(lv.state)}); --take-over to proceed" if lv.state else "")
                self.device.event(lv.device.name, Step.DONE, StepStatus.FAILED, lv.result.error)
            elif lv.state is not None:
                lv.result.outcome, lv.result.error = "skipped", f"refused: {who}"
                self.device.event(lv.device.name, Step.DONE, StepStatus.SKIPPED, lv.result.error)
        results = sorted([lv.result for lv in lives] + skipped, key=lambda r: r.device)
        return Execution(results, "refused", detail=who)

    def _run_all_or_nothing(self, pool: ThreadPoolExecutor, lives: list[Live]) -> list[Live]:
        lives = self._gather(pool, self.device.advance, lives)
        try:
            if self._all_proven(lives) and not self.cancel.is_set():
                lives = self._gather(pool, self.device.confirm, lives)
            if not all(lv.result.outcome in SUCCESS for lv in lives):
                lives = self._gather(pool, partial(rollback_changed, self.device, undo=self.undo), lives)
                if self.undo is not None:
                    lives = self._gather(pool, partial(return_confirmed, self.device, undo=self.undo), lives)
        finally:
            for lv in lives:
                lv.close()
        return lives

    @staticmethod
    def _all_proven(lives: list[Live]) -> bool:
        """Every device waits for its confirm or is already at the target.

        ``changed``: a pending commit of another target was rolled back, which left it at the target.
        """
        return all(lv.result.outcome in ("pending", "noop", "changed") for lv in lives)

    def _outcome(self, results: list[DeviceResult]) -> str:
        outcomes = {r.outcome for r in results}
        if outcomes <= {"noop", "skipped"}:
            return "noop"
        if outcomes <= SUCCESS:
            return "ok"
        if "rollback-failed" in outcomes:
            return "partial"
        if self.cancel.is_set():
            return "interrupted"
        return "rolled-back" if self.all_or_nothing else "partial"


__all__ = ["DeviceResult", "DriverFactory", "Execution", "Executor"]
