"""The EOS switch's shared state: running/startup config, configuration sessions and the commit timer.

``configure terminal`` changes the running config line by line (each change enforced at once).
``configure session NAME`` works on a copy instead; ``commit`` replaces the running config in one step
(one nft transaction), and ``commit timer hh:mm:ss`` does the same but keeps a checkpoint: unless the
session is committed again (``configure session NAME commit``) before the timer expires, the switch goes
back to the checkpoint by itself, without a reboot. ``abort`` throws a session away, and rolls back at
once when its commit timer is pending. While one session's timer is pending no other session may commit
(a stale pending session blocks commits, as the reference notes).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from egressctl_lab.emu.arista_eos import compile as nft
from egressctl_lab.emu.arista_eos import constants as c
from egressctl_lab.emu.arista_eos.model import Config, baseline
from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec

if TYPE_CHECKING:
    from egressctl_lab.emu.arista_eos.cli import EosSession


@dataclass
class ConfigSession:
    """A named configuration session; ``state`` as ``show configuration sessions`` prints it."""

    name: str
    user: str
    config: Config
    state: str = "pending"  # pending | pendingCommitTimer | completed | aborted
    checkpoint: Config | None = None
    deadline: float = 0.0
    cancel: Callable[[], None] = field(default=lambda: None, repr=False)


class EosDevice:
    """State shared by every CLI session of one emulated EOS switch."""

    keyboard_interactive = False

    def __init__(self, spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> None:
        self.spec = spec
        self.clock = clock
        self.dataplane = dataplane
        self.running = baseline(spec)
        self.startup = copy.deepcopy(self.running)
        self.sessions: dict[str, ConfigSession] = {}
        self.users: list[EosSession] = []
        self.rollbacks = 0
        self._applied: str | None = None
        self._vty = 1

    def new_session(self, username: str) -> EosSession:  # noqa: D102
        from egressctl_lab.emu.arista_eos.cli import EosSession

        self._vty += 1
        cli = EosSession(self, username, self._vty)
        self.users.append(cli)
        return cli

    def ruleset(self) -> str:  # noqa: D102
        return nft.ruleset(self.running)

    def changed(self) -> None:
        """The running config changed: enforce it now when the compiled rules differ."""
        text = self.ruleset()
        if text != self._applied:
            self._applied = text
            try:
                self.dataplane.apply(text)
            except Exception as exc:  # the data plane must never take the CLI down
                print(f"egressctl-emu: {self.spec.name}: apply failed: {type(exc).__name__}", file=sys.stderr)

    # -- sessions -----------------------------------------------------------------------------------
    def open_session(self, name: str, user: str) -> ConfigSession:
        """The session ``name``, created from the running config when it is new (or was completed)."""
        found = self.sessions.get(name)
        if found is None or found.state in ("completed", "aborted"):
            found = ConfigSession(name, user, copy.deepcopy(self.running))
            self.sessions[name] = found
        return found

    def timer_holder(self) -> ConfigSession | None:
        """The session whose commit timer is pending, if any."""
        return next((s for s in self.sessions.values() if s.state == "pendingCommitTimer"), None)

    def commit(self, sess: ConfigSession, timer: int | None) -> str:
        """Commit ``sess`` (``timer`` seconds: keep a checkpoint and arm the rollback); "" or an error."""
        holder = self.timer_holder()
        if holder is not None and holder is not sess:
            return c.TIMER_PENDING_ELSEWHERE.format(name=holder.name)
        if sess.state == "pendingCommitTimer":
            sess.cancel()
            if timer is None:  # the confirmation
                self._completed(sess)
                return ""
        else:
            sess.checkpoint = copy.deepcopy(self.running)
            self.running = copy.deepcopy(sess.config)
            self.changed()
            if timer is None:
                self._completed(sess)
                return ""
        sess.state = "pendingCommitTimer"
        sess.deadline = self.clock.now() + timer
        sess.cancel = self.clock.call_later(timer, lambda: self.expire(sess))
        return ""

    def _completed(self, sess: ConfigSession) -> None:
        """A committed session; EOS keeps the last ``MAX_COMPLETED`` of them listed."""
        sess.state, sess.checkpoint = "completed", None
        done = [n for n, s in self.sessions.items() if s.state == "completed" and s is not sess]
        for name in done[: max(0, len(done) + 1 - c.MAX_COMPLETED)]:
            del self.sessions[name]

    def expire(self, sess: ConfigSession) -> None:
        """The commit timer fired: back to the checkpoint, no reboot."""
        if sess.state != "pendingCommitTimer" or sess.checkpoint is None:
            return
        self.running, sess.checkpoint = sess.checkpoint, None
        sess.state = "aborted"
        self.sessions.pop(sess.name, None)  # rolled back: no longer listed [M]
        self.rollbacks += 1
        self.changed()

    def abort(self, sess: ConfigSession) -> None:
        """Throw the session away; a pending commit timer rolls back now."""
        if sess.state == "pendingCommitTimer":
            sess.cancel()
            self.expire(sess)
        sess.state = "aborted"
        self.sessions.pop(sess.name, None)

    def gone(self, cli: EosSession) -> None:
        """A CLI session ended (``show users`` forgets it)."""
        if cli in self.users:
            self.users.remove(cli)
