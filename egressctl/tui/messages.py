"""Typed messages that carry work results from thread workers to the UI thread.

``post_message`` is thread-safe; nothing else in Textual is. The two high-rate ones coalesce: at most one
:class:`OperationProgressed` waits in the queue at a time (the worker's latch, :mod:`egressctl.tui.coalesce`),
and a newer :class:`WatchUpdate` replaces one still waiting (``can_replace``), so a burst of events never
becomes a burst of repaints.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from egressctl.tui.backend import Doc


class OperationProgressed(Message):
    """The running operation's progress model changed (the screen takes the changes itself)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, OperationProgressed)


@dataclass
class OperationDone(Message):
    """An operation finished; ``result`` is its ``to_dict()`` document (or an ``error`` entry)."""

    result: Doc


@dataclass
class WatchUpdate(Message):
    """Running totals of the live leak watch (each one complete: a newer one supersedes a waiting one)."""

    stats: Doc

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WatchUpdate)


@dataclass
class WatchDone(Message):
    """The live leak watch ended."""

    report: Doc


@dataclass
class Loaded(Message):
    """A background read (status, history, verification) finished for the screen that asked."""

    what: str
    doc: Doc
