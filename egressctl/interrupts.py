"""SIGTERM and SIGHUP are handled like Ctrl-C while an operation runs.

An operator's terminal closing (SIGHUP), ``kill``, ``timeout`` or a service manager stopping egressctl
(SIGTERM) must not kill it between a commit and its confirm: the device would then wait for its dead-man
switch while the journal says the operation is still running. Turned into ``KeyboardInterrupt`` they take
Ctrl-C's path instead: no new commit starts, the devices in flight finish (confirmed or rolled back), the
journal closes the operation as ``interrupted``, the exit code is 130, and re-running the command resumes.
A second signal, like a second Ctrl-C, stops at once (the journal then shows the operation as running
and the next run resumes it).

A signal already ignored (``nohup``) stays ignored; handlers can only be set from the main thread, so an
operation started from another thread (the TUI's worker) keeps the process's own handlers.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP raise ``KeyboardInterrupt`` in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.getsignal(s) for s in SIGNALS}
    for sig, old in saved.items():
        if old is not signal.SIG_IGN:
            signal.signal(sig, _interrupt)
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)
