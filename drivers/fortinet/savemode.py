"""FortiOS's save mode, borrowed for a change and always given back: the original is kept *on the unit*.

The dead-man switch ``cfg-save revert`` is a setting of the whole unit (``config system global``), and the
switch to it is itself saved at once (the unit is in ``automatic`` mode when it is typed), so a unit that
reboots while it is armed comes back *in revert mode*. Whatever interrupts a change (an SSH reset, a
reboot, a rejected or failed line, a controller killed) can therefore leave the unit in revert mode, and
the mode the unit had before can no longer be read from it. So before arming, egressctl writes what puts
the mode back into the unit's own configuration, as a manual auto-script that never starts by itself::

    config system auto-script
        edit "egressctl-cfgsave"
            set script "config system global
    unset cfg-revert-timeout
    unset cfg-save
    end"
        next
    end

It is saved with everything else (it is written while the unit still saves automatically), survives a
reboot, and is seen by every controller, including a second one with another journal; an operator can run
it by hand (``execute auto-script start egressctl-cfgsave``). :meth:`SaveMode.give_back` puts the mode back
from it (else from this controller's marker, else the FortiOS default), checks it, and only then deletes it.
A unit in revert mode with this record, a marker here, or an egressctl stamp holds egressctl's unconfirmed
change (or what is left of one): the lifecycle confirms it or rolls it back, and both give the mode back.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from egressctl_drivers.common.marker import PendingMarker
from egressctl_drivers.fortinet import constants as C

from egressctl.errors import CommitError, DeviceError

if TYPE_CHECKING:
    from egressctl_drivers.fortinet.driver import FortinetDriver

#: The auto-script holding the lines that put the save mode back (35 characters at most).
RECORD = "egressctl-cfgsave"
_RECORD_RE = re.compile(rf'^\s*edit "{RECORD}"\s*$(?P<body>[\s\S]*?)^\s*next\s*$', re.M)
_SCRIPT_RE = re.compile(r'set script "((?:[^"\\]|\\.)*)"', re.S)
_SETTING_RE = re.compile(r"^\s*(set|unset)\s+(cfg-save|cfg-revert-timeout)(?:\s+(\S+))?\s*$", re.M)


@dataclass(frozen=True)
class Original:
    """The save mode and revert timeout a unit had before egressctl first borrowed them."""

    mode: str = C.CFG_SAVE_DEFAULT
    timeout: str = C.CFG_TIMEOUT_DEFAULT

    def lines(self) -> list[str]:
        """The lines putting them back.

        A setting at its default is ``unset``: the configuration returns to exactly what it was, with no
        explicit default left behind.
        """
        out = [f"config {C.SEC_GLOBAL}"]
        for name, value, default in (("cfg-revert-timeout", self.timeout, C.CFG_TIMEOUT_DEFAULT),
                                     ("cfg-save", self.mode, C.CFG_SAVE_DEFAULT)):
            out.append(f"unset {name}" if value == default else f"set {name} {value}")
        return [*out, "end"]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def record_lines(original: Original) -> list[str]:
    """The CLI lines writing the record (a manual auto-script whose script is :meth:`Original.lines`)."""
    text = _quote("\n".join(original.lines())).split("\n")
    return [f"config {C.SEC_AUTOSCRIPT}", f'edit "{RECORD}"', "set start manual",
            f"set script {text[0]}", *text[1:], "next", "end"]


def parse_record(show: str) -> Original | None:
    """The original save mode held by the record in ``show system auto-script`` output, if there is one."""
    entry = _RECORD_RE.search(show)
    script = _SCRIPT_RE.search(entry.group("body")) if entry else None
    if entry is None:
        return None
    text = re.sub(r"\\(.)", r"\1", script.group(1), flags=re.S) if script else ""
    found = {name: (value if verb == "set" and value else None)
             for verb, name, value in _SETTING_RE.findall(text)}
    return Original(found.get("cfg-save") or C.CFG_SAVE_DEFAULT,
                    found.get("cfg-revert-timeout") or C.CFG_TIMEOUT_DEFAULT)


class SaveMode:
    """One driver session's handling of the unit's save mode (see the module docstring)."""

    def __init__(self, drv: FortinetDriver) -> None:
        self.drv = drv
        self.marker = PendingMarker(drv.platform, drv.device)

    def current(self) -> tuple[str, str]:
        """``cfg-save`` and ``cfg-revert-timeout`` as the unit has them now."""
        out = self.drv.send(C.GET_GLOBAL)
        mode, tmo = C.CFG_SAVE_RE.search(out), C.CFG_TIMEOUT_RE.search(out)
        return (mode.group(1) if mode else C.CFG_SAVE_DEFAULT, tmo.group(1) if tmo else C.CFG_TIMEOUT_DEFAULT)

    def recorded(self) -> Original | None:
        """The record on the unit (an earlier change of any controller borrowed the mode), if any."""
        return parse_record(self.drv.send(C.SHOW_AUTOSCRIPT, check=False))

    def _from_marker(self) -> Original | None:
        armed = self.marker.read()
        if armed is None or "original_mode" not in armed:
            return None
        return Original(str(armed["original_mode"]),
                        str(armed.get("original_timeout", C.CFG_TIMEOUT_DEFAULT)))

    def ours(self, op_id: str | None) -> bool:
        """Revert mode armed by egressctl: its record on the unit, a marker here, or an egressctl stamp.

        Such a unit holds an unconfirmed change, or what an interruption left of one (after a reboot,
        revert mode with the change gone): either way it is pending, so it is confirmed or rolled back.
        """
        if self.current()[0] != C.CFG_SAVE_REVERT:
            return False
        return self.marker.read() is not None or bool(op_id) or self.recorded() is not None

    def original(self) -> Original:
        """What to give back: the unit's record, else this controller's marker, else the FortiOS default."""
        return self.recorded() or self._from_marker() or Original()

    def borrow(self, window: int, **change: Any) -> None:
        """Record the original on the unit (once), then arm ``cfg-save revert`` for ``window`` seconds.

        The original comes from the record of an earlier interrupted change, never from a unit already
        in revert mode. If arming fails, the open block is aborted and the mode given back.

        Raises:
            CommitError: the record could not be written, or arming was rejected (nothing left armed
                unless the session was lost, in which case the record and marker say what to put back).
        """
        original = self.recorded()
        if original is None:
            mode, tmo = self.current()
            fallback = self._from_marker() or Original()
            original = Original(mode, tmo) if mode != C.CFG_SAVE_REVERT else fallback
            try:
                self.drv.send_lines(record_lines(original))
            except DeviceError as exc:
                raise CommitError(self.drv.device.name, "could not record the save mode before arming "
                                  "cfg-save revert", exc.device_output) from exc
        self.marker.write(original_mode=original.mode, original_timeout=original.timeout, **change)
        try:
            self.drv.send_config([f"config {C.SEC_GLOBAL}", f"set cfg-save {C.CFG_SAVE_REVERT}",
                                  f"set cfg-revert-timeout {window}", "end"])
        except DeviceError as exc:
            self._abort_arming(original)
            raise CommitError(self.drv.device.name, "could not arm cfg-save revert",
                              exc.device_output) from exc

    def _abort_arming(self, original: Original) -> None:
        """After a rejected arming: leave the open block without its edits, put the mode back."""
        with contextlib.suppress(DeviceError):
            self.drv.send(C.CMD_ABORT, expect_string=r"#\s*$", check=False)
        with contextlib.suppress(DeviceError):  # session lost: the record and marker stay for the re-run
            self.give_back(original)

    def give_back(self, original: Original | None = None) -> None:
        """Put the save mode back, check it, then delete the record and forget the marker.

        Raises:
            DeviceError: a line failed, or the unit still reads revert mode (record and marker kept).
        """
        original = original or self.original()
        self.drv.send_config(original.lines())
        if original.mode != C.CFG_SAVE_REVERT and self.current()[0] == C.CFG_SAVE_REVERT:
            raise CommitError(self.drv.device.name, "the unit is still in cfg-save revert mode")
        self.forget()

    def forget(self) -> None:
        """Delete the record (saved at once: the mode is back) and the marker."""
        if self.recorded() is not None:
            self.drv.send_config([f"config {C.SEC_AUTOSCRIPT}", f'delete "{RECORD}"', "end"])
        self.marker.clear()
