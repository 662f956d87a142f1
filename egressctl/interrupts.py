"""Ctrl-C, SIGTERM and SIGHUP stop an operation the same way, at whatever moment they land.

An operator's terminal closing (SIGHUP), ``kill``, ``timeout`` or a service manager stopping egressctl
(SIGTERM) must not kill it between a commit and its confirm: the device would then wait for its dead-man
switch while the journal says the operation is still running. All three take one path: no new commit
starts, the devices in flight finish (confirmed or rolled back), the journal closes the operation as
``interrupted``, the exit code is 130, and re-running the command resumes. A second signal stops at once
(the journal then shows the operation as running and the next run resumes it).

Why the operation's signals set a flag rather than raise (:func:`signals_cancel`): a ``KeyboardInterrupt``
raised by a handler lands at whatever line the main thread happens to run. Around the executor's wait it
was caught and turned into "stop before the next commit", but a signal landing a moment earlier or later
(while the workers were being handed their devices, between a restore's commit and confirm phases, while
the outcome was being journaled) escaped past that catch, and the devices in flight were then left as they
were. While an operation runs, the first signal therefore only sets its ``cancel`` event, which every
device checks before its next commit, and the operation ends through its ordinary, journaled path. Only
verification, which changes nothing, is stopped at once (:meth:`Deferral.raising`).

Before an operation starts (planning, the confirmation prompt), :func:`signals_interrupt` makes SIGTERM
and SIGHUP raise ``KeyboardInterrupt`` like Ctrl-C: nothing has been touched, leaving at once is right.

A signal already ignored (``nohup``, a background job's SIGINT) stays ignored; handlers can only be set
from the main thread, so an operation started from another thread (the TUI's worker, an estate's sites)
keeps the process's own handlers and is stopped through its ``cancel`` event by whoever started it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGHUP)
Handler = Callable[[int, FrameType | None], None]
#: What stops an operation: Ctrl-C and the two above.
OPERATION_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextmanager
def _handlers(signals: tuple[signal.Signals, ...], handler: Handler) -> Iterator[None]:
    """Install ``handler`` for each of ``signals`` not ignored (main thread only), restore them after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.getsignal(s) for s in signals}
    for sig, old in saved.items():
        if old is not signal.SIG_IGN:
            signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP raise ``KeyboardInterrupt`` in the main thread."""
    with _handlers(SIGNALS, _interrupt):
        yield


class Deferral:
    """One operation's signals: the first sets ``cancel``; a second, or one during :meth:`raising`, raises.

    ``received`` names the signals that arrived, in order (empty: none, or handlers not ours).
    """

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.received: list[str] = []
        self._raising = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The handler (runs in the main thread, between two of its bytecodes)."""
        name = signal.Signals(signum).name
        self.received.append(name)
        if self._raising or len(self.received) > 1:
            raise KeyboardInterrupt(name)
        # the main thread takes this event's lock only here and in a handler-free catch: no deadlock
        self.cancel.set()

    @contextmanager
    def raising(self) -> Iterator[None]:
        """While the block runs, a signal raises ``KeyboardInterrupt`` at once (for work safe to abandon)."""
        old, self._raising = self._raising, True
        try:
            yield
        finally:
            self._raising = old


@contextmanager
def signals_cancel(cancel: threading.Event) -> Iterator[Deferral]:
    """While the block runs, Ctrl-C, SIGTERM and SIGHUP set ``cancel`` (a second one raises)."""
    deferral = Deferral(cancel)
    with _handlers(OPERATION_SIGNALS, deferral.handle):
        yield deferral
