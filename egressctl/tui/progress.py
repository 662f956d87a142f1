"""An operation's progress as a plain model, folded from its event stream on the worker thread.

The operation screen used to interpret every event on the UI thread and touch its widgets once per event.
Here the worker that reads the child's JSON lines also folds each event into this model (which cell of
which device changed, which log lines to add, the title, the verdict, the warnings) under a lock, and only
wakes the UI (:class:`egressctl.tui.coalesce.Wakeup`); the screen later takes every change made since its
last look in one :class:`Delta` and applies it in one batch. The model holds no widget and no Rich object,
so it is unit-testable and a screen opened later (``o``) renders the same state from :meth:`snapshot`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from egressctl.tui.coalesce import Wakeup
from egressctl.tui.format import get, verdict_style
from egressctl.tui.proof import held_lines, held_summary, liveness_lines, sessions_cell

Doc = dict[str, Any]
Styled = tuple[str, str]

STEP_COLUMNS = ("connect", "snapshot", "load", "commit", "readback", "mgmt-check", "confirm")
COLUMNS = (*STEP_COLUMNS, "sessions", "result")
_ALIASES = {"read-state": "connect", "diff": "load"}
MARK: dict[str, Styled] = {
    "started": ("..", "yellow"),
    "ok": ("ok", "green"),
    "failed": ("FAIL", "b red"),
    "skipped": ("skip", "dim"),
}
LOG_LINES = 500


@dataclass
class Delta:
    """What changed since the screen last looked (``title``/``verdict``/``warnings`` None: unchanged)."""

    rows: list[tuple[str, dict[str, Styled]]] = field(default_factory=list)
    cells: dict[tuple[str, str], Styled] = field(default_factory=dict)
    log: list[Styled] = field(default_factory=list)
    title: list[Styled] | None = None
    verdict: list[Styled] | None = None
    warnings: list[str] | None = None

    def __bool__(self) -> bool:
        return bool(self.rows or self.cells or self.log) or any(
            x is not None for x in (self.title, self.verdict, self.warnings)
        )


class OperationProgress:
    """Rows (device x column), log, title, verdict and warnings of one operation. Thread-safe."""

    def __init__(self, site: str, target: str, devices: list[str], plan: list[Doc] | None = None,
                 wake: Callable[[], object] | None = None) -> None:
        self.site, self.target = site, target
        self.plan = {str(get(d, "device", "name", default="?")): d for d in plan or []}
        self.devices = list(devices)
        self.finished = False
        self._lock = threading.Lock()
        self._wakeup = Wakeup(wake or (lambda: None))
        self._rows: dict[str, dict[str, Styled]] = {}
        self._log: deque[Styled] = deque(maxlen=LOG_LINES)
        self._title: list[Styled] = [(f"{site} -> {target}: starting", "")]
        self._verdict: list[Styled] = []
        self._warnings: list[str] = []
        self._pending = Delta()
        for device in devices:
            self._row(device)
        self._pending = Delta()  # the initial rows are in the snapshot, not a change

    # ----- reading (UI thread) ----------------------------------------------------------------------
    def take(self) -> Delta:
        """Every change since the last take (or snapshot), and re-arm the wake-up."""
        with self._lock:
            delta, self._pending = self._pending, Delta()
            self._wakeup.clear()
        return delta

    def snapshot(self) -> Delta:
        """The whole state as one delta (for a screen that starts showing this operation)."""
        with self._lock:
            self._pending = Delta()
            self._wakeup.clear()
            return Delta(rows=[(d, dict(r)) for d, r in self._rows.items()], log=list(self._log),
                         title=list(self._title), verdict=list(self._verdict), warnings=list(self._warnings))

    # ----- folding (worker thread) ------------------------------------------------------------------
    def apply(self, ev: Doc) -> None:
        """Fold one engine event in (called by the operation's worker for every event)."""
        with self._lock:
            self._apply(ev)
            changed = bool(self._pending)
        if changed:
            self._wakeup.arm()

    def finish(self, result: Doc) -> None:
        """Fold the operation's result document in: outcome, sessions per device, warnings."""
        with self._lock:
            self.finished = True
            self._result(result)
        self._wakeup.arm()

    def _apply(self, ev: Doc) -> None:
        kind = str(get(ev, "event", "kind", default=""))
        device = get(ev, "device", default=None)
        if kind == "DeviceStep" and device:
            self._device_step(str(device), ev)
        elif kind == "CommitPending" and device:
            self._line(f"{device}: change live, dead-man armed ({get(ev, 'revert_in')}s)", "yellow")
        elif kind == "OperationStarted":
            operation = get(ev, "operation", default="")
            self._set_title([(f"{self.site} -> {self.target}: running ({operation})", "")])
        elif kind == "VerificationDone":
            self._verification(ev)

    def _device_step(self, device: str, ev: Doc) -> None:
        self._row(device)
        step, status = str(get(ev, "step", default="")), str(get(ev, "status", default=""))
        detail = str(get(ev, "detail", default="") or "")
        mark = MARK.get(status, (status, ""))
        if step == "sessions":
            self._sessions_step(device, status, ev, detail)
            return
        if step == "rollback":
            self._cell(device, "result", ("rolled back", "b red") if status == "ok" else mark)
        elif step == "done":
            self._cell(device, "result", ("done", "green") if status == "ok" else mark)
            if not self._rows[device]["sessions"][0]:
                self._cell(device, "sessions", ("-", "dim"))  # the step never ran (failed or rolled back)
        elif _ALIASES.get(step, step) in STEP_COLUMNS:
            self._cell(device, _ALIASES.get(step, step), mark)
        if status == "failed":
            self._cell(device, "result", ("FAILED", "b red"))
            self._line(f"{device} {step}: {detail}", "b red")
        elif detail and status in ("ok", "skipped"):
            self._line(f"{device} {step}: {detail}", "")

    def _sessions_step(self, device: str, status: str, ev: Doc, detail: str) -> None:
        """Sessions ended after the cut; a failure leaves the cut in place, so it is a warning, not a FAIL."""
        data = get(ev, "data", default={}) or {}
        if status == "ok":
            self._cell(device, "sessions", sessions_cell(data.get("sessions") or {"ok": True}))
            self._line(f"{device} sessions: {detail}", "")
        elif status == "failed":
            self._cell(device, "sessions", ("FAILED", "b red"))
            self._line(f"{device} sessions could not be ended (the cut stays): {detail}", "b yellow")
        else:
            self._cell(device, "sessions", MARK.get(status, (status, "")))

    def _verification(self, ev: Doc) -> None:
        verdict = str(get(ev, "verdict", default=""))
        summary = str(get(ev, "summary", default="") or "")
        details = get(ev, "details", default={}) or {}
        self._set_verdict(verdict, summary, details)
        head, *rest = summary.splitlines() or [verdict]
        self._line(f"verification: {head}", "")
        for text in rest:  # leaking paths, held sessions, the watch: the verdict line keeps only the head
            self._line(text, "b red" if "LEAK" in text else "")
        for text, style in held_lines(details):
            self._line(text, style)
        for text, style in liveness_lines((details.get("watch") or {}).get("captures") or {}):
            self._line(f"watch {text}", style)

    def _result(self, result: Doc) -> None:
        outcome = str(get(result, "outcome", default="?"))
        msg = str(get(result, "message", "error", default="") or "")
        warnings = [str(w) for w in get(result, "warnings", default=[]) or []]
        # "ok" with warnings is the engine's exit 5: every device at the target, something left to do
        style = ("b yellow" if warnings else "green") if outcome in ("ok", "noop") else "bold red"
        self._set_title([(f"{self.site} -> {self.target}: ", ""), (outcome, style),
                         (f"  state {get(result, 'state', default='?')}  {msg}", "")])
        ver = get(result, "verification", default=None)
        if isinstance(ver, dict) and get(ver, "verdict"):
            self._set_verdict(str(get(ver, "verdict")), str(get(ver, "summary", default="") or ""),
                              get(ver, "details", default={}) or {})
        for dev in get(result, "devices", default=[]) or []:
            name, report = str(get(dev, "device", default="?")), get(dev, "sessions", default=None)
            if report and name in self._rows:
                self._cell(name, "sessions", sessions_cell(report))
        if warnings != self._warnings:
            self._warnings = self._pending.warnings = warnings

    # ----- primitives -------------------------------------------------------------------------------
    def _row(self, device: str) -> None:
        if device in self._rows:
            return
        row = {c: ("", "") for c in COLUMNS}
        row["sessions"] = sessions_cell(None, self.plan.get(device), self.target)
        self._rows[device] = row
        self._pending.rows.append((device, dict(row)))

    def _cell(self, device: str, column: str, value: Styled) -> None:
        if self._rows[device][column] != value:
            self._rows[device][column] = value
            self._pending.cells[(device, column)] = value

    def _line(self, text: str, style: str) -> None:
        self._log.append((text, style))
        self._pending.log.append((text, style))

    def _set_title(self, parts: list[Styled]) -> None:
        self._title = self._pending.title = parts

    def _set_verdict(self, verdict: str, summary: str, details: Doc) -> None:
        """The verdict, the summary's first line and the held sessions' fate (the rest is in the log)."""
        head = summary.splitlines()[0] if summary else ""
        parts = [(verdict, verdict_style(verdict)), (f"  {head}", "")]
        held = held_summary(details)
        if held:
            parts.append(("\n" + held[0], held[1]))
        self._verdict = self._pending.verdict = parts
