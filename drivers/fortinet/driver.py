"""FortiGate driver: FortiOS firewall policies over netmiko's ``fortinet`` class, with two dead-man switches.

FortiOS has no candidate configuration: a policy edit is live at ``next``/``end``. Its built-in dead-man
switch is the *configuration save mode*: with ``set cfg-save revert`` changes stay unsaved and the unit
goes back to its saved configuration when ``cfg-revert-timeout`` seconds pass without ``execute cfg
save`` -- by **rebooting** (every HA member). So egressctl uses it only as long as it must:

* :meth:`load_candidate` only renders and keeps the lines (sending them would make them live);
* :meth:`commit` switches to revert mode with ``revert_in`` as the timeout, *then* sends the lines; where
  the unit can (FortiOS >= 6.2, or device option ``revert: script``), it then arms on-box scripts that undo
  the change without a reboot (:mod:`.revert`), saves, and puts the save mode back: the scripts are the
  dead-man switch from then on. Otherwise (older unit, ``revert: reboot``, an undo too long) cfg-save
  revert stays armed;
* :meth:`confirm` deletes the scripts, or is ``execute cfg save`` (then the save mode is put back);
* :meth:`rollback` runs the scripts now, or is ``execute cfg reload`` while a change is unsaved, and an
  explicit re-render of the earlier state once it was confirmed.

A pending change is found on the unit (its scripts), so a restarted or second controller sees it. The
controller-side marker file (``{state}/drivers/fortinet/<device>.json``) only remembers the save mode to
put back while cfg-save revert is armed: FortiOS has no CLI command that lists unsaved changes.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from egressctl_drivers.common.errors import map_netmiko_errors
from egressctl_drivers.common.session import EXPRESSES, NetmikoDriverBase
from egressctl_drivers.fortinet import constants as C
from egressctl_drivers.fortinet import parse
from egressctl_drivers.fortinet import sessions as fsessions
from egressctl_drivers.fortinet.preflight import preflight as _preflight
from egressctl_drivers.fortinet.render import render as render_lines
from egressctl_drivers.fortinet.scriptnet import ScriptNet

from egressctl.driver import (
    Capability,
    DeviceState,
    NetDescription,
    SafetyNet,
    SessionHandling,
    SessionReport,
)
from egressctl.errors import (
    CommitError,
    ConfirmError,
    ConnectError,
    DeviceError,
    DeviceTimeout,
    RollbackError,
)
from egressctl.inventory.credentials import redact, state_dir
from egressctl.inventory.models import Device, Network
from egressctl.policy import Policy


class PendingMarker:
    """Controller-side record of an armed, unconfirmed change (survives a controller restart)."""

    def __init__(self, platform: str, device: str) -> None:
        self.path = state_dir() / "drivers" / platform / f"{device}.json"

    def write(self, **data: Any) -> None:
        """Record the armed change (atomic replace), private like the rest of the state directory."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
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
        self.net = ScriptNet(self)
        self._scripted = False
        self._handed_over = False  # this session armed the scripts and put the save mode back itself

    @property
    def is_open(self) -> bool:
        """True while the session is up."""
        return self._conn is not None

    def net_description(self) -> NetDescription:
        """The dead-man switch this unit gets and what it does when it fires (``plan`` shows it)."""
        return self.net.describe()

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

    def raw(self) -> str:
        """The read-back text of egressctl's sections."""
        return "\n".join(self.send(cmd) for cmd in C.SHOW_COMMANDS)

    _raw = raw

    def _pending(self, state: DeviceState) -> bool:
        """The unit holds a change waiting for its confirm: its revert scripts, or armed cfg-save revert."""
        if self.net.pending(state) is not None:
            self._scripted = True
            return True
        return self._window(state)

    def _window(self, state: DeviceState) -> bool:
        """cfg-save revert armed for a change the device still holds.

        This controller's (its marker says what it committed), or another's: revert mode under an egressctl
        stamp and no marker here (that controller died while sending the change or arming its scripts).
        """
        armed = self._marker.read()
        if self._global()[0] != C.CFG_SAVE_REVERT:
            return False
        if armed is None:
            return bool(state.op_id)
        if state.target != armed.get("target"):
            return False
        return state.is_normal if state.target == "normal" else state.fingerprint == armed.get("fingerprint")

    def read_state(self) -> DeviceState:
        """Parse egressctl's policies (and the objects they use) back from the device."""
        state = parse.device_state(self._raw())
        pending = self._pending(state)
        return DeviceState(state.target, state.fingerprint, state.rules, pending, state.raw, state.op_id,
                           state.owner)

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
        """Arm ``cfg-save revert``, send the lines (live at once), then hand over to revert scripts.

        With scripts to come, cfg-save revert only covers sending the lines and arming the scripts, so its
        timeout is at least :data:`~.constants.ARM_WINDOW` (a controller lost in those seconds reboots the
        unit then); otherwise it is the dead-man switch itself, with ``revert_in``.
        """
        if not self._lines or self._policy is None:
            return
        timeout = min(max(int(revert_in), C.REVERT_MIN), C.REVERT_MAX)
        scripted = self._before is not None and self.net.usable()
        window = max(timeout, C.ARM_WINDOW) if scripted else timeout
        mode, old_timeout = self._global()
        if mode == C.CFG_SAVE_REVERT:
            # Revert mode left armed: by a change of this controller that a reboot reverted (the saved
            # mode stays revert; its marker says what that change found), or by a controller that died
            # while sending its change (egressctl never leaves a unit so): put back the default then.
            stale = self._marker.read() or {}
            mode = str(stale.get("original_mode", C.CFG_SAVE_DEFAULT))
            old_timeout = str(stale.get("original_timeout", C.CFG_TIMEOUT_DEFAULT))
        self._marker.write(target=self._policy.target, fingerprint=self._policy.fingerprint(),
                           original_mode=mode, original_timeout=old_timeout, revert_in=timeout)
        try:
            self.send_config([f"config {C.SEC_GLOBAL}", f"set cfg-save {C.CFG_SAVE_REVERT}",
                              f"set cfg-revert-timeout {window}", "end"])
        except DeviceError as exc:
            self._marker.clear()
            raise CommitError(self.device.name, "could not arm cfg-save revert", exc.device_output) from exc
        self._apply(self._lines)
        if scripted:
            self._hand_over(timeout)

    def _hand_over(self, timeout: int) -> None:
        """Arm the revert scripts, save, put the save mode back: cfg-save revert (a reboot) is disarmed.

        If the scripts cannot all be armed, none stays (a confirm would save them) and cfg-save revert
        remains the dead-man switch.
        """
        assert self._before is not None and self._policy is not None
        try:
            self.net.arm(self._before, self._policy, timeout)
        except DeviceError:
            self.net.disarm()
            return
        armed = self._marker.read() or {}
        self.send(C.CMD_CFG_SAVE)
        self._restore_mode(armed)
        self._marker.clear()
        self._scripted = self._handed_over = True

    def send_lines(self, lines: list[str]) -> None:
        """Send many lines in one write (scripts: multi-line values show no prompt) and read to their end.

        A ``grep`` for a random token closes the batch: its echo followed by a prompt is the end of every
        answer (netmiko's per-line echo checks need a prompt after each line, and wait out its absence).
        """
        token = f"egressctl-{secrets.token_hex(6)}"
        conn = self.conn
        try:
            with map_netmiko_errors(self.device.name, "configuration"):
                conn.write_channel("\n".join([*lines, f"{C.GET_STATUS} | grep {token}"]) + "\n")
                out = conn.read_until_pattern(pattern=rf"{token}[^\n]*\n[\s\S]*#\s*$",
                                              read_timeout=max(self.timeout, 10.0 + len(lines) / 10))
            self.check_output("configuration", redact(str(out)))
        except DeviceError:
            with contextlib.suppress(DeviceError):
                self.send(C.CMD_ABORT, expect_string=r"#\s*$", check=False)
            raise

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
        """Delete the revert scripts, or ``execute cfg save`` and put the save mode back as it was."""
        armed = self._marker.read()
        if armed is None:
            self._confirm_scripted()
            if not self._handed_over and self._global()[0] == C.CFG_SAVE_REVERT:
                # Another controller died before saving its change (taken over): keep it, and put the
                # save mode to its default (what that controller found is not known here).
                self.send(C.CMD_CFG_SAVE)
                self._restore_mode({})
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

    def _confirm_scripted(self) -> None:
        """The scripts guard the change: deleting them keeps it (too late once they ran)."""
        try:
            still = self.net.pending(parse.device_state(self._raw())) is not None
            self.net.disarm()
        except DeviceError as exc:
            raise ConfirmError(self.device.name, "could not delete the revert scripts",
                               exc.device_output) from exc
        if self._scripted and not still:
            raise ConfirmError(self.device.name, "too late: the revert scripts already undid the change")

    def rollback(self) -> None:
        """Back to the state before the change: its revert scripts, cfg reload if unsaved, else re-render."""
        armed = self._marker.read()
        try:
            if armed is None and not self._handed_over and self._global()[0] == C.CFG_SAVE_REVERT:
                armed = {}  # another controller's unsaved change (and scripts): reload, default save mode
            found = self.net.pending(parse.device_state(self._raw())) if armed is None else None
            if found is not None:
                self.net.fire_now(found)
                self.net.disarm()
                return
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
