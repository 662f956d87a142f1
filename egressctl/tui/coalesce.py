"""Coalescing between worker threads and the UI thread: many updates in, one repaint out.

An operation streams dozens of events a second at its busiest (five devices, each step started and
ended) and the leak watch adds its own. Applying each one as it arrives means a DataTable re-render and
often a full layout per event, and on a loaded two-core machine those frames queue up: the lab measured
single repaints of 256-618 ms. Instead the worker folds every event into a plain model (off the UI
thread) and only *wakes* the UI; the UI applies what changed at most every :data:`INTERVAL` seconds, in
one batch, so a burst of events costs one frame.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

INTERVAL = 0.08
"""Seconds between two applications of coalesced updates on the UI thread (at most 12.5 a second)."""


class Wakeup:
    """A thread-safe latch: the first :meth:`arm` after a :meth:`clear` calls ``wake`` (from the worker).

    ``wake`` posts one typed message to the UI; until the UI has taken the changes (``clear``), further
    changes only accumulate in the model. The UI's message queue therefore holds at most one such message
    however fast the worker produces.
    """

    def __init__(self, wake: Callable[[], object]) -> None:
        self._wake = wake
        self._armed = False
        self._lock = threading.Lock()

    def arm(self) -> None:
        """Note a change; wake the UI unless it was already woken and has not taken the changes yet."""
        with self._lock:
            if self._armed:
                return
            self._armed = True
        self._wake()

    def clear(self) -> None:
        """Called by the UI as it takes the changes: the next change wakes it again."""
        with self._lock:
            self._armed = False


class Pacer:
    """Says how long the UI should wait before applying updates so that it applies at most every ``every``.

    A first change after a quiet period is applied at once (the operator sees it without delay); changes
    that follow within ``every`` seconds wait for the next slot and go together.
    """

    def __init__(self, every: float = INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self._clock = clock
        self._last = float("-inf")

    def delay(self) -> float:
        """Seconds until the next slot (0: apply now)."""
        return max(0.0, self._last + self.every - self._clock())

    def applied(self) -> None:
        """Record that updates were applied now."""
        self._last = self._clock()
