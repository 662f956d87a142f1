"""The emulated PAN-OS firewall: running and candidate configurations, named snapshots, commit jobs.

PAN-OS changes nothing until ``commit``: every ``set``/``delete``/``move`` edits the shared candidate
(shared by all sessions, as on the box), and ``commit`` validates it and makes it the running
configuration, which is what the data plane enforces. There is no commit-confirm on a standalone
firewall, which is why a controller saves a named snapshot first (``save config to``) and rolls back
with ``load config from`` + ``commit``.
"""

from __future__ import annotations

import sys

from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec, Session
from egressctl_lab.emu.paloalto_panos import compile as pcompile
from egressctl_lab.emu.paloalto_panos import constants as C
from egressctl_lab.emu.paloalto_panos.model import PanConfig, baseline
from egressctl_lab.emu.paloalto_panos.sessions import rematch
from egressctl_lab.emu.sessions import SessionIds


def _zones(spec: DeviceSpec) -> dict[str, list[str]]:
    return {z: list(i) for z, i in spec.zones.items()} if spec.zones else dict(C.DEFAULT_ZONES)


class PanDevice:
    """State shared by every SSH session of one emulated PAN-OS firewall."""

    keyboard_interactive = True

    def __init__(self, spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> None:
        self.spec = spec
        self.clock = clock
        self.dataplane = dataplane
        zones = _zones(spec)
        names = list(zones)
        inside = C.DEFAULT_INSIDE if C.DEFAULT_INSIDE in zones else names[0]
        outside = C.DEFAULT_OUTSIDE if C.DEFAULT_OUTSIDE in zones else names[-1]
        inside = spec.options.get("inside_zone", inside)
        outside = spec.options.get("outside_zone", outside)
        self.running: PanConfig = baseline(zones, inside, outside)
        self.candidate: PanConfig = self.running.clone()
        self.snapshots: dict[str, PanConfig] = {}
        self.last_job = 1
        self.commits = 0
        #: Session ids shown by ``show session all``; sessions ended by Rematch Sessions.
        self.session_ids = SessionIds(first=100)
        self.rematched = 0

    # -- EmulatedDevice -------------------------------------------------------------------------------
    def new_session(self, username: str) -> Session:
        """Open a CLI session in operational mode."""
        from egressctl_lab.emu.paloalto_panos.cli import PanSession

        return PanSession(self, username)

    def ruleset(self) -> str:
        """The nft text enforcing the *running* configuration."""
        return pcompile.ruleset(self.running, self.spec.interfaces)

    # -- configuration lifecycle ---------------------------------------------------------------------
    @property
    def pending(self) -> bool:
        """True when the candidate differs from the running configuration."""
        return self.candidate != self.running

    def commit_seconds(self) -> float:
        """Real seconds a commit job takes (``spec.options["commit_seconds"]`` device seconds, scaled)."""
        return float(self.spec.options.get("commit_seconds", C.DEFAULT_COMMIT_SECONDS)) * self.clock.scale

    def commit(self) -> tuple[int, list[str]]:
        """Validate the candidate and make it running; returns (job id, validation errors)."""
        self.last_job += 1
        errors = pcompile.validate(self.candidate)
        if not errors:
            before = self.ruleset()
            self.running = self.candidate.clone()
            self.commits += 1
            self.dataplane.apply(self.ruleset())
            if self.ruleset() != before:
                self._rematch()
        return self.last_job, errors

    def _rematch(self) -> None:
        """Rematch Sessions: the committed rulebase meets the sessions established before it."""
        try:
            self.rematched += rematch(self.dataplane.sessions, self.running, self.spec.interfaces)
        except Exception as exc:  # the session table must never take the CLI down
            print(f"egressctl-emu: {self.spec.name}: rematch failed: {type(exc).__name__}", file=sys.stderr)

    def save(self, name: str) -> None:
        """``save config to NAME``: snapshot the candidate under ``name``."""
        self.snapshots[name] = self.candidate.clone()

    def load(self, name: str) -> bool:
        """``load config from NAME``: candidate := snapshot (``running-config.xml`` = running)."""
        if name == "running-config.xml":
            self.candidate = self.running.clone()
            return True
        if name not in self.snapshots:
            return False
        self.candidate = self.snapshots[name].clone()
        return True

    def revert(self) -> None:
        """``revert config``: candidate := running."""
        self.candidate = self.running.clone()


def create(spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> PanDevice:
    """Personality factory (registered as ``paloalto_panos`` in :mod:`egressctl_lab.emu.registry`)."""
    return PanDevice(spec, clock, dataplane)
