"""Progress as a stream of typed events.

The executor emits these; the journal, the CLI and the TUI are all sinks of the same stream, so the audit
trail is identical whichever front end ran the operation. Events are frozen and carry no secrets.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Step(StrEnum):
    """The steps of one device's change, in order."""

    CONNECT = "connect"
    READ_STATE = "read-state"
    SNAPSHOT = "snapshot"
    LOAD = "load"
    DIFF = "diff"
    COMMIT = "commit"
    READBACK = "readback"
    MGMT_CHECK = "mgmt-check"
    CONFIRM = "confirm"
    SESSIONS = "sessions"
    """After an isolation is confirmed: end the established sessions the cut denies (isolate only)."""
    ROLLBACK = "rollback"
    DONE = "done"


class StepStatus(StrEnum):
    """How a step ended (``started`` is emitted before it runs)."""

    STARTED = "started"
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Event:
    """Base of every event; ``at`` is a UNIX timestamp."""

    op_id: str
    site: str
    at: float = field(default_factory=time.time, kw_only=True)

    @property
    def kind(self) -> str:
        """The event's type name, as written to the journal and ``--json`` streams."""
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (enums as values)."""
        d = asdict(self)
        d["event"] = self.kind
        return {k: (v.value if isinstance(v, StrEnum) else v) for k, v in d.items()}


@dataclass(frozen=True)
class OperationStarted(Event):
    """An operation (isolate, restore, ...) began on a site."""

    operation: str
    target: str
    devices: tuple[str, ...]
    dry_run: bool = False


@dataclass(frozen=True)
class DeviceStep(Event):
    """One device step started or ended.

    ``detail`` is the one line a display shows; ``data`` holds what a program needs beyond it (the lines a
    ``load`` sent, a ``sessions`` step's report), so front ends render counts without parsing text and the
    audit trail keeps the exact values.
    """

    device: str
    step: Step
    status: StepStatus
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CommitPending(Event):
    """A change is live under its dead-man switch, which fires at ``deadline`` unless confirmed."""

    device: str
    revert_in: int
    deadline: float


@dataclass(frozen=True)
class VerificationDone(Event):
    """A verification finished; ``verdict`` is e.g. ``cut-confirmed``, ``leak``, ``unreachable``."""

    verdict: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OperationFinished(Event):
    """An operation ended; ``outcome`` is ``ok``, ``rolled-back``, ``partial``, ``failed`` or ``noop``."""

    outcome: str
    state: str
    message: str = ""


class Sink(Protocol):
    """Anything that consumes events: the journal, a CLI printer, a TUI message pump."""

    def __call__(self, event: Event) -> None:
        """Receive one event. Must not raise; must be thread-safe (devices run in parallel)."""
        ...
