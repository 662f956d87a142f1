"""``CiscoAsaDriver``: ASA firewalls through netmiko ``cisco_asa``; safety net = a revert job elsewhere.

The ASA applies each configuration line at once and has no commit and no timer, so the lifecycle is built
around it: :meth:`load_candidate` only renders (the ASA has no candidate), :meth:`commit` first arms the
revert, then types the lines (make before break, see :mod:`.render`). The revert is the undo computed from
the read-back before the change (:func:`.render.undo`), armed as a job on the device's ``revert_host`` (a
jump host of the site: it types the undo lines with no controller, :mod:`.revert`) or, without one, as a
watchdog thread in the controller that types them on a fresh session. Either way a controller-side marker
file holds the undo, so :meth:`has_pending_commit` and :meth:`rollback` work from a resumed run.

A confirmed change is saved (``write memory``), an unconfirmed one never is. The ASA keeps established
connections on an ACL change: the ones the cut denies are cleared one by one (``clear conn``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

from egressctl_drivers.cisco_asa import constants as c
from egressctl_drivers.cisco_asa import persist as p
from egressctl_drivers.cisco_asa import render as r
from egressctl_drivers.cisco_asa import sessions as asa_sessions
from egressctl_drivers.cisco_asa.parse import ParseError, parse_state
from egressctl_drivers.cisco_asa.preflight import EFFECT, WATCHDOG
from egressctl_drivers.cisco_asa.preflight import preflight as _preflight
from egressctl_drivers.cisco_asa.revert import AsaRevertHost
from egressctl_drivers.common import persist as P
from egressctl_drivers.common.errors import map_netmiko_errors
from egressctl_drivers.common.marker import PendingMarker
from egressctl_drivers.common.reverthost import revert_host
from egressctl_drivers.common.session import EXPRESSES, NetmikoDriverBase
from egressctl_drivers.common.watchdog import Watchdog, rollback_on_fresh_session

from egressctl.driver import (
    Capability,
    DeviceState,
    NetDescription,
    SafetyNet,
    SessionHandling,
    SessionReport,
    current_stamp,
)
from egressctl.errors import CommandRejected, CommitError, ConfirmError, DeviceError, RollbackError
from egressctl.inventory.credentials import Secret
from egressctl.inventory.models import Device, Network
from egressctl.policy import Policy

_log = logging.getLogger(__name__)


class CiscoAsaDriver(NetmikoDriverBase):
    """One ASA (single context); see the module docstring for the lifecycle."""

    platform: ClassVar[str] = "cisco_asa"
    netmiko_device_type: ClassVar[str] = "cisco_asa"
    #: No NATIVE_REVERT for the class: a device with a revert_host gets it (a job needing no controller).
    capabilities: ClassVar[frozenset[Capability]] = EXPRESSES | {Capability.SESSION_KILL}
    safety_net: ClassVar[SafetyNet] = SafetyNet.GUARDED_SNAPSHOT
    error_patterns: ClassVar[tuple[str, ...]] = c.ERROR_PATTERNS
    preflight = _preflight  # egressctl check: read-only vendor prerequisites (see .preflight)

    def __init__(self, device: Device, *, timeout: float = 30.0) -> None:
        super().__init__(device, timeout=timeout)
        self._candidate: list[str] | None = None
        self._undo: list[str] = []
        self._secret: Secret | None = None
        self._marker = PendingMarker(self.platform, device.name)
        self._watchdog = Watchdog(self._marker, lambda: rollback_on_fresh_session(self, self._secret))
        self._saved = False
        self._committed = False  # this session typed a change (a rollback then has something to undo)
        host = revert_host(device)
        self.remote = AsaRevertHost(device, host, timeout) if host is not None else None
        if self.remote is not None:  # the job reverts without the controller: native for this device only
            self.__dict__["capabilities"] = type(self).capabilities | {Capability.NATIVE_REVERT}

    def net_description(self) -> NetDescription:
        """The revert job on the revert host, else the controller's watchdog; and the save on confirm."""
        if self.remote is None:
            return NetDescription(SafetyNet.GUARDED_SNAPSHOT, f"{WATCHDOG}; {p.PLAN_NOTE}")
        return NetDescription(SafetyNet.REMOTE_JOB, f"{EFFECT.format(host=self.remote.name)}; {p.PLAN_NOTE}")

    # ----------------------------------------------------------------------- session
    def open(self, secret: Secret) -> None:
        """Open the session; the secret is kept (never shown) for the watchdog and the revert job."""
        self._secret = secret
        super().open(secret)

    def prepare(self) -> None:
        """Nothing: netmiko's ASA class reached privileged EXEC (``enable`` or ``login``), set the pager."""

    def close(self) -> None:
        """Close the revert host's client and the session. Never raises."""
        if self.remote is not None:
            self.remote.close()
        super().close()

    # -------------------------------------------------------------------------- pure
    def render(self, policy: Policy, current: DeviceState | None = None) -> list[str]:
        """ASA lines from ``current`` to ``policy`` ([] when already there)."""
        return r.render(self.device, policy, current)

    # --------------------------------------------------------------------- read-back
    def read_state(self) -> DeviceState:
        """Parse egressctl's ACL, groups and bindings from the running configuration."""
        raw = self._read_back()
        try:
            return parse_state(self.device, raw, pending=self.has_pending_commit())
        except (ParseError, ValueError, IndexError, KeyError) as exc:
            raise DeviceError(self.device.name, f"cannot parse egressctl's ACL: {exc}") from exc

    def _read_back(self) -> str:
        return "".join(self.send(cmd) + "\n" for cmd in c.READ_BACK)

    def snapshot(self) -> str:
        """``show running-config``."""
        return self.send("show running-config", read_timeout=max(self.timeout, 60))

    def has_pending_commit(self) -> bool:
        """A change of egressctl's waits for its confirm (the job is armed, or the marker file exists)."""
        if self.remote is not None:
            try:
                return self.remote.state().startswith("armed")
            except DeviceError:
                return self._marker.read() is not None
        return self._marker.read() is not None

    # --------------------------------------------------------------------- lifecycle
    def load_candidate(self, policy: Policy, current: DeviceState) -> None:
        """Render the change and its undo; refuse a site ACL bound where egressctl's would go."""
        foreign = r.foreign_groups(self.device, current.raw) if current.raw else {}
        if foreign and not policy.is_normal:
            what = "; ".join(f"{n}: {a}" for n, a in sorted(foreign.items()))
            raise CommandRejected(self.device.name, f"an outside interface already has a site ACL "
                                  f"{c.DIRECTION}; egressctl will not replace it", device_output=what)
        self._candidate = self.render(policy, current)
        self._undo = r.undo(self.device, current, self._candidate) if self._candidate else []

    def diff(self) -> str:
        """The lines the commit will type (the ASA has no candidate to compare)."""
        return "\n".join(self._candidate or [])

    def commit(self, revert_in: int) -> None:
        """Arm the revert (job or watchdog, and the marker), then type the lines; undo at once if refused."""
        if not self._candidate:
            return
        if self.has_pending_commit():
            raise CommitError(self.device.name, "a change of egressctl's already waits for its confirm")
        self._marker.write(undo=self._undo, revert_in=revert_in)
        if self.remote is not None:
            self._arm_remote(revert_in)
        try:
            self.send_config(self._candidate)
        except DeviceError:
            self._undo_now()
            raise
        self._saved, self._committed = False, True
        if self.remote is None:
            self._watchdog.arm(revert_in)

    def _arm_remote(self, revert_in: int) -> None:
        assert self.remote is not None and self._secret is not None
        stamp = current_stamp()
        try:
            self.remote.arm_undo(max(revert_in, 1), self._secret,
                                 f"op={stamp.op_id} owner={stamp.owner}" if stamp else "op=- owner=-",
                                 self._undo)
        except DeviceError as exc:
            self._marker.clear()
            raise CommitError(self.device.name, f"the revert job could not be armed on {self.remote.name}; "
                              "not changing anything", exc.device_output or str(exc)) from exc

    def _undo_now(self) -> None:
        """Type the undo lines (leaving config mode first) and forget the armed net.

        A job that already ran to the end (``fired-ok``) has put the previous state back: typing the undo
        again would unbind and rebuild a slot for nothing, so nothing is typed then.
        """
        undo = self._undo or list((self._marker.read() or {}).get("undo", []))
        if self.remote is not None and self.remote.disarm().startswith("fired-ok"):
            undo = []
        with map_netmiko_errors(self.device.name, "end"):
            if self.conn.check_config_mode():
                self.conn.exit_config_mode()
        if undo:
            self._type_undo(r.undo_needed(self.device, self._read_back(), undo))
        self._marker.clear()
        self._committed = False

    def _type_undo(self, undo: list[str]) -> None:
        """Type the undo; a group the change never got to create is simply not there (not an error)."""
        body = [ln for ln in undo if not ln.startswith("no object-group ")]
        self.send_config(body)
        for line in undo[len(body):]:
            try:
                self.send_config([line])
            except CommandRejected as exc:
                if "not found" not in (exc.device_output or ""):
                    raise

    def confirm(self) -> None:
        """Disarm the job or the watchdog so the change stays, then save it (``write memory``)."""
        if self.remote is not None:
            try:
                found = self.remote.disarm()
            except DeviceError as exc:
                raise ConfirmError(self.device.name, f"the revert job on {self.remote.name} could not be "
                                   "disarmed", exc.device_output or str(exc)) from exc
            if found.startswith("fired"):
                self._marker.clear()
                raise ConfirmError(self.device.name, f"too late, the revert job on {self.remote.name} ran "
                                   f"({found})")
        elif not self._watchdog.cancel():  # not waiting: it fired, or nothing was armed here
            fired = self._watchdog.outcome
            if fired is not None or self._marker.read() is None:
                raise ConfirmError(self.device.name, f"too late, the watchdog fired: {fired}")
        self._marker.clear()
        P.save_confirmed(self.save, self.device.name, _log)  # a failure is left to ensure_saved, never undone

    def rollback(self) -> None:
        """Type the undo lines of the change that waits (from this session or the marker file)."""
        self._watchdog.cancel()
        if self.remote is not None and self._marker.read() is not None and self.remote.state() == "fired-ok":
            self._marker.clear()  # the job reverted it already (a resumed run finds it back)
            self._committed = False
            return
        if not self.has_pending_commit() and self._marker.read() is None:
            if not self._committed:  # nothing was typed: only the rendered lines go
                self.discard()
                return
            raise RollbackError(self.device.name, "no change of egressctl's waits for its confirm (already "
                                "confirmed or already reverted); apply the previous target instead")
        try:
            self._undo_now()
        except DeviceError as exc:
            raise RollbackError(self.device.name, "typing the undo lines failed",
                                exc.device_output or str(exc)) from exc

    def discard(self) -> None:
        """Forget the rendered lines (nothing is on the ASA before :meth:`commit`)."""
        self._candidate = None

    # -------------------------------------------------------------- persistence
    def save(self) -> None:
        """``write memory``; ``DeviceError`` unless the ASA answers ``[OK]``."""
        P.write_startup(self, p.SAVE_CMD, p.save_problem)
        self._saved = True

    def ensure_saved(self) -> str:
        """Save when egressctl's objects differ between running and startup (never while a revert waits)."""
        if self._saved or self.has_pending_commit():
            return ""
        if not p.differs(P.slow_show(self)):
            return ""
        self.save()
        return p.SAVED_NOTE

    # ----------------------------------------------------------------------- sessions
    def session_handling(self) -> SessionHandling:
        """Kept: the ASA checks an ACL at connection set-up only (a platform constant)."""
        return SessionHandling.KEPT

    def clear_sessions(self, policy: Policy, inside: Sequence[Network]) -> SessionReport:
        """End the connections from ``inside`` that ``policy`` denies (see :mod:`.sessions`)."""
        return asa_sessions.clear(lambda cmd: self.send(cmd, check=False), self.device, policy, inside)
