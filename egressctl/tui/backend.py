"""What the TUI needs from the engine, as one small Protocol over plain dicts.

The TUI never reaches into engine internals: it reads the same ``to_dict()`` documents the CLI prints with
``--json``. Keeping the seam this narrow lets the snapshot tests drive the screens from recorded documents
(:class:`StaticBackend`) while the pilot tests drive them through the real engine on the lab.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

Doc = dict[str, Any]
EventCallback = Callable[[Doc], None]


class Backend(Protocol):
    """The engine operations the TUI calls. Blocking calls run in thread workers, never on the UI thread."""

    def sites(self) -> list[Doc]:
        """One overview document per site: name, state, target, last verdict and its time, lock owner."""
        ...

    def site(self, name: str) -> Doc:
        """A site's status document.

        It holds devices (platform, reachability, state, pending dead-man), stages, the last verification
        and recent journal entries.
        """
        ...

    def targets(self, name: str) -> list[str]:
        """The site's targets from most closed to fully open (``isolated``, stages..., ``normal``)."""
        ...

    def plan(self, name: str, target: str) -> Doc:
        """The plan to reach ``target``: per device the lines to send and its safety net."""
        ...

    def apply(self, name: str, target: str, on_event: EventCallback) -> Doc:
        """Run the operation, calling ``on_event`` from the worker thread for every progress event."""
        ...

    def check(self, name: str) -> Doc:
        """The site's preflight (``egressctl check``): every check, changing nothing."""
        ...

    def verify(self, name: str) -> Doc:
        """Run the active verification of the site's current state."""
        ...

    def history(self, name: str) -> list[Doc]:
        """The site's journal entries, newest last."""
        ...

    def verify_history(self) -> Doc:
        """Check the journal's audit hash chain: ``{"ok": bool, "message": str}``."""
        ...

    def watch(self, name: str, seconds: float, on_update: EventCallback, target: str | None = None) -> Doc:
        """Run the live leak watch, calling ``on_update`` with running totals; returns the final report.

        ``target`` is the policy the packets are judged against: the running operation's target while one
        runs, else (None) the site's settled state.
        """
        ...
