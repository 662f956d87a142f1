"""Typed messages that carry work results from thread workers to the UI thread.

``post_message`` is thread-safe; nothing else in Textual is.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from egressctl.tui.backend import Doc


@dataclass
class EngineEvent(Message):
    """One progress event of a running operation (the same event the journal records)."""

    event: Doc


@dataclass
class OperationDone(Message):
    """An operation finished; ``result`` is its ``to_dict()`` document (or an ``error`` entry)."""

    result: Doc


@dataclass
class WatchUpdate(Message):
    """Running totals of the live leak watch."""

    stats: Doc


@dataclass
class WatchDone(Message):
    """The live leak watch ended."""

    report: Doc


@dataclass
class Loaded(Message):
    """A background read (status, history, verification) finished for the screen that asked."""

    what: str
    doc: Doc
