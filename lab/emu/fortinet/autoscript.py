"""``config system auto-script``: CLI scripts the emulated FortiGate runs by itself.

An entry with ``set start auto`` runs ``set script`` (FortiOS CLI lines, a multi-line quoted value) on the
device clock: ``repeat`` times, the first run ``interval`` seconds after the entry is saved and each next
one ``interval`` seconds later [M: FortiOS documents ``interval`` as the "repeat interval in seconds" and
``repeat`` as the number of runs; when the first run happens is not documented]. Editing or deleting the
entry cancels what was scheduled; after a reboot the saved auto-start entries are scheduled again [M].
This is what egressctl's non-rebooting FortiOS dead-man switch relies on: a script that undoes the change,
deleted by the confirm.

Each run feeds the lines to a fresh CLI session, as an administrator would type them; its output is logged
to stderr (the device has no file system to keep it on).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from egressctl_lab.emu.fortinet.model import Entry, value_of

if TYPE_CHECKING:
    from egressctl_lab.emu.fortinet.device import FortiDevice

PATH = "system auto-script"


class AutoScripts:
    """The timers of one device's auto-start scripts, kept in step with its configuration."""

    def __init__(self, device: FortiDevice) -> None:
        self.device = device
        self._armed: dict[str, tuple[Entry, Callable[[], None]]] = {}
        self.runs: list[str] = []

    def sync(self) -> None:
        """Schedule new or changed auto-start entries; cancel those edited away or deleted."""
        table = self.device.config.get(PATH, {})
        for name in list(self._armed):
            entry, cancel = self._armed[name]
            if table.get(name) != entry:
                cancel()
                del self._armed[name]
        for name, entry in table.items():
            if name not in self._armed and value_of(PATH, entry, "start") == ("auto",):
                self._schedule(name, dict(entry), runs_left=max(1, int(value_of(PATH, entry, "repeat")[0])))

    def stop(self) -> None:
        """Cancel every timer (the unit is going down)."""
        for _, cancel in self._armed.values():
            cancel()
        self._armed.clear()

    def _schedule(self, name: str, entry: Entry, runs_left: int) -> None:
        delay = float(value_of(PATH, entry, "interval")[0])
        cancel = self.device.clock.call_later(delay, lambda: self._fire(name, entry, runs_left))
        self._armed[name] = (entry, cancel)

    def _fire(self, name: str, entry: Entry, runs_left: int) -> None:
        self._armed.pop(name, None)
        if self.device.config.get(PATH, {}).get(name) != entry:
            return  # changed or deleted meanwhile (its cancel raced the timer)
        if runs_left > 1:
            self._schedule(name, entry, runs_left - 1)
        self.run(name, entry)

    def run(self, name: str, entry: Entry) -> None:
        """Run the script's lines in a new CLI session now."""
        from egressctl_lab.emu.fortinet.cli import FortiSession

        session = FortiSession(self.device)
        failed = 0
        for line in value_of(PATH, entry, "script")[0].splitlines():
            reply = session.handle(line)
            failed += "Command fail" in reply.text
        self.runs.append(name)
        print(f"egressctl-emu: {self.device.spec.name}: auto-script {name} ran ({failed} lines failed)",
              file=sys.stderr, flush=True)
