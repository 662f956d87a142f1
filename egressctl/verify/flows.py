"""Leak flows and the beacon ranking: the shared vocabulary of the capture and the live watch reports.

A leak flow is the packets of one 5-tuple that left the site although the policy does not permit them; a
beacon is an inside host folded from its leak flows (blocked destinations it keeps trying, ranked). Both
the offline capture analysis and the live watch produce these, so they live here, in a leaf module.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}


@dataclass(frozen=True)
class LeakFlow:
    """Packets of one 5-tuple that left the site although the policy does not permit them."""

    family: int
    proto: int
    src: str
    dst: str
    sport: int
    dport: int
    packets: int
    bytes: int
    first_ns: int
    last_ns: int

    @property
    def proto_name(self) -> str:
        """``tcp``, ``udp``, ``icmp``, ``icmpv6`` or the protocol number."""
        return PROTO_NAMES.get(self.proto, str(self.proto))

    def key(self) -> tuple[int, str, str, str, int, int]:
        """The 5-tuple (with family), for comparisons with a ground truth."""
        return (self.family, self.proto_name, self.src, self.dst, self.sport, self.dport)


@dataclass(frozen=True)
class BeaconTarget:
    """One blocked destination (address, protocol, port) an inside host keeps trying."""

    dst: str
    proto: str
    dport: int
    packets: int
    flows: int
    first_ns: int
    last_ns: int


@dataclass(frozen=True)
class Beacon:
    """An inside host that tried to leave the site through blocked paths."""

    host: str
    packets: int
    flows: int
    destinations: int
    targets: list[BeaconTarget]


def beacons(flows: list[LeakFlow], *, top: int = 20) -> list[Beacon]:
    """Per inside host, the blocked targets it tried (``top`` per host), hosts ranked by packets."""
    by_host: dict[str, dict[tuple[str, str, int], list[int]]] = defaultdict(dict)
    for f in flows:
        tgt = by_host[f.src].setdefault((f.dst, f.proto_name, f.dport), [0, 0, f.first_ns, f.last_ns])
        tgt[0] += f.packets
        tgt[1] += 1
        tgt[2] = min(tgt[2], f.first_ns)
        tgt[3] = max(tgt[3], f.last_ns)
    out: list[Beacon] = []
    for host, tgts in by_host.items():
        items = sorted(tgts.items(), key=lambda kv: (-kv[1][0], kv[0]))
        out.append(Beacon(host, sum(v[0] for v in tgts.values()), sum(v[1] for v in tgts.values()),
                          len({k[0] for k in tgts}),
                          [BeaconTarget(k[0], k[1], k[2], *v) for k, v in items[:top]]))
    out.sort(key=lambda b: (-b.packets, b.host))
    return out
