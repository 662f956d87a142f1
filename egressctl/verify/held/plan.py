"""Which flows each vantage point holds open across a change, and what the target expects of each.

The flows are TCP and UDP cells of the probe matrix (:mod:`egressctl.verify.probe.matrix`), each judged
by the compiled policy of the target, so held sessions and probes can never disagree about what is denied.
A cell the target blocks must be *dead* after the change, one it allows must stay *alive*. Every allowed
cell is held (each one must survive); of the denied ones, one per destination and protocol: the matrix
already tries every port with new connections, and each held session is one more the devices must end
one by one (a CLI round trip each), which would only slow the cut's ``sessions`` step down.

A session can only be held if it can be opened before the change: when the site's current state is a
known target (``before``), cells that state already denies are left out (they would only delay the
change by the establish time, and there is nothing to survive). Each flow is named with its exit and that
exit's devices from the inventory, so a surviving session says where to look.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from egressctl.inventory.models import Site
from egressctl.policy import Policy
from egressctl.verify.matcher import LEAK, CompiledPolicy
from egressctl.verify.probe.matrix import EPHEMERAL_PORT, build_matrix

Expect = Literal["dead", "alive"]
MAX_PER_VANTAGE = 64


@dataclass(frozen=True)
class HeldFlow:
    """One flow a vantage point holds open: where it goes, over which exit, and what must become of it."""

    id: str
    vantage: str
    exit: str
    devices: tuple[str, ...]
    family: int
    proto: Literal["tcp", "udp"]
    src: str
    dst: str
    dport: int
    expect: Expect
    purpose: str

    def job(self) -> dict[str, Any]:
        """The flow as the agent's job lists it."""
        return {"id": self.id, "proto": self.proto, "family": self.family, "src": self.src, "dst": self.dst,
                "dport": self.dport}

    def describe(self, sport: int | None = None) -> str:
        """``vantage proto src:sport -> dst:dport via exit X (devices a, b)``."""
        src = f"{self.src}:{sport}" if sport else self.src
        return (f"{self.vantage} {self.proto} {src} -> {self.dst}:{self.dport} via exit {self.exit} "
                f"(devices {', '.join(self.devices) or 'none'})")


def exit_devices(site: Site, exit_name: str) -> tuple[str, ...]:
    """The inventory's devices on ``exit_name``, in inventory order."""
    return tuple(d.name for d in site.devices if d.exit == exit_name)


def plan_flows(site: Site, policy: Policy, before: Policy | None = None) -> dict[str, list[HeldFlow]]:
    """Held flows per vantage point for ``policy``'s target (see the module docstring).

    ``before``: the policy the site is at now, when known; flows it denies cannot be held and are left out.
    """
    after = CompiledPolicy.compile(policy, site)
    prior = CompiledPolicy.compile(before, site) if before is not None and not before.is_normal else None
    out: dict[str, list[HeldFlow]] = {}
    for vp, cells in build_matrix(site, policy.target, after).items():
        flows: list[HeldFlow] = []
        denied: set[tuple[str, str]] = set()
        for c in cells:
            if c.proto == "icmp" or len(flows) >= MAX_PER_VANTAGE or (c.dst, c.proto) in denied:
                continue
            if prior is not None and prior.code(c.family, c.proto, c.src, c.dst, EPHEMERAL_PORT,
                                                c.port) == LEAK:
                continue
            expect: Expect = "dead" if c.expected == "blocked" else "alive"
            if expect == "dead":
                denied.add((c.dst, c.proto))
            flows.append(HeldFlow(f"{vp}:{len(flows)}", vp, c.exit, exit_devices(site, c.exit), c.family,
                                  c.proto, c.src, c.dst, c.port, expect, c.purpose))
        if flows:
            out[vp] = flows
    return out
