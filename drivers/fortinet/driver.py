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

A pending change is found on the unit (its scripts, or cfg-save revert armed by egressctl), so a restarted
or second controller sees it. The save mode a change borrows is always given back (:mod:`.savemode`): what
puts it back is recorded on the unit itself before arming, so an interrupted change (SSH reset, reboot,
rejected line, controller killed) never leaves the unit in revert mode once a run has gone over it again.
The controller-side marker file (``{state}/drivers/fortinet/<device>.json``) keeps a second copy and says
this controller armed a change: FortiOS has no CLI command that lists unsaved changes.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Sequence
from typing import ClassVar

from egressctl_drivers.common.errors import map_netmiko_errors
from egressctl_drivers.common.session import EXPRESSES, NetmikoDriverBase
from egressctl_drivers.fortinet import constants as C
from egressctl_drivers.fortinet import parse
from egressctl_drivers.fortinet import sessions as fsessions
from egressctl_drivers.fortinet.preflight import preflight as _preflight
from egressctl_drivers.fortinet.render import render as render_lines
from egressctl_drivers.fortinet.savemode import SaveMode
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
    ConfirmError,
    ConnectError,
    DeviceError,
    DeviceTimeout,
    RollbackError,
)
from egressctl.inventory.credentials import redact
from egressctl.inventory.models import Device, Network
from egressctl.policy import Policy, equivalent


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
        self.mode = SaveMode(self)
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
        """``cfg-save`` and ``cfg-revert-timeout`` as the unit has them now."""
        return self.mode.current()

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
        """cfg-save revert armed by egressctl: a change waiting for its confirm, or what is left of one."""
        return self.mode.ours(state.op_id)

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
        unit then); otherwise it is the dead-man switch itself, with ``revert_in``. The save mode is
        borrowed through :mod:`.savemode`: what puts it back is recorded on the unit before arming (an
        interrupted earlier change's record is kept, never the revert mode it left), and a rejected
        arming is aborted and the mode given back.
        """
        if not self._lines or self._policy is None:
            return
        timeout = min(max(int(revert_in), C.REVERT_MIN), C.REVERT_MAX)
        scripted = self._before is not None and self.net.usable()
        window = max(timeout, C.ARM_WINDOW) if scripted else timeout
        self.mode.borrow(window, target=self._policy.target, fingerprint=self._policy.fingerprint(),
                         revert_in=timeout)
        self._apply(self._lines)
        if scripted:
            self._hand_over(timeout)

    def _hand_over(self, timeout: int) -> None:
        """Arm the revert scripts, save, give the save mode back: cfg-save revert (a reboot) is disarmed.

        If the scripts cannot all be armed, none stays (a confirm would save them) and cfg-save revert
        remains the dead-man switch.
        """
        assert self._before is not None and self._policy is not None
        try:
            self.net.arm(self._before, self._policy, timeout)
        except DeviceError:
            self.net.disarm()
            return
        self.send(C.CMD_CFG_SAVE)
        self.mode.give_back()
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

    def confirm(self) -> None:
        """Keep the change: delete its revert scripts; in revert mode, save and give the mode back.

        A save mode left by an interrupted change is given back here too.

        Raises:
            ConfirmError: too late (the unit no longer holds this session's change: cfg-revert-timeout
                rebooted it, or the scripts undid it; the save mode is given back all the same), or a
                command failed.
        """
        try:
            state = parse.device_state(self._raw())
            guarded = self.net.pending(state) is not None
            reverting = self.mode.current()[0] == C.CFG_SAVE_REVERT
            if (self._policy is not None and not equivalent(state.rules, self._policy.rules)) or (
                    self._scripted and not guarded and not reverting):
                if reverting:
                    self.mode.give_back()
                raise ConfirmError(self.device.name, "too late: the device already reverted the change "
                                   "(its dead-man switch fired)")
            self.net.disarm()
            if reverting:
                self.send(C.CMD_CFG_SAVE)
                self.mode.give_back()
            else:
                self.mode.forget()  # a record an interrupted give-back left behind
        except ConfirmError:
            raise
        except DeviceError as exc:
            raise ConfirmError(self.device.name, f"confirm failed: {exc}", exc.device_output) from exc

    def rollback(self) -> None:
        """Back to the state before the change: reload while unsaved, then its scripts, else a re-render.

        ``execute cfg reload`` while revert mode is armed (the change is unsaved; the mode is given back),
        then the revert scripts if the unit still holds a change they guard, else a re-render of the
        earlier state this session read.
        """
        try:
            reloaded = False
            if self.mode.current()[0] == C.CFG_SAVE_REVERT:
                self.send(C.CMD_CFG_RELOAD)
                try:
                    self.mode.give_back()
                except (ConnectError, DeviceTimeout):
                    # A real unit may reboot on reload and drop the session; the saved configuration is
                    # back. The record and marker stay, so the next run gives the save mode back.
                    return
                reloaded = True
            state = parse.device_state(self._raw())
            found = self.net.pending(state)
            if found is not None:
                self.net.fire_now(found)
            self.net.disarm()  # scripts of a change the unit does not hold would apply stale lines later
            if found is not None or reloaded:
                return
            if self._before is None or self._policy is None:
                raise RollbackError(self.device.name, "no unconfirmed change and no earlier state known")
            lines = self.render(Policy(self._policy.site, self._before.target, self._before.rules), state)
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
        if self.mode.marker.read() is not None and self._conn is not None:
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
