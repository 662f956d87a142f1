"""Progress sinks for isolate/restore: JSON lines, one line per event, or a live per-device table.

All three are :class:`egressctl.events.Sink` s called from the executor's worker threads, so each guards
its output with a lock. JSON lines are flushed one by one so a supervisor (or a test) can act on an event
the moment it is written (e.g. kill the process right after the first ``commit``); each carries its schema
(``egressctl.event/1``, the last line ``egressctl.operation/1``). Device text reaches the terminal as
:class:`rich.text.Text`, never as markup.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from egressctl.cli import jsonout, stdout
from egressctl.events import (
    CommitPending,
    DeviceStep,
    Event,
    OperationFinished,
    OperationStarted,
    VerificationDone,
)
from egressctl.inventory.credentials import redact

_STYLE = {"ok": "green", "failed": "bold red", "skipped": "dim", "started": "yellow"}


def event_line(event: Event) -> str:
    """One human line for an event."""
    t = time.strftime("%H:%M:%S", time.localtime(event.at))
    if isinstance(event, DeviceStep):
        detail = f": {event.detail}" if event.detail else ""
        return f"{t} {event.device:<12} {event.step.value:<10} {event.status.value}{detail}"
    if isinstance(event, CommitPending):
        return f"{t} {event.device:<12} dead-man armed: reverts in {event.revert_in}s unless confirmed"
    if isinstance(event, OperationStarted):
        devs = ", ".join(event.devices)
        return f"{t} {event.operation} {event.site} -> {event.target} on {devs} ({event.op_id})"
    if isinstance(event, VerificationDone):
        return f"{t} verification: {event.verdict}: {event.summary}"
    if isinstance(event, OperationFinished):
        return f"{t} finished: {event.outcome}; site is {event.state}"
    return f"{t} {event.kind}"


class JsonLines:
    """Every event as one JSON object per line on stdout."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        """Write one event line and flush it."""
        self.write(jsonout.EVENT, event.to_dict())

    def write(self, schema: str, doc: dict[str, Any]) -> None:
        """Write any versioned document as one flushed line."""
        text = jsonout.dumps(schema, doc)
        with self._lock:
            stdout.write(text + "\n")


class LinePrinter:
    """One line per event (when stdout is not a terminal)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        """Print one event line."""
        with self._lock:
            self.console.print(Text(redact(event_line(event))))

    def __enter__(self) -> LinePrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class LiveTable:
    """A live table with one row per device (when stdout is a terminal)."""

    def __init__(self, console: Console, devices: list[str]) -> None:
        self.console = console
        self.rows: dict[str, tuple[str, str, str]] = {d: ("waiting", "", "") for d in devices}
        self.footer = ""
        self._lock = threading.Lock()
        self._live = Live(get_renderable=self._table, console=console, refresh_per_second=8, transient=False)

    def _table(self) -> Table:
        table = Table(title=Text(redact(self.footer)) if self.footer else None, expand=False)
        for col in ("device", "step", "status", "detail"):
            table.add_column(col)
        with self._lock:
            for dev, (step, status, detail) in self.rows.items():
                table.add_row(Text(dev), Text(step), Text(status, style=_STYLE.get(status, "")),
                              Text(redact(detail)[:90]))
        return table

    def __call__(self, event: Event) -> None:
        """Update the device's row."""
        with self._lock:
            if isinstance(event, DeviceStep):
                self.rows[event.device] = (event.step.value, event.status.value, event.detail)
            elif isinstance(event, CommitPending):
                step, status, _ = self.rows.get(event.device, ("", "", ""))
                self.rows[event.device] = (step, status, f"reverts in {event.revert_in}s unless confirmed")
            elif isinstance(event, VerificationDone | OperationFinished | OperationStarted):
                self.footer = event_line(event)

    def __enter__(self) -> LiveTable:
        self._live.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._live.__exit__(et, ev, tb)
