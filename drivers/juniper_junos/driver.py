"""``JuniperJunosDriver``: SRX firewalls through netmiko ``juniper_junos``; safety net = ``commit confirmed``.

Junos has a real candidate configuration, so the whole lifecycle maps onto the CLI: the lines are loaded
into the candidate (``send_config_set(exit_config_mode=False)``), ``show | compare`` is the diff,
``commit confirmed N`` arms the device's own rollback, a plain ``commit`` confirms, and ``rollback 1`` +
``commit`` undoes. Entering configuration mode over someone else's uncommitted changes is refused, since
committing would also commit theirs; uncommitted changes that are all egressctl's own (left by a controller
killed between load and commit) are discarded with ``rollback 0`` so the operation can resume.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from egressctl_drivers.common.errors import map_netmiko_errors
from egressctl_drivers.common.session import EXPRESSES, NetmikoDriverBase, whole_minutes
from egressctl_drivers.juniper_junos import constants as c
from egressctl_drivers.juniper_junos import render as r
from egressctl_drivers.juniper_junos import sessions as jsessions
from egressctl_drivers.juniper_junos.parse import (
    ParseError,
    commit_head,
    only_owned_changes,
    parse_state,
    pending_in,
)
from egressctl_drivers.juniper_junos.preflight import preflight as _preflight

from egressctl.driver import Capability, DeviceState, SafetyNet, SessionHandling, SessionReport
from egressctl.errors import CommitError, ConfirmError, DeviceError, RollbackError
from egressctl.inventory.models import Network
from egressctl.policy import Policy

_READ_BACK = (
    "show configuration security policies | display set",
    f"show configuration security address-book {c.ADDRESS_BOOK} | display set",
    f"show configuration applications | display set | match {c.PREFIX}",
)


_log = logging.getLogger(__name__)


def confirm_minutes(seconds: int) -> int:
    """``commit confirmed`` counts whole minutes: round ``seconds`` up, at least one."""
    return whole_minutes(seconds, c.CONFIRM_MIN_MINUTES, c.CONFIRM_MAX_MINUTES)


class JuniperJunosDriver(NetmikoDriverBase):
    """Juniper SRX security policies; see the module docstring for the commit model."""

    platform: ClassVar[str] = "juniper_junos"
    netmiko_device_type: ClassVar[str] = "juniper_junos"
    #: ``commit confirmed`` rolls back on the SRX itself; sessions end by ``session-identifier``.
    capabilities: ClassVar[frozenset[Capability]] = EXPRESSES | {Capability.SESSION_KILL,
                                                                  Capability.NATIVE_REVERT}
    safety_net: ClassVar[SafetyNet] = SafetyNet.NATIVE_CONFIRM
    error_patterns: ClassVar[tuple[str, ...]] = c.ERROR_PATTERNS
    preflight = _preflight  # egressctl check: read-only vendor prerequisites (see .preflight)

    _candidate: list[str] | None = None
    _committed: bool = False
    #: This session confirmed its commit: the confirming plain ``commit`` is one more history entry, so the
    #: configuration before egressctl's change is then ``rollback 2``, not ``rollback 1``.
    _confirmed: bool = False

    # ------------------------------------------------------------------ modes
    def _config_mode(self, *, drop_leftovers: bool = False) -> None:
        """Enter configuration mode; refuse a candidate holding someone else's uncommitted changes.

        With ``drop_leftovers``, a candidate whose uncommitted changes are all egressctl's own (what a
        controller killed between load and commit leaves in the shared candidate) is thrown away with
        ``rollback 0`` and the caller carries on: the caller is about to replace or undo it anyway. Only
        callers that have loaded nothing yet on this session pass it, so this never drops their own work.
        """
        with map_netmiko_errors(self.device.name, "configure"):
            if self.conn.check_config_mode():
                return
            out = self.conn.config_mode()
        if c.DIRTY_CANDIDATE not in out.lower():
            return
        if drop_leftovers and self._leftovers_are_ours():
            self.send_config(["rollback 0"], exit_config_mode=False, enter_config_mode=False)
            _log.info("%s: discarded egressctl's own uncommitted changes left by an interrupted run",
                      self.device.name)
            return
        self._operational()
        raise CommitError(self.device.name, "the candidate holds someone else's uncommitted changes",
                          device_output=out)

    def _leftovers_are_ours(self) -> bool:
        """True when the candidate differs from the committed configuration only in egressctl's objects.

        Compares the ``display set`` forms of both (in configuration mode: ``show`` is the candidate,
        ``run show configuration`` the committed one); see :func:`.parse.only_owned_changes`.
        """
        wait = max(self.timeout, 60)
        candidate = self.send(f"show {c.DISPLAY_SET}", read_timeout=wait, check=False)
        active = self.send(f"run show configuration {c.DISPLAY_SET}", read_timeout=wait, check=False)
        return only_owned_changes(self.device, active, candidate)

    def _operational(self) -> None:
        with map_netmiko_errors(self.device.name, "exit configuration-mode"):
            if self.conn.check_config_mode():
                self.conn.exit_config_mode()

    def _commit_cmd(self, what: str, error: type[DeviceError], *, drop_leftovers: bool = False,
                    **kw: object) -> str:
        self._config_mode(drop_leftovers=drop_leftovers)
        conn: Any = self.conn
        try:
            with map_netmiko_errors(self.device.name, what):
                # JuniperBase.commit takes read_timeout; BaseConnection's stub signature does not.
                out = str(conn.commit(read_timeout=max(self.timeout, 120), **kw))
        except ValueError as exc:
            late = self._late_commit_reply(conn, str(exc))
            if late is None:
                raise error(self.device.name, f"{what} failed", device_output=str(exc)) from exc
            out = late
        finally:
            self._operational()
        return out

    def _late_commit_reply(self, conn: Any, early: str) -> str | None:
        """The commit's real reply when netmiko returned on a stale prompt before it; None if it failed.

        While a ``commit confirmed`` is pending, Junos prints ``# commit confirmed will be rolled back in N
        minutes`` above every configuration prompt. A prompt still in flight when ``commit`` is typed
        satisfies netmiko's echo check (the banner contains the word "commit") and its prompt pattern, so
        ``commit()`` returns that stale prompt and reports a failure although the device is still
        committing. The device's own answer then follows on the channel: read it before deciding.
        """
        if any(re.search(p, early, re.M) for p in c.ERROR_PATTERNS):
            return None
        try:
            late = str(conn.read_until_pattern(pattern=c.COMMIT_REPLY_RE, re_flags=re.M,
                                               read_timeout=max(self.timeout, 120)))
        except Exception:  # no answer at all: report the original failure
            return None
        if c.COMMIT_COMPLETE not in late:
            return None
        with contextlib.suppress(Exception):
            conn.clear_buffer()
        return late

    # -------------------------------------------------------------- contract
    def render(self, policy: Policy, current: DeviceState | None = None) -> list[str]:
        """Junos ``set``/``delete``/``insert`` lines from ``current`` to ``policy`` ([] if already there)."""
        return r.render(self.device, policy, current)

    def read_state(self) -> DeviceState:
        """Parse egressctl's policies, addresses and applications from the committed configuration.

        The read-back is several commands, and a commit can land between them: above all the dead-man's
        own rollback of an unconfirmed ``commit confirmed``, which fires on the device's clock whoever is
        reading. Policies read before it and an address book or applications read after it do not fit
        together (a policy naming an address that is gone). So the read is taken between two looks at
        the commit history and taken again when its head moved; the pending flag comes from the second.
        """
        self._operational()
        before = self.send(c.CMD_COMMITS, check=False)
        for _ in range(c.READ_TRIES):
            raw = "\n".join(self.send(cmd) for cmd in _READ_BACK)
            after = self.send(c.CMD_COMMITS, check=False)
            if commit_head(after) == commit_head(before):
                break
            _log.info("%s: a commit landed during the read-back; reading again", self.device.name)
            before = after
        else:
            raise DeviceError(self.device.name, f"the configuration changed during each of {c.READ_TRIES} "
                              "read-backs (commits landing one after another)")
        try:
            return parse_state(self.device, raw, pending=pending_in(after))
        except (ParseError, ValueError, IndexError) as exc:
            raise DeviceError(self.device.name, f"cannot parse egressctl's configuration: {exc}") from exc

    def snapshot(self) -> str:
        """``show configuration | display set``."""
        self._operational()
        return self.send("show configuration | display set", read_timeout=max(self.timeout, 60))

    def load_candidate(self, policy: Policy, current: DeviceState) -> None:
        """Load the lines into the candidate (nothing takes effect before commit)."""
        self._candidate = self.render(policy, current)
        if not self._candidate:
            return
        self._config_mode(drop_leftovers=True)
        try:
            self.send_config(self._candidate, exit_config_mode=False, enter_config_mode=False)
        except DeviceError:
            self.discard()
            raise

    def diff(self) -> str:
        """``show | compare`` of the candidate against the running configuration."""
        if not self._candidate:
            return ""
        self._config_mode()
        return self.send("show | compare")

    def commit(self, revert_in: int) -> None:
        """``commit confirmed N`` (minutes, rounded up); Junos rolls back by itself unless confirmed."""
        if not self._candidate:
            return
        minutes = confirm_minutes(revert_in)
        self._commit_cmd("commit confirmed", CommitError, confirm=True, confirm_delay=minutes)
        self._committed = True

    def confirm(self) -> None:
        """A plain ``commit`` confirms; ``ConfirmError`` when none is pending (it already rolled back)."""
        if not self.has_pending_commit():
            raise ConfirmError(self.device.name, "no commit waiting for confirmation (already rolled back?)")
        # The candidate holds nothing of this session's (its change is committed): a leftover of egressctl's
        # own is dropped rather than confirmed along with the pending commit.
        out = self._commit_cmd("commit", ConfirmError, drop_leftovers=True)
        if c.COMMIT_COMPLETE not in out:
            raise ConfirmError(self.device.name, "commit did not complete", device_output=out)
        self._confirmed = True

    def rollback(self) -> None:
        """``rollback 1`` (2 once confirmed) + ``commit``: the configuration before the change."""
        if not (self._committed or self.has_pending_commit()):
            self.discard()
            return
        back = f"rollback {2 if self._confirmed else 1}"
        self._config_mode(drop_leftovers=True)
        try:
            self.send_config([back], exit_config_mode=False, enter_config_mode=False)
        except DeviceError as exc:
            raise RollbackError(self.device.name, f"{back} failed", exc.device_output) from exc
        self._commit_cmd("commit (rollback)", RollbackError)
        self._committed = self._confirmed = False

    def discard(self) -> None:
        """``rollback 0``: throw the uncommitted candidate away."""
        self._candidate = None
        if self._conn is None:
            return
        self._config_mode(drop_leftovers=True)
        self.send_config(["rollback 0"], exit_config_mode=False, enter_config_mode=False)
        self._operational()

    def has_pending_commit(self) -> bool:
        """True when ``show system commit`` lists a ``commit confirmed`` still waiting."""
        self._operational()
        return pending_in(self.send(c.CMD_COMMITS, check=False))

    # -------------------------------------------------------------- sessions
    def session_handling(self) -> SessionHandling:
        """Kept: SRX keeps established sessions, and ``policy-rematch`` does not re-check a cut's (read)."""
        self._operational()
        return jsessions.handling(self.send)[0]

    def clear_sessions(self, policy: Policy, inside: Sequence[Network]) -> SessionReport:
        """End the sessions from ``inside`` that ``policy`` denies (see :mod:`.sessions`)."""
        self._operational()
        return jsessions.clear(self.send, self.device, policy, inside)
