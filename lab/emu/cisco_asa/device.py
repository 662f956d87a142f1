"""The ASA's shared state: running and startup configuration, enforced at every line.

The ASA applies each configuration line as it is entered and has no commit, no candidate and no timer of
its own: an unconfirmed change stays until someone undoes it (the reason egressctl arms a revert job on
another host). ``write memory`` copies the running configuration to the startup configuration; a reload
(``reload noconfirm``) boots from it again, dropping every unsaved change and every connection.
"""

from __future__ import annotations

import copy
import sys

from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec
from egressctl_lab.emu.cisco_asa import compile as nft
from egressctl_lab.emu.cisco_asa.cli import AsaSession
from egressctl_lab.emu.cisco_asa.model import Config, baseline


class AsaDevice:
    """State shared by every CLI session of one emulated ASA."""

    keyboard_interactive = False

    def __init__(self, spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> None:
        self.spec = spec
        self.clock = clock
        self.dataplane = dataplane
        self.running: Config = baseline(spec)
        self.startup: Config = copy.deepcopy(self.running)
        self.booted = clock.now()
        self.modified_by = "enable_15"
        self.reloads = 0
        self._applied: str | None = None

    def new_session(self, username: str) -> AsaSession:  # noqa: D102
        return AsaSession(self, username)

    def ruleset(self) -> str:  # noqa: D102
        return nft.ruleset(self.running)

    def changed(self, user: str = "") -> None:
        """The running config changed: enforce it now when the compiled rules differ."""
        self.modified_by = user or self.modified_by
        text = self.ruleset()
        if text != self._applied:
            self._applied = text
            try:
                self.dataplane.apply(text)
            except Exception as exc:  # the data plane must never take the CLI down
                print(f"egressctl-emu: {self.spec.name}: apply failed: {type(exc).__name__}", file=sys.stderr)

    def save(self) -> int:
        """``write memory``: the startup configuration becomes the running one; returns its size."""
        self.startup = copy.deepcopy(self.running)
        return len("\n".join(self.running.running()))

    def reload(self) -> None:
        """Boot from the startup configuration: unsaved changes and every connection are gone."""
        self.running = copy.deepcopy(self.startup)
        self.booted = self.clock.now()
        self.reloads += 1
        for flow in self.dataplane.sessions.flows():
            self.dataplane.sessions.delete(flow)
        self.changed()
