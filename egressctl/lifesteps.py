"""How one device step is journaled: a ``started`` event, the body, then ``ok``, ``failed`` or ``skipped``.

Split from :mod:`egressctl.lifecycle` so the lifecycle reads as the sequence of steps it is, while the
rule every step obeys lives in one place: the journal (the first sink of ``emit``) sees the step before
it runs, and a write that fails there stops the step before anything is sent to the device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from egressctl.describe import describe
from egressctl.driver import SessionReport
from egressctl.events import DeviceStep, Event, Step, StepStatus
from egressctl.inventory.credentials import redact


@dataclass
class Note:
    """What a step's body tells its closing event: a line for displays, data for programs."""

    parts: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def add(self, text: str) -> None:
        """Append a phrase to the step's detail line."""
        self.parts.append(text)


class StepFailed(Exception):
    """A step's body raised; the step was journaled as failed with ``message``."""

    def __init__(self, step: Step, message: str) -> None:
        super().__init__(message)
        self.step = step
        self.message = message


class Interrupted(Exception):
    """The operator (Ctrl-C, SIGTERM, SIGHUP) asked to stop before the next commit."""


def session_doc(report: SessionReport) -> dict[str, Any]:
    """A ``sessions`` step's report as results and events carry it (JSON-ready, redacted)."""
    return {"ok": True, "handling": str(report.handling), "matched": report.matched,
            "cleared": report.cleared, "detail": redact(report.detail)}


@dataclass
class StepRunner:
    """Emits one operation's device step events (the base of :class:`~egressctl.lifecycle.Lifecycle`)."""

    op_id: str
    site_name: str
    emit: Callable[[Event], None]

    def event(self, device: str, step: Step, status: StepStatus, detail: str = "",
              data: dict[str, Any] | None = None) -> None:
        """Emit one device step event (detail redacted)."""
        self.emit(DeviceStep(self.op_id, self.site_name, device=device, step=step, status=status,
                             detail=redact(detail), data=data or {}))

    @contextmanager
    def step(self, device: str, step: Step, detail: str = "") -> Iterator[Note]:
        """Journal the step as started, run the body, journal how it ended."""
        self.event(device, step, StepStatus.STARTED, detail)
        note = Note()
        try:
            yield note
        except Interrupted:
            self.event(device, step, StepStatus.SKIPPED, "interrupted by the operator")
            raise
        except Exception as exc:
            msg = describe(exc)
            self.event(device, step, StepStatus.FAILED, msg)
            raise StepFailed(step, msg) from exc
        self.event(device, step, StepStatus.OK, "; ".join(note.parts), note.data)
