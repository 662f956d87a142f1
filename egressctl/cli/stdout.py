"""Standard output that a closed pipe cannot turn into a different exit code.

``egressctl verify lab | head -1`` must still exit 3 when the cut leaks: scripts read the exit code, not
the lines ``head`` threw away. Left alone, the first write after the reader goes away raises
``BrokenPipeError`` and click turns it into exit 1 (or Python into 120 at shutdown). :class:`GuardedStdout`
wraps ``sys.stdout`` for the whole process: on the first ``EPIPE`` it points file descriptor 1 at
``/dev/null`` (so the interpreter's own final flush succeeds too) and discards everything after it,
so the command finishes its work and exits with the code it meant.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, TextIO


class GuardedStdout:
    """A ``sys.stdout`` stand-in whose writes never fail because the reader went away."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.closed_by_reader = False

    def _silence(self) -> None:
        """The reader is gone: send the rest (and any buffered bytes) to ``/dev/null``."""
        with self._lock:
            if self.closed_by_reader:
                return
            self.closed_by_reader = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())
            except (OSError, ValueError):
                pass  # no real descriptor (a test's buffer): discarding our writes is enough
            finally:
                os.close(devnull)

    def write(self, text: str) -> int:
        """Write ``text``, or drop it once the reader has closed the pipe."""
        if self.closed_by_reader:
            return len(text)
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._silence()
            return len(text)

    def writelines(self, lines: list[str]) -> None:
        """Write each line (same guard as :meth:`write`)."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Flush, unless the reader is gone (then the pending bytes go to ``/dev/null``)."""
        if self.closed_by_reader:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._silence()

    def __getattr__(self, name: str) -> Any:
        """Everything else (``isatty``, ``fileno``, ``encoding``...) is the real stream's."""
        return getattr(self._stream, name)


def install() -> None:
    """Guard ``sys.stdout`` for the rest of the process (idempotent; the console script calls it)."""
    if not isinstance(sys.stdout, GuardedStdout) and sys.stdout is not None:
        sys.stdout = GuardedStdout(sys.stdout)


def write(text: str) -> None:
    """Write ``text`` to the current stdout and flush, so a reader sees each document at once."""
    out = sys.stdout
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:  # stdout is not guarded (library use): never let a closed pipe change a result
        pass
