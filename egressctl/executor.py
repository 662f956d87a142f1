"""The executor: drives a plan over a site's devices in parallel, one device lifecycle each.

The steps of one device (and their events, undo and the ``sessions`` step) are
:class:`~egressctl.lifecycle.Lifecycle`'s. Here sit the parallelism (bounded, 8 workers by default; a first
Ctrl-C stops new commits and lets the devices in flight finish) and two site-level rules:

* **isolation is fail-closed**: each device confirms as soon as it is proven; a device that fails is rolled
  back on its own and the others stay cut (outcome ``partial``).
* **a restore is all-or-nothing**: every device is committed and proven first; only then are all confirmed.
  If any device fails (or a confirm fails), every changed device is rolled back (outcome ``rolled-back``).

Warnings that do not change the outcome (sessions an isolation could not end) are carried on each device
result for the engine to turn into "needs attention".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

from egressctl.events import Event, Step, StepStatus
from egressctl.inventory.credentials import Secret, secret_for
from egressctl.inventory.models import Device, Site
from egressctl.lifecycle import DriverFactory, Lifecycle, Live
from egressctl.planner import DevicePlan, Plan
from egressctl.results import SUCCESS, DeviceResult, Execution

T = TypeVar("T")
R = TypeVar("R")


class Executor:
    """Runs one plan. Construct per operation; :meth:`run` returns an :class:`Execution`."""

    def __init__(self, site: Site, plan: Plan, op_id: str, *, factory: DriverFactory,
                 emit: Callable[[Event], None], snapshot: Callable[[str, str], None],
                 revert_in: int = 120, all_or_nothing: bool = False, max_workers: int = 8,
                 cancel: threading.Event | None = None,
                 secrets: Callable[[Device], Secret] = secret_for) -> None:
        self.plan = plan
        self.all_or_nothing = all_or_nothing
        self.max_workers = max(1, max_workers)
        self.cancel = cancel or threading.Event()
        self.device = Lifecycle(site, op_id, factory=factory, emit=emit, snapshot=snapshot, secrets=secrets,
                                revert_in=revert_in, faults=plan.faults, cancel=self.cancel)

    def _gather(self, pool: ThreadPoolExecutor, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """Map ``fn`` over ``items`` in the pool; a first Ctrl-C stops new commits, then waits."""
        futures: list[Future[R]] = [pool.submit(fn, it) for it in items]
        while True:
            try:
                wait(futures)
                break
            except KeyboardInterrupt:
                if self.cancel.is_set():
                    raise
                self.cancel.set()
        return [f.result() for f in futures]

    def _prepare_and_confirm(self, dp: DevicePlan) -> Live:
        live = self.device.confirm(self.device.prepare(dp))
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
            if not self.all_or_nothing:
                lives = self._gather(pool, self._prepare_and_confirm, todo)
            else:
                lives = self._run_all_or_nothing(pool, todo)
        results = [lv.result for lv in lives] + skipped
        return Execution(sorted(results, key=lambda r: r.device), self._outcome(results))

    def _run_all_or_nothing(self, pool: ThreadPoolExecutor, todo: list[DevicePlan]) -> list[Live]:
        lives = self._gather(pool, self.device.prepare, todo)
        try:
            if self._all_proven(lives) and not self.cancel.is_set():
                lives = self._gather(pool, self.device.confirm, lives)
            if not all(lv.result.outcome in SUCCESS for lv in lives):
                lives = self._gather(pool, self.device.rollback_changed, lives)
        finally:
            for lv in lives:
                lv.close()
        return lives

    @staticmethod
    def _all_proven(lives: list[Live]) -> bool:
        return all(lv.result.outcome in ("pending", "noop") for lv in lives)

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
