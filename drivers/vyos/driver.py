"""``VyosDriver``: VyOS routers through netmiko ``vyos``; safety net = ``commit-confirm`` (reload first).

VyOS has a working configuration per session, so the lifecycle maps onto its CLI: the lines go into the
working copy (``configure``, ``set``/``delete``), ``compare`` is the diff, ``commit-confirm N`` applies it
in one step and arms the router's own revert, ``confirm`` keeps it, ``exit discard`` throws an uncommitted
copy away. There is no "undo a pending commit-confirm" command, so a rollback commits the state before the
change again and then stops the timer with ``confirm``.

What the timer does when it fires is the router's ``system config-management commit-confirm action``: on
VyOS 1.3-1.4 (and by default on 1.5) it **reboots** to the saved configuration (an outage of the whole
router, every session dropped); with ``reload`` (1.5+) it loads the configuration before the commit in place.
The driver prefers the reload: before its first change it sets ``action reload`` in a commit of its own
(with ``commit-revisions``, which reload needs) when ``show version`` says 1.5+; an older router keeps the
reboot, and the plan says so (:meth:`VyosDriver.net_description`). A confirmed change is saved at once
(``save``), an unconfirmed one never is, so a reboot while the timer runs also undoes it.

Modes are tracked here rather than asked of netmiko, whose VyOS ``check_config_mode`` costs a 2 s read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import ClassVar

from egressctl_drivers.common.errors import map_netmiko_errors
from egressctl_drivers.common.session import EXPRESSES, NetmikoDriverBase
from egressctl_drivers.vyos import constants as c
from egressctl_drivers.vyos import render as r
from egressctl_drivers.vyos import revert as rv
from egressctl_drivers.vyos import sessions as vsessions
from egressctl_drivers.vyos.parse import ParseError, parse_state
from egressctl_drivers.vyos.preflight import UNKNOWN_FIRES
from egressctl_drivers.vyos.preflight import preflight as _preflight

from egressctl.driver import (
    Capability,
    DeviceState,
    NetDescription,
    SafetyNet,
    SessionHandling,
    SessionReport,
)
from egressctl.errors import CommandRejected, CommitError, ConfirmError, DeviceError, RollbackError
from egressctl.inventory.models import Network
from egressctl.policy import Policy

_log = logging.getLogger(__name__)


class VyosDriver(NetmikoDriverBase):
    """VyOS firewall chains; see the module docstring for the commit model and the safety net."""

    platform: ClassVar[str] = "vyos"
    netmiko_device_type: ClassVar[str] = "vyos"
    #: commit-confirm reverts on the router itself; denied sessions end by their conntrack entries.
    capabilities: ClassVar[frozenset[Capability]] = EXPRESSES | {Capability.SESSION_KILL,
                                                                  Capability.NATIVE_REVERT}
    safety_net: ClassVar[SafetyNet] = SafetyNet.NATIVE_CONFIRM
    error_patterns: ClassVar[tuple[str, ...]] = c.ERROR_PATTERNS
    preflight = _preflight  # egressctl check: read-only vendor prerequisites (see .preflight)

    _candidate: list[str] | None = None
    _before: DeviceState | None = None
    _policy: Policy | None = None
    _committed: bool = False
    _saved: bool = False
    _conf: bool = False
    #: The router's commit-confirm action as read (None: not read yet on this session).
    _action: str | None = None

    # ------------------------------------------------------------------ modes
    def _prompt_re(self, conf: bool) -> str:
        base = re.escape(self.conn.base_prompt)
        return rf"{base}#\s*$" if conf else rf"{base}:~\$\s*$"

    def _raw(self, command: str, conf: bool, read_timeout: float | None = None) -> str:
        with map_netmiko_errors(self.device.name, f"command {command.split()[0]!r}"):
            return str(self.conn.send_command(command, expect_string=self._prompt_re(conf), strip_prompt=True,
                                              read_timeout=read_timeout or self.timeout))

    def _configure(self) -> None:
        if not self._conf:
            self._raw("configure", True)
            self._conf = True

    def _operational(self, *, discard: bool = False) -> None:
        """Leave configuration mode (``exit discard`` when asked; a modified copy is otherwise kept)."""
        if not self._conf:
            return
        out = self._raw("exit discard" if discard else "exit", False)
        if "Cannot exit" in out:
            raise DeviceError(self.device.name, "uncommitted changes in the working configuration",
                              device_output=out)
        self._conf = False

    def op(self, command: str, *, check: bool = True, read_timeout: float | None = None) -> str:
        """An operational command in either mode (``run`` in configuration mode)."""
        out = self._raw(f"run {command}" if self._conf else command, self._conf, read_timeout)
        if check:
            self.check_output(command, out)
        return out

    def _conf_cmd(self, command: str, error: type[DeviceError], read_timeout: float | None = None) -> str:
        self._configure()
        out = self._raw(command, True, read_timeout)
        try:
            self.check_output(command, out)
        except CommandRejected as exc:
            raise error(self.device.name, f"{command} failed", device_output=exc.device_output) from exc
        return out

    def close(self) -> None:
        """Close the session (netmiko leaves configuration mode with ``exit discard`` when needed)."""
        super().close()
        self._conf = False
        self._action = None

    # ------------------------------------------------------------------ safety net
    def read_action(self) -> str:
        """``reload`` or ``reboot``: what a commit-confirm does on expiry, read from the router."""
        self._action = rv.action_of(self.op(c.CC_READ, check=False))
        return self._action

    def read_version(self) -> tuple[int, int] | None:
        """The router's (major, minor) version from ``show version`` (None when unreadable)."""
        return rv.version_of(self.op("show version", check=False))

    def prefer_reload(self) -> None:
        """Set ``commit-confirm action reload`` in a commit of its own when the router knows it (1.5+).

        A version without it (or unreadable) is left alone: the line would only be refused there.
        """
        if (self._action or self.read_action()) == c.RELOAD or not rv.knows_reload(self.read_version()):
            return
        have = self.op(c.CC_READ, check=False)
        lines = [f"set {c.CC_ACTION_PATH} 'reload'"]
        lines += [] if "commit-revisions" in have else [f"set {c.CC_REVISIONS_PATH} '100'"]
        self._configure()
        try:
            self.send_config(lines, enter_config_mode=False, exit_config_mode=False)
            self._conf_cmd("commit", CommitError, read_timeout=max(self.timeout, 120))
        except (CommandRejected, CommitError) as exc:
            _log.info("%s: commit-confirm reload unavailable (%s): the timer reboots", self.device.name,
                      exc.device_output or exc)
            self._operational(discard=True)
            return
        self._operational()
        self._action = c.RELOAD

    def net_description(self) -> NetDescription:
        """What the timer does on this router (``plan`` and ``check`` show it); both cases when not open."""
        if self._conn is None:
            return NetDescription(SafetyNet.NATIVE_CONFIRM, UNKNOWN_FIRES)
        action = self._action or self.read_action()
        return rv.describe(action, None if action == c.RELOAD else self.read_version())

    # ------------------------------------------------------------------ contract
    def render(self, policy: Policy, current: DeviceState | None = None) -> list[str]:
        """``set``/``delete`` lines taking the router from ``current`` to ``policy``."""
        return r.render(self.device, policy, current)

    def read_state(self) -> DeviceState:
        """Parse egressctl's chains and jumps from the active configuration."""
        raw = self.op(c.READ_BACK)
        try:
            return parse_state(self.device, raw, pending=self.has_pending_commit())
        except (ParseError, ValueError, IndexError) as exc:
            raise DeviceError(self.device.name, f"cannot parse egressctl's chains: {exc}") from exc

    def snapshot(self) -> str:
        """``show configuration commands``."""
        return self.op("show configuration commands", read_timeout=max(self.timeout, 60))

    def load_candidate(self, policy: Policy, current: DeviceState) -> None:
        """Load the lines into the working configuration; refuse site rules where egressctl's jumps go."""
        foreign = r.foreign_rules(self.device, current.raw) if current.raw else []
        if foreign and not policy.is_normal:
            raise CommandRejected(self.device.name, "the forward filter's first rules are the site's; "
                                  "egressctl will not replace them", device_output="; ".join(foreign))
        self._candidate = self.render(policy, current)
        self._before, self._policy = current, policy
        if not self._candidate:
            return
        if current.pending_commit:
            raise CommitError(self.device.name, "a commit-confirm waits for confirmation")
        self.prefer_reload()
        self._configure()
        try:
            self.send_config(self._candidate, enter_config_mode=False, exit_config_mode=False)
        except DeviceError:
            self.discard()
            raise

    def diff(self) -> str:
        """``compare``: the working configuration against the active one."""
        if not self._candidate:
            return ""
        return self._conf_cmd("compare", DeviceError)

    def commit(self, revert_in: int) -> None:
        """``commit-confirm N`` (minutes, rounded up), its question answered; reverted unless confirmed."""
        if not self._candidate:
            return
        self._configure()
        cmd = f"commit-confirm {rv.confirm_minutes(revert_in)}"
        with map_netmiko_errors(self.device.name, "commit-confirm"):
            out = str(self.conn.send_command(cmd, expect_string=c.PROCEED_RE, read_timeout=self.timeout))
            if "[confirm]" in out:
                out += self._raw("y", True, max(self.timeout, 120))
        try:
            self.check_output(cmd, out)
        except CommandRejected as exc:
            self.discard()
            raise CommitError(self.device.name, "commit-confirm refused",
                              device_output=exc.device_output) from exc
        self._operational()
        if not self.has_pending_commit():
            raise CommitError(self.device.name, "commit-confirm left no confirm pending", device_output=out)
        self._committed = True

    def confirm(self) -> None:
        """``confirm``; ``ConfirmError`` when nothing waits (the timer fired). Then ``save``."""
        out = self._conf_cmd("confirm", ConfirmError)
        self._operational()
        if not c.CONFIRMED_RE.search(out):
            raise ConfirmError(self.device.name, "no commit waiting for confirmation (the timer fired)",
                               device_output=out)
        try:  # confirmed and live whatever the save does: a failure is left to ensure_saved, never undone
            self.save()
        except DeviceError as exc:
            _log.warning("%s: confirmed but not saved: %s", self.device.name, exc)

    def rollback(self) -> None:
        """Commit the state before the change again, then ``confirm`` to stop the timer (no reboot)."""
        if not (self._committed or self.has_pending_commit()):
            self.discard()
            return
        if self._before is None or self._policy is None:
            raise RollbackError(self.device.name, "the state before the change is not known to this "
                                "session; the router's commit-confirm timer reverts it")
        back = Policy(self._policy.site, self._before.target, self._before.rules)
        lines = self.render(back, self.read_state())
        try:
            if lines:
                self._configure()
                self.send_config(lines, enter_config_mode=False, exit_config_mode=False)
                self._conf_cmd("commit", RollbackError, read_timeout=max(self.timeout, 120))
            if self.has_pending_commit():
                self._conf_cmd("confirm", RollbackError)
        except DeviceError as exc:
            raise RollbackError(self.device.name, "rollback failed", exc.device_output) from exc
        finally:
            self._operational(discard=True)
        self._committed = False

    def discard(self) -> None:
        """``exit discard``: throw the uncommitted working configuration away."""
        self._candidate = None
        if self._conn is None:
            return
        self._operational(discard=True)

    def has_pending_commit(self) -> bool:
        """True while the router's commit-confirm job waits (its job file exists)."""
        return c.PENDING_RE.search(self.op(c.PENDING_CMD, check=False)) is not None

    # ------------------------------------------------------------------ persistence
    def save(self) -> None:
        """``save`` (the active configuration to /config/config.boot); ``DeviceError`` without ``Done``."""
        out = self._conf_cmd(c.SAVE_CMD, DeviceError, read_timeout=max(self.timeout, 100))
        self._operational()
        if not c.SAVED_RE.search(out):
            raise DeviceError(self.device.name, "save failed", device_output=out[-200:])
        self._saved = True

    def ensure_saved(self) -> str:
        """Save when egressctl's chains or jumps differ from the saved file; never while a timer runs."""
        if self._saved or self.has_pending_commit():
            return ""
        out = self._conf_cmd(c.COMPARE_SAVED, DeviceError)
        self._operational()
        if not re.search(r"EGRESSCTL|egressctl", out):
            return ""
        self.save()
        return "saved to /config/config.boot (save)"

    # ------------------------------------------------------------------ sessions
    def session_handling(self) -> SessionHandling:
        """Kept while the state policy accepts established connections (read from the router)."""
        return vsessions.handling(self.op(c.READ_BACK, check=False))

    def clear_sessions(self, policy: Policy, inside: Sequence[Network]) -> SessionReport:
        """End the sessions from ``inside`` that ``policy`` denies (see :mod:`.sessions`)."""
        lines = self.op(c.READ_BACK, check=False)
        return vsessions.clear(lambda cmd: self.op(cmd, check=False), lines, self.device, policy, inside)
