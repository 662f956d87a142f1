"""FortiGate driver: FortiOS firewall policies over netmiko's ``fortinet`` class, with ``cfg-save revert``.

FortiOS has no candidate configuration: a policy edit is live at ``next``/``end``. Its dead-man switch is
the *configuration save mode*: with ``set cfg-save revert`` changes stay unsaved and the unit goes back to
its saved configuration when ``cfg-revert-timeout`` seconds pass without ``execute cfg save``. So:

* :meth:`load_candidate` only renders and keeps the lines (sending them would make them live);
* :meth:`commit` switches to revert mode with ``revert_in`` as the timeout, *then* sends the lines;
* :meth:`confirm` is ``execute cfg save`` and puts the save mode back as it was;
* :meth:`rollback` is ``execute cfg reload`` (back to the saved configuration now) while a change is
  unconfirmed, and an explicit re-render of the earlier state once it was confirmed.

A controller-side marker file (``{state}/drivers/fortinet/<device>.json``) remembers an armed change so a
restarted controller still sees it as pending; FortiOS has no CLI command that lists unsaved changes.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from egressctl_drivers.common.session import EXPRESSES, NetmikoDriverBase
from egressctl_drivers.fortinet import constants as C
from egressctl_drivers.fortinet import parse
from egressctl_drivers.fortinet import sessions as fsessions
from egressctl_drivers.fortinet.preflight import preflight as _preflight
from egressctl_drivers.fortinet.render import render as render_lines

from egressctl.driver import Capability, DeviceState, SafetyNet, SessionHandling, SessionReport
from egressctl.errors import (
    CommitError,
    ConfirmError,
    ConnectError,
    DeviceError,
    DeviceTimeout,
    RollbackError,
)
from egressctl.inventory.credentials import state_dir
from egressctl.inventory.models import Device, Network
from egressctl.policy import Policy


class PendingMarker:
    """Controller-side record of an armed, unconfirmed change (survives a controller restart)."""

    def __init__(self, platform: str, device: str) -> None:
        self.path = state_dir() / "drivers" / platform / f"{device}.json"

    def write(self, **data: Any) -> None:
        """Record the armed change (atomic replace)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"armed_at": time.time(), **data}))
        tmp.replace(self.path)

    def read(self) -> dict[str, Any] | None:
        """The record, or None when no change is armed."""
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return data

    def clear(self) -> None:
        """Forget the armed change."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class FortinetDriver(NetmikoDriverBase):
    """One FortiGate (single VDOM), driven through FortiOS's CLI."""

    platform: ClassVar[str] = "fortinet"
    netmiko_device_type: ClassVar[str] = "fortinet"
    #: ``cfg-save revert`` reverts on the unit itself; sessions end with ``diagnose sys session clear``.
    capabilities: ClassVar[frozenset[Capability]] = EXPRESSES | {Capability.SESSION_KILL,
                                                                  Capability.NATIVE_REVERT}
    safety_net: ClassVar[SafetyNet] = SafetyNet.NATIVE_CONFIRM
    error_patterns: ClassVar[tuple[str, ...]] = C.ERROR_PATTERNS
    preflight = _preflight  # egressctl check: read-only vendor prerequisites (see .preflight)

    def __init__(self, device: Device, *, timeout: float = 30.0) -> None:
        super().__init__(device, timeout=timeout)
        self._lines: list[str] = []
        self._policy: Policy | None = None
        self._before: DeviceState | None = None
        self._marker = PendingMarker(self.platform, device.name)

    # ----------------------------------------------------------------------------- pure
    def render(self, policy: Policy, current: DeviceState | None = None) -> list[str]:
        """FortiOS lines from ``current`` to ``policy`` (see :mod:`egressctl_drivers.fortinet.render`)."""
        return render_lines(self.device, policy, current)

    # ------------------------------------------------------------------------ read-back
    def _global(self) -> tuple[str, str]:
        out = self.send(C.GET_GLOBAL)
        mode = C.CFG_SAVE_RE.search(out)
        tmo = C.CFG_TIMEOUT_RE.search(out)
        return (
            mode.group(1) if mode else C.CFG_SAVE_DEFAULT,
            tmo.group(1) if tmo else C.CFG_TIMEOUT_DEFAULT,
        )

    def _raw(self) -> str:
        return "\n".join(self.send(cmd) for cmd in C.SHOW_COMMANDS)

    def _pending(self, state: DeviceState) -> bool:
        """Armed by egressctl, still in revert mode, and the device still holds what was committed."""
        armed = self._marker.read()
        if armed is None or self._global()[0] != C.CFG_SAVE_REVERT:
            return False
        if state.target != armed.get("target"):
            return False
        return state.is_normal if state.target == "normal" else state.fingerprint == armed.get("fingerprint")

    def read_state(self) -> DeviceState:
        """Parse egressctl's policies (and the objects they use) back from the device."""
        state = parse.device_state(self._raw())
        pending = self._pending(state)
        return DeviceState(state.target, state.fingerprint, state.rules, pending, state.raw)

    def snapshot(self) -> str:
        """The whole configuration as ``show`` prints it."""
        return self.send("show")

    def has_pending_commit(self) -> bool:
        """True while a change egressctl armed is live, unsaved and not yet reverted."""
        return self._pending(parse.device_state(self._raw()))

    # ------------------------------------------------------------------------ lifecycle
    def load_candidate(self, policy: Policy, current: DeviceState) -> None:
        """Render and keep the lines: FortiOS has no candidate, so nothing is sent before :meth:`commit`."""
        self._policy, self._before = policy, current
        self._lines = self.render(policy, current)

    def diff(self) -> str:
        """The lines :meth:`commit` will send (FortiOS has no candidate to compare)."""
        return "\n".join(self._lines)

    def commit(self, revert_in: int) -> None:
        """Arm ``cfg-save revert`` with ``revert_in`` seconds, then send the lines (live at once)."""
        if not self._lines or self._policy is None:
            return
        timeout = min(max(int(revert_in), C.REVERT_MIN), C.REVERT_MAX)
        mode, old_timeout = self._global()
        self._marker.write(target=self._policy.target, fingerprint=self._policy.fingerprint(),
                           original_mode=mode, original_timeout=old_timeout, revert_in=timeout)
        try:
            self.send_config([f"config {C.SEC_GLOBAL}", f"set cfg-save {C.CFG_SAVE_REVERT}",
                              f"set cfg-revert-timeout {timeout}", "end"])
        except DeviceError as exc:
            self._marker.clear()
            raise CommitError(self.device.name, "could not arm cfg-save revert", exc.device_output) from exc
        self._apply(self._lines)

    def _apply(self, lines: list[str]) -> None:
        """Send lines; after a rejected one, ``abort`` the open block so the session is back at the top."""
        try:
            self.send_config(lines)
        except DeviceError:
            with contextlib.suppress(DeviceError):
                self.send(C.CMD_ABORT, expect_string=r"#\s*$", check=False)
            raise

    def _restore_mode(self, armed: dict[str, Any]) -> None:
        """Put ``cfg-save`` and ``cfg-revert-timeout`` back exactly as they were before :meth:`commit`.

        A setting that was at its default is ``unset`` rather than set to the default value, so the
        configuration returns to what it was (FortiOS shows no difference, but a restore must not even
        leave an explicit default behind).
        """
        mode = str(armed.get("original_mode", C.CFG_SAVE_DEFAULT))
        tmo = str(armed.get("original_timeout", C.CFG_TIMEOUT_DEFAULT))
        lines = [f"config {C.SEC_GLOBAL}"]
        for name, value, default in (("cfg-revert-timeout", tmo, C.CFG_TIMEOUT_DEFAULT),
                                     ("cfg-save", mode, C.CFG_SAVE_DEFAULT)):
            lines.append(f"unset {name}" if value == default else f"set {name} {value}")
        self.send_config([*lines, "end"])

    def confirm(self) -> None:
        """``execute cfg save``, then put the save mode back as it was before :meth:`commit`."""
        armed = self._marker.read()
        if armed is None:
            return
        try:
            if not self.has_pending_commit():
                # The timeout already reverted the unit: saving now would keep the *old* state.
                self._restore_mode(armed)
                self._marker.clear()
                raise ConfirmError(self.device.name, "too late: the device already reverted the change "
                                   "(cfg-revert-timeout expired)")
            self.send(C.CMD_CFG_SAVE)
            self._restore_mode(armed)
        except ConfirmError:
            raise
        except DeviceError as exc:
            raise ConfirmError(self.device.name, "execute cfg save failed", exc.device_output) from exc
        self._marker.clear()

    def rollback(self) -> None:
        """Go back to the state before the change: ``execute cfg reload`` if unsaved, else re-render it."""
        armed = self._marker.read()
        try:
            if armed is not None:
                self.send(C.CMD_CFG_RELOAD)
                try:
                    self._restore_mode(armed)
                except (ConnectError, DeviceTimeout):
                    # A real unit reboots on reload and drops the session; the saved configuration is
                    # back. The marker stays so the next confirm/rollback restores the save mode.
                    return
                self._marker.clear()
                return
            if self._before is None or self._policy is None:
                raise RollbackError(self.device.name, "no unconfirmed change and no earlier state known")
            before = Policy(self._policy.site, self._before.target, self._before.rules)
            lines = self.render(before, self.read_state())
            if lines:
                self._apply(lines)
        except RollbackError:
            raise
        except DeviceError as exc:
            raise RollbackError(self.device.name, f"rollback failed: {exc}", exc.device_output) from exc

    def discard(self) -> None:
        """Forget the rendered lines; if a failed :meth:`commit` already armed and sent some, reload now.

        FortiOS has no candidate to throw away: lines that reached the unit before a rejected one are
        live (but unsaved), so the saved configuration is reloaded instead of waiting for the timeout.
        """
        if self._marker.read() is not None and self._conn is not None:
            self.rollback()
        self._lines, self._policy = [], None

    # ------------------------------------------------------------------------- sessions
    def session_handling(self) -> SessionHandling:
        """``firewall-session-dirty``: re-checked by default (``check-all``), kept with ``check-new``."""
        return fsessions.handling(self)

    def clear_sessions(self, policy: Policy, inside: Sequence[Network]) -> SessionReport:
        """End the sessions from ``inside`` that ``policy`` denies (see :mod:`.sessions`)."""
        return fsessions.clear(self, policy, inside)


__all__ = ["FortinetDriver"]
