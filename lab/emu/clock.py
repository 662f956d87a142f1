"""Device clocks with a time-scale knob.

Vendor dead-man timers run in minutes (``commit confirmed 5``, ``revert timer 10``); tests cannot wait that
long. A clock with ``scale`` < 1 makes device time run faster than real time: ``device_seconds * scale``
real seconds elapse before a timer fires, so a 1-minute Junos rollback takes 3 s at ``scale=0.05``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time
from collections.abc import Callable


class LoopClock:
    """Device time driven by an asyncio event loop (the SSH server's loop).

    Timers are scheduled on that loop, so their callbacks run in the same thread as every session's
    command processing and never race with it. Calls from another thread are forwarded thread-safely.
    """

    def __init__(self, scale: float = 1.0, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if scale <= 0:
            raise ValueError("time scale must be > 0")
        self.scale = scale
        self._loop = loop or asyncio.get_running_loop()
        self._real0 = time.monotonic()
        self._dev0 = time.time()

    def now(self) -> float:
        """Device time in seconds (epoch-based, running ``1/scale`` times faster than real time)."""
        return self._dev0 + (time.monotonic() - self._real0) / self.scale

    def call_later(self, device_seconds: float, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` on the loop after ``device_seconds`` of device time; returns a cancel function."""
        delay = max(0.0, device_seconds * self.scale)
        if self._in_loop_thread():
            handle = self._loop.call_later(delay, callback)
            return handle.cancel
        holder: list[asyncio.TimerHandle] = []
        cancelled = threading.Event()

        def schedule() -> None:
            if not cancelled.is_set():
                holder.append(self._loop.call_later(delay, callback))

        def cancel() -> None:
            cancelled.set()
            if holder:
                self._loop.call_soon_threadsafe(holder[0].cancel)

        self._loop.call_soon_threadsafe(schedule)
        return cancel

    def _in_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False


class ManualClock:
    """A clock that only moves when told to: the seam unit tests use to fire device timers deterministically.

    This is a test double for :class:`LoopClock` (no event loop, no real waiting); the SSH server always
    uses :class:`LoopClock`.
    """

    def __init__(self, scale: float = 1.0, start: float = 1_700_000_000.0) -> None:
        self.scale = scale
        self._now = start
        self._seq = itertools.count()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()

    def now(self) -> float:
        """Current device time."""
        return self._now

    def call_later(self, device_seconds: float, callback: Callable[[], None]) -> Callable[[], None]:
        """Register ``callback`` to run once :meth:`advance` passes ``device_seconds``."""
        seq = next(self._seq)
        heapq.heappush(self._timers, (self._now + device_seconds, seq, callback))
        return lambda: self._cancelled.add(seq)

    def advance(self, device_seconds: float) -> None:
        """Move device time forward, running every due timer in order."""
        target = self._now + device_seconds
        while self._timers and self._timers[0][0] <= target:
            when, seq, callback = heapq.heappop(self._timers)
            self._now = max(self._now, when)
            if seq not in self._cancelled:
                callback()
        self._now = target

    def pending(self) -> int:
        """How many timers are still scheduled (not fired, not cancelled)."""
        return sum(1 for _, seq, _ in self._timers if seq not in self._cancelled)
