"""``Watchdog``: the controller-side timer that rolls a change back when its confirm does not come in time.

A platform with no dead-man switch of its own (standalone PAN-OS, the ASA without a ``revert_host``) is
guarded by a timer in the controller: armed right after the change, it opens a *fresh* session of its own
when ``revert_in`` seconds pass without a confirm and runs the driver's ``rollback`` there. It lives in the
controller process, so a controller crash cannot trigger it: what survives a crash is the driver's
:class:`~egressctl_drivers.common.marker.PendingMarker`, which the timer also reads so that a change
already settled on another session is left alone. The outcome is kept for the driver's ``confirm`` to
report ("too late, the watchdog fired: ...").

One lock orders the timer against ``confirm`` and ``rollback``: a confirm that races the timer either
cancels it or waits for its rollback to finish and then sees its outcome. The rollback runs on its own
driver instance (its own watchdog and lock), so it never waits on this one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from egressctl.inventory.credentials import redact

if TYPE_CHECKING:
    from egressctl_drivers.common.marker import PendingMarker

    from egressctl.inventory.credentials import Secret
    from egressctl.inventory.models import Device


class Rollbackable(Protocol):
    """What :func:`rollback_on_fresh_session` needs of a driver: its constructor and lifecycle calls."""

    device: Device
    timeout: float

    def __init__(self, device: Device, *, timeout: float = 30.0) -> None:
        """The driver's constructor (the Protocol contract's)."""

    def open(self, secret: Secret) -> None:
        """Open the instance's own session."""

    def rollback(self) -> None:
        """Undo the change that waits for its confirm."""

    def close(self) -> None:
        """Close the session; never raises."""


D = TypeVar("D", bound=Rollbackable)


def rollback_on_fresh_session(drv: D, secret: Secret | None) -> None:
    """Roll back on a new instance of ``drv``'s class with a session of its own, closed after."""
    other = type(drv)(drv.device, timeout=drv.timeout)
    try:
        assert secret is not None
        other.open(secret)
        other.rollback()
    finally:
        other.close()


class Watchdog:
    """One driver session's controller-side rollback timer (see the module docstring)."""

    def __init__(self, marker: PendingMarker, undo: Callable[[], None]) -> None:
        self._marker, self._undo = marker, undo
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        #: What the timer did when it fired (None while it waits, or when it never fired).
        self.outcome: str | None = None

    @property
    def waiting(self) -> bool:
        """True while the timer is armed and has neither fired nor been cancelled."""
        return self._timer is not None

    def arm(self, seconds: int) -> None:
        """Start the timer: ``undo`` runs in ``seconds`` (at least 1) unless :meth:`cancel` comes first."""
        with self._lock:
            self.outcome = None
            self._timer = threading.Timer(max(seconds, 1), self._fire)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> bool:
        """Stop the timer; True when it was still waiting (a firing one is waited for, then False)."""
        with self._lock:
            if self._timer is None:
                return False
            self._timer.cancel()
            self._timer = None
            return True

    def _fire(self) -> None:
        """The confirm did not come in time: roll back, unless the change was settled elsewhere."""
        with self._lock:
            if self._timer is None:
                return
            self._timer = None
            if self._marker.read() is None:  # confirmed or rolled back on another session meanwhile
                self.outcome = "already settled on another session"
                return
            try:
                self._undo()
                self.outcome = "rolled back"
            except Exception as exc:  # recorded; confirm() reports it
                self.outcome = f"rollback failed: {redact(str(exc))}"
