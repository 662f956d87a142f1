"""PAN-OS driver: security rules over netmiko's ``paloalto_panos`` class, with a guarded commit.

A standalone PAN-OS firewall has **no native dead-man switch** (Automated Commit Recovery only exists
for Panorama-managed firewalls). So this driver's safety net is ``GUARDED_SNAPSHOT``:

1. :meth:`snapshot` saves the configuration to a *named* file on the device (``save config to
   egressctl-snapshot.xml``; the name is journaled by the executor with the returned text);
2. :meth:`read_state` tells egressctl's own uncommitted candidate from anyone else's (:mod:`.candidate`):
   someone else's is reported as a pending change of :data:`~egressctl.driver.FOREIGN_CHANGE`, which
   the executor refuses to act on (exit 4) unless told to take over, and then only discards;
   :meth:`load_candidate` and :meth:`commit` refuse it too, so it never rides along with egressctl's commit;
3. :meth:`commit` **proves the management path in the candidate before committing** (the management
   rules must sit above every deny, and SSH to the device's own management address must be permitted
   there) and raises ``CommitError`` without committing when it cannot;
4. with the device option ``revert_host: NAME`` (a jump host of the site), a **revert job on that host**
   is armed before the commit (:mod:`.revertjob`): ``revert_in`` seconds later, unless :meth:`confirm`
   disarmed it, it logs in to the firewall and loads the snapshot + ``commit``, *even with the
   controller gone*. The job's ``armed`` file (op id and owner) is what makes the commit pending, for
   this controller and any other;
5. without one, a **controller-side watchdog thread** rolls back (``load config from`` the snapshot +
   ``commit``, on a fresh session) unless :meth:`confirm` arrives within ``revert_in`` seconds. It lives in
   the controller process: **a controller crash cannot trigger it.** What survives a crash is a
   controller-side marker file (``{state}/drivers/paloalto_panos/<device>-<where>.json``) that makes
   :meth:`has_pending_commit` answer True, so a resumed run rolls back or confirms explicitly.

:meth:`rollback` loads the snapshot only for a commit of egressctl's that is still armed (or this session's
own), and commits it only when it differs from the running configuration in egressctl's objects alone: a
stale snapshot never undoes what others committed since, and a candidate egressctl did not load is never
committed nor thrown away by a rollback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import ClassVar

from egressctl_drivers.common.marker import PendingMarker
from egressctl_drivers.common.reverthost import RevertHost, revert_host
from egressctl_drivers.common.session import EXPRESSES, NetmikoDriverBase
from egressctl_drivers.common.watchdog import Watchdog, rollback_on_fresh_session
from egressctl_drivers.paloalto_panos import constants as C
from egressctl_drivers.paloalto_panos import parse
from egressctl_drivers.paloalto_panos import revertjob as job
from egressctl_drivers.paloalto_panos import sessions as psessions
from egressctl_drivers.paloalto_panos.candidate import Candidate, compare
from egressctl_drivers.paloalto_panos.preflight import preflight as _preflight
from egressctl_drivers.paloalto_panos.render import management_problems
from egressctl_drivers.paloalto_panos.render import render as render_lines

from egressctl.driver import (
    FOREIGN_CHANGE,
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


class PaloAltoPanosDriver(NetmikoDriverBase):
    """One PAN-OS firewall (vsys1), driven through its CLI."""

    platform: ClassVar[str] = "paloalto_panos"
    netmiko_device_type: ClassVar[str] = "paloalto_panos"
    #: No NATIVE_REVERT: the rollback watchdog lives in the controller (see the module docstring).
    capabilities: ClassVar[frozenset[Capability]] = EXPRESSES | {Capability.SESSION_KILL}
    safety_net: ClassVar[SafetyNet] = SafetyNet.GUARDED_SNAPSHOT
    error_patterns: ClassVar[tuple[str, ...]] = C.ERROR_PATTERNS
    preflight = _preflight  # egressctl check: read-only vendor prerequisites (see .preflight)

    def __init__(self, device: Device, *, timeout: float = 30.0) -> None:
        super().__init__(device, timeout=timeout)
        self._policy: Policy | None = None
        self._secret: Secret | None = None
        self._marker = PendingMarker(self.platform, device)
        #: Written before a load and removed once it finished: a controller killed mid-load finds, on
        #: its re-run, an unstamped candidate of egressctl's objects alone that is its own partial load.
        self._loading = PendingMarker(f"{self.platform}-load", device)
        self._watchdog = Watchdog(self._marker, lambda: rollback_on_fresh_session(self, self._secret))
        self._committed = False  # this session committed a change (its snapshot is the state before it)
        host = revert_host(device)
        self.remote = RevertHost(device, host, timeout) if host is not None else None
        if self.remote is not None:
            # The job reverts without the controller: a native revert for this device only, so the planner
            # (which reads the instance) warns no more; the class keeps what every PAN-OS device has.
            self.__dict__["capabilities"] = type(self).capabilities | {Capability.NATIVE_REVERT}

    def net_description(self) -> NetDescription:
        """The revert job on the revert host when there is one, else the controller's watchdog."""
        if self.remote is None:
            return NetDescription(SafetyNet.GUARDED_SNAPSHOT, "the controller loads the snapshot and "
                                  "commits; a controller that is gone cannot (revert_host: a job that can)")
        return NetDescription(SafetyNet.REMOTE_JOB, f"a job on {self.remote.name} logs in to the firewall "
                              f"and loads {C.SNAPSHOT_FILE} + commit, also with the controller gone")
    # ----------------------------------------------------------------------- session
    def open(self, secret: Secret) -> None:
        """Open the session; the secret is kept (never shown) so the watchdog can open its own session."""
        self._secret = secret
        super().open(secret)

    def prepare(self) -> None:
        """Ask for ``set``-form output, then stay in configure mode for the whole session.

        netmiko's PAN-OS class detects the mode with a timing read (about 2 s) before and after every
        entry and exit of configure mode, so the driver enters once, by hand, and operational commands
        go through ``run``.
        """
        self.send(C.CMD_OUTPUT_FORMAT, check=False)
        self.send(C.CMD_CONFIGURE, expect_string=r"#", check=True)

    def _op(self, command: str) -> str:
        """An operational command from configure mode (``run ...``), without the ``[edit]`` line."""
        out = self.send(f"run {command}", check=False)
        return "\n".join(ln for ln in out.splitlines() if ln.strip() != "[edit]")

    def _config(self, lines: list[str]) -> None:
        self.send_config(lines, enter_config_mode=False, exit_config_mode=False)

    def close(self) -> None:
        """Leave configure mode and log out, then close. A running watchdog has its own session. Never raises.

        netmiko's own cleanup would spend two timing reads re-detecting the mode this driver already knows.
        """
        conn = self._conn
        if conn is not None:
            def leave(command: str = "exit") -> None:
                conn.write_channel(f"exit{conn.RETURN}{command}{conn.RETURN}")

            conn.cleanup = leave  # type: ignore[method-assign]
        if self.remote is not None:
            self.remote.close()
        super().close()

    # -------------------------------------------------------------------------- pure
    def render(self, policy: Policy, current: DeviceState | None = None) -> list[str]:
        """PAN-OS candidate lines from ``current`` to ``policy``."""
        return render_lines(self.device, policy, current)

    # --------------------------------------------------------------------- read-back
    def _diff(self) -> str:
        out = self._op(C.CMD_DIFF)
        return "" if not out.strip() or "no differences" in out.lower() else out

    def read_state(self) -> DeviceState:
        """Parse egressctl's rules (and the objects they use) back from the device.

        A candidate egressctl loaded but never committed is pending too: its stamp (not the running
        configuration's) says whose it is. A candidate egressctl did not load (see :mod:`.candidate`) is
        pending under :data:`~egressctl.driver.FOREIGN_CHANGE`, its owner saying what it holds: the
        executor refuses to act on it, so neither a commit nor a rollback of egressctl's can touch it.
        """
        running = self._op(C.CMD_RUNNING)
        state = parse.device_state(running)
        armed, cand = self._armed(), self._candidate(running)
        op_id, owner = state.op_id, state.owner
        if cand.foreign:
            op_id, owner = FOREIGN_CHANGE, cand.describe()
        elif not cand.empty and not armed:
            candidate = parse.device_state(self._op(C.CMD_CANDIDATE))
            op_id, owner = candidate.op_id, candidate.owner
        return DeviceState(state.target, state.fingerprint, state.rules, armed or not cand.empty, state.raw,
                           op_id, owner)

    def _candidate(self, running: str | None = None) -> Candidate:
        """What the shared candidate holds beyond the running configuration (one read when nothing)."""
        if not self._diff():
            return Candidate((), (), (), False)
        cand = compare(running if running is not None else self._op(C.CMD_RUNNING),
                       self._op(C.CMD_CANDIDATE))
        if cand.foreign and not cand.outside and self._loading.read() is not None:
            # Only egressctl's objects, unstamped, while this controller's own load never finished (it was
            # killed before the stamped rules were set): a partial load of its own, never someone else's.
            return Candidate(cand.changed, (), (), True)
        return cand

    def _armed(self) -> bool:
        """A commit waits for its confirm: the revert job is armed (or, without one, our marker file)."""
        if self.remote is not None:
            return self.remote.state().startswith("armed")
        return self._marker.read() is not None

    def snapshot(self) -> str:
        """Save the configuration to ``egressctl-snapshot.xml`` on the device and return it as text."""
        if self._diff():
            raise CommitError(self.device.name, "the candidate holds uncommitted changes; refusing to "
                              "snapshot them as the state to return to")
        self._config([C.CMD_SAVE])
        return f"# saved on the device as {C.SNAPSHOT_FILE}\n" + self._op(C.CMD_RUNNING)

    def has_pending_commit(self) -> bool:
        """Uncommitted candidate changes, or a commit egressctl made that is not confirmed yet."""
        return bool(self._diff()) or self._armed()

    # --------------------------------------------------------------------- lifecycle
    def load_candidate(self, policy: Policy, current: DeviceState) -> None:
        """Save the snapshot file, then set the rendered lines in the candidate (inert until commit)."""
        if self._diff():
            raise CommandRejected(self.device.name, "the candidate already holds uncommitted changes "
                                  "egressctl did not make; commit or revert them first")
        self._policy = policy
        lines = self.render(policy, current)
        if lines:
            # The named snapshot is always the state right before *this* change (candidate == running).
            self._loading.write(target=policy.target)
            try:
                self._config([C.CMD_SAVE, *lines])
                self._loading.clear()
            except DeviceError:
                # Lines sent before the rejected one sit in the shared candidate: take them out again
                # (a lost session leaves them to the next run, which finds a candidate of egressctl's).
                with contextlib.suppress(DeviceError):
                    self.discard()
                raise

    def diff(self) -> str:
        """``show config diff``: the candidate against the running configuration."""
        return self._diff()

    def guard(self) -> list[str]:
        """Problems that make the candidate unsafe to commit (empty when the management path is proved)."""
        policy = self._policy or Policy("", "normal", ())
        return management_problems(self.device, policy, parse.parse_config(self._op(C.CMD_CANDIDATE)))

    def commit(self, revert_in: int) -> None:
        """Prove the management path in the candidate, commit, and arm the controller-side watchdog."""
        cand = self._candidate()
        if cand.empty:
            return
        if cand.outside:
            raise CommitError(self.device.name, "refusing to commit: " + cand.describe())
        problems = self.guard()
        if problems:
            self.discard()
            raise CommitError(self.device.name, "refusing to commit: the candidate would cut the "
                              "management path (" + "; ".join(problems) + ")")
        target = self._policy.target if self._policy else "unknown"
        if self.remote is not None:
            self._arm_remote(revert_in)
        else:
            self._marker.write(target=target, snapshot=C.SNAPSHOT_FILE, revert_in=revert_in)
        try:
            self._commit_now()
        except CommitError:  # refused by the device: nothing changed (a lost session keeps the net armed)
            self._disarm()
            raise
        self._committed = True
        if self.remote is None:
            self._watchdog.arm(revert_in)

    def _arm_remote(self, revert_in: int) -> None:
        """Arm the revert job before committing; without it there is no commit (the plan promised it)."""
        assert self.remote is not None and self._secret is not None
        stamp = current_stamp()
        armed = f"op={stamp.op_id} owner={stamp.owner}" if stamp else "op=- owner=-"
        try:
            self.remote.arm_files(job.files(self.device, max(revert_in, 1), self._secret, armed))
        except DeviceError as exc:
            raise CommitError(self.device.name, f"the revert job could not be armed on {self.remote.name}; "
                              "not committing", exc.device_output or str(exc)) from exc

    def _disarm(self) -> str:
        """Remove the armed net (job or marker); returns what the job had done (was-armed, fired-ok...)."""
        self._marker.clear()
        return self.remote.disarm() if self.remote is not None else "was-armed"

    def _commit_now(self) -> None:
        out = self.send("commit", read_timeout=max(self.timeout, C.COMMIT_TIMEOUT), check=False)
        if "configuration committed successfully" not in out.lower():
            m = C.COMMIT_FAILED_RE.search(out)
            raise CommitError(self.device.name, "commit failed", m.group(0) if m else out[-500:])

    def confirm(self) -> None:
        """Disarm the job or the watchdog so the commit stays (``ConfirmError`` if it already rolled back)."""
        if self.remote is not None:
            try:
                found = self._disarm()
            except DeviceError as exc:
                raise ConfirmError(self.device.name, f"the revert job on {self.remote.name} could not be "
                                   "disarmed", exc.device_output or str(exc)) from exc
            if found.startswith("fired"):
                raise ConfirmError(self.device.name, f"too late, the revert job on {self.remote.name} ran "
                                   f"({found})")
            return
        if not self._watchdog.cancel() and self._watchdog.outcome is not None:
            raise ConfirmError(self.device.name, f"too late, the watchdog fired: {self._watchdog.outcome}")
        self._marker.clear()

    def rollback(self) -> None:
        """Undo egressctl's change: ``load config from egressctl-snapshot.xml`` and commit it.

        Only a commit of egressctl's that waits for its confirm (armed job or marker) or this session's
        own commit is rolled back from the snapshot; otherwise the snapshot may be stale and only a
        candidate egressctl loaded is thrown away (``revert config``), and anyone else's is refused. The
        loaded snapshot is committed only when it differs from the running configuration in egressctl's
        objects alone: anything else was committed since the snapshot was saved, and is never undone.
        """
        self._watchdog.cancel()  # its rollback runs on an instance of its own: never a self-deadlock
        try:
            if not (self._committed or self._armed()):
                self._drop_own_candidate()
                return
            if self.remote is not None:
                self.remote.disarm()  # it must not load the snapshot again later
            self._config([C.CMD_LOAD])
            back = self._candidate()
            if back.outside:
                self.discard()
                raise RollbackError(self.device.name, f"{C.SNAPSHOT_FILE} is stale: it would also undo "
                                    "changes committed since it was saved; not committed",
                                    "; ".join(back.outside[:4]))
            if not back.empty:
                self._commit_now()
        except RollbackError:
            raise
        except DeviceError as exc:
            raise RollbackError(self.device.name, f"rollback from {C.SNAPSHOT_FILE} failed",
                                exc.device_output or str(exc)) from exc
        self._committed = False
        self._marker.clear()

    def _drop_own_candidate(self) -> None:
        """No commit of egressctl's waits: discard a candidate it loaded, refuse anyone else's."""
        cand = self._candidate()
        if cand.foreign:
            raise RollbackError(self.device.name, "refusing to roll back: " + cand.describe())
        if not cand.empty:
            self.discard()
        self._marker.clear()

    def discard(self) -> None:
        """``revert config``: throw the uncommitted candidate away."""
        self._config([C.CMD_REVERT])
        self._loading.clear()

    # ----------------------------------------------------------------------- sessions
    def session_handling(self) -> SessionHandling:
        """Rematch Sessions: re-checked on commit by default, kept with ``rematch-sessions no``."""
        return psessions.handling(self._op)

    def clear_sessions(self, policy: Policy, inside: Sequence[Network]) -> SessionReport:
        """End the sessions from ``inside`` that ``policy`` denies (see :mod:`.sessions`)."""
        return psessions.clear(self._op, self.device, policy, inside)
