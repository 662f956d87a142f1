"""Keeping the garbage collector's long pauses out of the screen's way.

A full (generation 2) collection walks every tracked object while holding the interpreter lock, whichever
thread triggers it, so the screen waits for it. With the engine, Textual and Rich loaded that measured
300-460 ms in the lab. Two measures:

* :func:`freeze_heap` moves what is alive at start-up (modules, classes, screens), and again what is alive
  as an operation starts, out of the collector's reach (``gc.freeze``): later full collections only walk
  what came after.
* While an operation runs, :class:`FullCollections` holds automatic full collections back altogether. Even
  over the young heap left after a freeze they were 3-4 per isolate in the lab, 13-34 ms each on a quiet
  machine and 70-120 ms once the cores were busy (a collection preempted half-way keeps the lock), the
  largest single pauses left on the UI thread. Young collections (generations 0 and 1) go on as usual, so
  garbage without cycles and short-lived cycles are still freed; the full collection the operation put off
  comes after it, when the result is on the screen.
"""

from __future__ import annotations

import gc

HELD_THRESHOLD = 1_000_000
"""Generation-1 collections before a full one while held: more than any operation makes (about 30)."""


def freeze_heap() -> None:
    """Move every object alive now out of the garbage collector's reach (``gc.freeze``)."""
    gc.freeze()


class FullCollections:
    """Holds automatic full collections back (:meth:`hold`) and lets them run again (:meth:`release`)."""

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    @property
    def held(self) -> bool:
        """True between :meth:`hold` and :meth:`release`."""
        return self._saved is not None

    def hold(self) -> None:
        """Raise the full collection's threshold out of reach (the young generations keep theirs)."""
        if self._saved is None:
            self._saved = gc.get_threshold()
            gen0, gen1, _ = self._saved
            gc.set_threshold(gen0, gen1, HELD_THRESHOLD)

    def release(self) -> None:
        """Put the thresholds back; the next full collection happens when the collector next wants one."""
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
