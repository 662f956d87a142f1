"""The probe matrix: what each vantage point must see, derived from the neutral policy of the target.

For every vantage point and each family it has an address in:

* every canary port (TCP SYN per TCP port, a UDP datagram per UDP port, an ICMP echo), and
* one host of every destination the target allows (always-allowed flows and the allows of the stages up
  to the target): a canary address inside the prefix when there is one (it is known to answer), otherwise
  the prefix's first host, on the flow's first port of each range (ICMP echo for protocol any/icmp).

The *expected* outcome of each probe is not guessed from which list it came from: it is the exact verdict
of VERIFY-A's compiled policy on that very packet (a canary that a stage happens to allow is expected
reachable). Management paths are not probed here: the engine checks them over SSH on every device.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from egressctl.inventory.models import Flow, Network, Site, VantagePoint
from egressctl.policy import compute_policy
from egressctl.verify.matcher import LEAK, NOT_SUBJECT, CompiledPolicy
from egressctl.verify.probe.records import Probe
from egressctl.verify.probe.wire import Proto

Expected = Literal["blocked", "reachable"]
EPHEMERAL_PORT = 40000  # the policy never depends on it, but the matcher wants a source port


@dataclass(frozen=True)
class Cell:
    """One planned probe of the matrix and what the policy expects of it."""

    vantage: str
    exit: str
    family: int
    src: str
    dst: str
    proto: Proto
    port: int
    purpose: str
    expected: Expected
    rule: str | None

    def probe(self, index: int) -> Probe:
        """The probe that tests this cell."""
        return Probe(f"{self.vantage}:{index}", self.family, self.proto, self.dst, self.port, self.src, True)

    @property
    def path(self) -> str:
        """``src -> dst proto/port`` for reports."""
        what = "icmp echo" if self.proto == "icmp" else f"{self.proto}/{self.port}"
        return f"{self.src} -> {self.dst} {what}"


def flows_for(site: Site, target: str) -> list[Flow]:
    """Allowed flows at ``target`` (``normal`` opens everything, so every flow must work there too)."""
    if target == "isolated":
        stages = []
    elif target == "normal":
        stages = site.stages
    else:
        stages = site.stages[: site.stage_index(target) + 1]
    return [*site.always_allowed, *(f for s in stages for f in s.allow)]


def pick_host(net: Network, site: Site) -> str:
    """A host of ``net`` to probe: a canary inside it (known to answer), else the first host."""
    for c in site.canaries:
        if c.address in net:
            return str(c.address)
    if net.num_addresses <= 2:
        return str(net.network_address)
    return str(net.network_address + 1)


def _targets(site: Site, target: str) -> list[tuple[str, str, Proto, int]]:
    """(purpose, destination, protocol, port) to probe, before choosing sources and expectations."""
    out: list[tuple[str, str, Proto, int]] = []
    for c in site.canaries:
        out += [(f"canary:{c.name}", str(c.address), "tcp", p) for p in c.tcp]
        out += [(f"canary:{c.name}", str(c.address), "udp", p) for p in c.udp]
        if c.icmp:
            out.append((f"canary:{c.name}", str(c.address), "icmp", 0))
    for f in flows_for(site, target):
        for net in f.destinations:
            host = pick_host(net, site)
            if f.protocol in ("tcp", "udp"):
                ports = [r.first for r in f.ports] or [443 if f.protocol == "tcp" else 53]
                out += [(f"allowed:{f.name}", host, f.protocol, p) for p in ports]
            else:
                out.append((f"allowed:{f.name}", host, "icmp", 0))
    return out


def _sources(vp: VantagePoint) -> dict[int, str]:
    src: dict[int, str] = {}
    for a in vp.addresses:
        src.setdefault(a.version, str(a))
    return src


def build_matrix(site: Site, target: str, compiled: CompiledPolicy | None = None) -> dict[str, list[Cell]]:
    """Cells per vantage point for ``site`` at ``target`` (raises PolicyError for an unknown target)."""
    cp = compiled or CompiledPolicy.compile(compute_policy(site, target), site)
    wanted = _targets(site, target)
    out: dict[str, list[Cell]] = {}
    for vp in site.vantage_points:
        cells: dict[tuple[str, str, int], Cell] = {}
        for purpose, dst, proto, port in wanted:
            family = ipaddress.ip_address(dst).version
            src = _sources(vp).get(family)
            if src is None or (dst, proto, port) in cells:
                continue
            code = cp.code(family, proto, src, dst, EPHEMERAL_PORT, port)
            if code == NOT_SUBJECT:
                continue
            expected: Expected = "blocked" if code == LEAK else "reachable"
            rule = cp.describe(code) if code >= 0 else None
            cells[(dst, proto, port)] = Cell(vp.name, vp.exit, family, src, dst, proto, port, purpose,
                                             expected, rule)
        out[vp.name] = list(cells.values())
    return out
