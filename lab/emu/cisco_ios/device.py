"""The IOS router's shared state: running/startup config, archive, and the confirmed-change timer.

IOS applies every configuration line at once, so after each change the running config is compiled and
pushed to the data plane. ``configure terminal revert timer N`` (needs ``archive`` / ``path``) archives
the running config and arms a timer; unless ``configure confirm`` arrives in time, the archived config is
restored (and enforced) when the timer expires on the device clock.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec
from egressctl_lab.emu.cisco_ios import compile as nft
from egressctl_lab.emu.cisco_ios import constants as c
from egressctl_lab.emu.cisco_ios import switch
from egressctl_lab.emu.cisco_ios.generic import Block
from egressctl_lab.emu.cisco_ios.model import Config, Interface

if TYPE_CHECKING:
    from egressctl_lab.emu.cisco_ios.cli import IosSession


@dataclass
class PendingRevert:
    """A confirmed change in progress."""

    snapshot: Config
    archive_file: str
    deadline: float
    minutes: int
    cancel: Callable[[], None]


class IosDevice:
    """State shared by every session of one emulated IOS router."""

    keyboard_interactive = False

    def __init__(self, spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> None:
        self.spec = spec
        self.clock = clock
        self.dataplane = dataplane
        self.running = baseline(spec)
        self.startup = copy.deepcopy(self.running)
        self.archive_files: list[str] = []
        self.pending: PendingRevert | None = None
        self.reverts = 0
        self.booted = clock.now()
        self._applied: str | None = None

    def privilege(self, username: str) -> int:
        """The privilege level ``username NAME privilege N`` gives (1 when absent): vty login is local."""
        for block in self.running.extra:
            words = block.words()
            if words[:2] == ("username", username.lower()) and "privilege" in words:
                value = words[words.index("privilege") + 1] if words[-1] != "privilege" else "1"
                return int(value) if value.isdigit() else 1
        return 1

    def new_session(self, username: str) -> IosSession:  # noqa: D102
        from egressctl_lab.emu.cisco_ios.cli import IosSession

        return IosSession(self, username)

    def ruleset(self) -> str:  # noqa: D102
        return nft.ruleset(self.running)

    def changed(self) -> None:
        """Running config changed: enforce it now if the compiled rules differ (IOS is live per line)."""
        text = self.ruleset()
        if text != self._applied:
            self._applied = text
            try:
                self.dataplane.apply(text)
            except Exception as exc:  # the data plane must never take the CLI down
                print(f"egressctl-emu: {self.spec.name}: apply failed: {type(exc).__name__}", file=sys.stderr)

    # -- confirmed change ---------------------------------------------------------------------------
    def archive(self) -> str:
        """Write the running config to the next archive file; returns its name."""
        stamp = time.strftime("%b-%d-%H-%M-%S", time.gmtime(self.clock.now()))
        name = f"{self.running.archive_path}-{stamp}-{len(self.archive_files)}"
        self.archive_files.append(name)
        del self.archive_files[: max(0, len(self.archive_files) - self.running.archive_max)]
        return name

    def start_revert(self, minutes: int) -> None:
        """Arm (or re-arm) the rollback timer; the snapshot is taken only when none is pending."""
        if self.pending is not None:
            self.pending.cancel()
            snapshot, name = self.pending.snapshot, self.pending.archive_file
        else:
            snapshot, name = copy.deepcopy(self.running), self.archive()
        cancel = self.clock.call_later(minutes * 60, self.revert_now)
        self.pending = PendingRevert(snapshot, name, self.clock.now() + minutes * 60, minutes, cancel)

    def confirm(self) -> bool:
        """Keep the changes; False when nothing was pending."""
        if self.pending is None:
            return False
        self.pending.cancel()
        self.pending = None
        return True

    def revert_now(self) -> None:
        """Restore the archived configuration (timer expiry or ``configure revert now``)."""
        if self.pending is None:
            return
        self.pending.cancel()
        self.running = self.pending.snapshot
        self.pending = None
        self.reverts += 1
        self.changed()


def baseline(spec: DeviceSpec) -> Config:
    """Interfaces from the spec with descriptions, no ACLs: the router forwards everything.

    With the spec option ``switch``, a Catalyst: switch ports, routed uplinks and SVIs (:mod:`.switch`).

    The user logs in at privilege 15 with no enable secret (``login local``), unless the spec's option
    ``privilege`` says 1: then the enable secret is the login password (the enable dialog path).
    """
    cfg = Config(hostname=spec.hostname)
    level = spec.options.get("privilege", "15")
    cfg.extra = [Block(line) for line in c.BASELINE_LINES]
    cfg.extra.insert(4, Block(f"username {spec.username} privilege {level} secret 9 {c.FAKE_SECRET_HASH}"))
    if level != "15":
        cfg.enable_secret = spec.password
        cfg.extra.insert(3, Block(f"enable secret 9 {c.FAKE_SECRET_HASH}"))
    cfg.extra += [Block("line con 0"), Block("line vty 0 4", ["login local", "transport input ssh"])]
    for vendor, kernel in spec.interfaces.items():
        desc = spec.options.get(f"description:{vendor}", f"link {kernel}" if kernel else "")
        cfg.interfaces[vendor] = Interface(vendor, kernel, desc)
    if switch.enabled(spec):
        switch.apply_baseline(cfg, spec)
    return cfg
