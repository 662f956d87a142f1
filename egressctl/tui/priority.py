"""Ask the kernel to run the screen ahead of batch work while the TUI is up, and put things back at exit.

Why: once the UI thread's own frames cost 1-2 ms, what is left of a slow repaint is waiting for a CPU. On
the two-core lab machine with other work running (load 12-50), a 5 ms sleep in an *idle* process beside
the TUI woke up to 150-230 ms late, and so did the TUI: key-to-screen up to 250-360 ms with a UI thread that
was only asked for 2-7 ms. Linux groups processes by session for the fair scheduler (autogroup), so the
TUI's session competes as one entity with every other session; a nice value only matters inside the
group. Raising the session's weight (``/proc/self/autogroup``) is what makes a waking UI thread get the
CPU first; measured in the same lab at load 33-56: p99 33-43 ms, max 52-81 ms in most runs. (A thread nice
is not used: the workers the UI thread starts, and the children they start, would inherit it.)

What it costs others: at most what the TUI uses (about 15% of one core while keys are pressed), never the
operation's CPU: the operation and the watch run in child processes of their own sessions (see
:mod:`egressctl.tui.child`), whose weight this does not change. It needs CAP_SYS_NICE (root, which the lab
and most controllers run as); without it nothing changes and nothing is said. The value is put back when
the app exits (the group belongs to the terminal's session, so it would otherwise outlive the TUI).
``EGRESSCTL_TUI_NICE`` chooses the value (default -5; ``0`` leaves scheduling alone).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DEFAULT_NICE = -5
AUTOGROUP = Path("/proc/self/autogroup")


def autogroup_nice() -> int | None:
    """This session's group nice value (``/autogroup-N nice X``), None where the kernel has no autogroup."""
    try:
        return int(AUTOGROUP.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


class Priority:
    """Raises the scheduling weight of the TUI's session group, and restores it."""

    def __init__(self, nice: int | None = None) -> None:
        if nice is None:
            try:
                nice = int(os.environ.get("EGRESSCTL_TUI_NICE", DEFAULT_NICE))
            except ValueError:
                nice = DEFAULT_NICE
        self.nice = nice
        self._group: int | None = None

    def raise_(self) -> bool:
        """Give the session group the configured nice value if that is more favourable. True if changed."""
        group = autogroup_nice()
        if self.nice >= 0 or group is None or group <= self.nice:
            return False
        with contextlib.suppress(OSError):  # EPERM without CAP_SYS_NICE: scheduling stays as it was
            AUTOGROUP.write_text(f"{self.nice}\n")
            self._group = group
        return self._group is not None

    def restore(self) -> None:
        """Put back the nice value from before :meth:`raise_` (a less favourable one needs no right)."""
        if self._group is not None:
            with contextlib.suppress(OSError):
                AUTOGROUP.write_text(f"{self._group}\n")
            self._group = None
