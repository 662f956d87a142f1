"""The SRX's shared state: active and candidate configurations, commit history, commit confirmed.

Junos has one shared candidate: every session edits it, and it survives leaving configuration mode.
Only ``commit`` changes the active configuration (and the data plane). ``commit confirmed N`` arms a
timer on the device clock; unless a later ``commit`` confirms, the previous configuration is committed
back when it fires, as Junos does.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec
from egressctl_lab.emu.juniper_junos import compile as nft
from egressctl_lab.emu.juniper_junos import constants as c
from egressctl_lab.emu.juniper_junos.flows import Verdict, rematch
from egressctl_lab.emu.juniper_junos.interfaces import stanza
from egressctl_lab.emu.juniper_junos.tree import Tree
from egressctl_lab.emu.sessions import Bindings, SessionIds

if TYPE_CHECKING:
    from egressctl_lab.emu.juniper_junos.cli import JunosSession


@dataclass
class Commit:
    """One entry of ``show system commit`` (index 0 = the active configuration)."""

    config: Tree
    when: float
    user: str
    how: str = "cli"
    comment: str = ""
    note: str = ""


@dataclass
class Confirm:
    """A commit confirmed waiting for its confirmation."""

    deadline: float
    cancel: Callable[[], None]


class JunosDevice:
    """State shared by every session of one emulated SRX."""

    keyboard_interactive = False

    def __init__(self, spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> None:
        self.spec = spec
        self.clock = clock
        self.dataplane = dataplane
        active = baseline(spec)
        self.history: list[Commit] = [Commit(active, clock.now(), "root", how="other")]
        self.candidate: Tree = copy.deepcopy(active)
        self.confirm: Confirm | None = None
        self.rollbacks = 0
        #: Session identifiers shown by ``show security flow session``; sessions closed by policy-rematch.
        self.session_ids = SessionIds(first=1)
        self.bound: Bindings[Verdict] = Bindings()
        self.rematched = 0

    @property
    def active(self) -> Tree:
        """The committed configuration in force."""
        return self.history[0].config

    @property
    def hostname(self) -> str:
        """``system host-name`` of the active configuration."""
        return str(self.active.get("system", {}).get("host-name", self.spec.hostname))

    def new_session(self, username: str) -> JunosSession:  # noqa: D102
        from egressctl_lab.emu.juniper_junos.cli import JunosSession

        return JunosSession(self, username)

    def ruleset(self) -> str:  # noqa: D102
        return nft.ruleset(self.active, self.spec.interfaces)

    def dirty(self) -> bool:
        """Whether the candidate differs from the active configuration."""
        return self.candidate != self.active

    def commit(self, user: str, comment: str = "", confirm_minutes: int | None = None) -> None:
        """Activate the candidate (check-out already passed); confirms any pending commit confirmed."""
        if self.confirm is not None:
            self.confirm.cancel()
            self.confirm = None
        note = ""
        if confirm_minutes is not None:
            deadline = self.clock.now() + confirm_minutes * 60
            cancel = self.clock.call_later(confirm_minutes * 60, self._expire)
            self.confirm = Confirm(deadline, cancel)
            note = f"commit confirmed, rollback in {confirm_minutes}mins"
        self._push(Commit(copy.deepcopy(self.candidate), self.clock.now(), user, comment=comment, note=note))

    def confirm_minutes_left(self) -> int | None:
        """Minutes before a pending commit confirmed rolls back (rounded up), or None."""
        if self.confirm is None:
            return None
        return max(1, int((self.confirm.deadline - self.clock.now()) / 60 + 0.999))

    def _expire(self) -> None:
        """The confirmation did not come: commit the previous configuration back."""
        self.confirm = None
        if len(self.history) < 2:
            return
        previous = copy.deepcopy(self.history[1].config)
        self._push(Commit(previous, self.clock.now(), "root", how="other"))
        self.candidate = copy.deepcopy(previous)
        self.rollbacks += 1

    def _push(self, entry: Commit) -> None:
        before = self.active
        self.history.insert(0, entry)
        del self.history[c.COMMIT_HISTORY_MAX:]
        try:
            self.dataplane.apply(self.ruleset())
            self.rematched += rematch(self.dataplane.sessions, before, self.active, self.spec.interfaces,
                                      self.bound)
        except Exception as exc:  # the data plane must never take the CLI down
            print(f"egressctl-emu: {self.spec.name}: apply failed: {type(exc).__name__}", file=sys.stderr)


def baseline(spec: DeviceSpec) -> Tree:
    """Interfaces and zones from the spec; policy ``trust-to-untrust`` permits everything trust -> untrust."""
    zones: Tree = {z: {"interfaces": {i: {} for i in itfs}} for z, itfs in spec.zones.items()}
    tree: Tree = {
        "system": {"host-name": spec.hostname, "services": {"ssh": True}},
        "security": {"zones": {"security-zone": zones}},
    }
    if spec.interfaces:
        tree["interfaces"] = stanza(spec.interfaces)
    if "trust" in zones and "untrust" in zones:
        tree["security"]["policies"] = {"from-zone": {"trust": {"to-zone": {"untrust": {"policy": {
            "trust-to-untrust": {
                "match": {"source-address": ["any"], "destination-address": ["any"], "application": ["any"]},
                "then": {"permit": True},
            }}}}}}}
    return tree
