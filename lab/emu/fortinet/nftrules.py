"""Neutral firewall match -> nftables rule text, shared by the zone/interface-based personalities.

FortiOS policies and PAN-OS security rules both reduce to "ingress interfaces, egress interfaces, source
networks, destination networks, layer-4 services, verdict", evaluated first-match in a stateful forward
chain. Only that reduction lives here; which vendor object means what stays in each personality.
Anonymous nft sets refuse overlapping intervals, so networks and port ranges are merged first.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from egressctl_lab.emu.sessions import Flow

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: IP protocol numbers of the conntrack protocol names (a service may name a protocol by number).
PROTO_NUMBERS = {"icmp": "1", "tcp": "6", "udp": "17", "icmpv6": "58", "sctp": "132"}


@dataclass(frozen=True)
class L4:
    """One layer-4 service: ``proto`` None means any protocol; empty ports mean any port."""

    proto: str | None = None  # "tcp" | "udp" | "sctp" | "icmp" | "icmpv6" | None
    dports: tuple[tuple[int, int], ...] = ()
    sports: tuple[tuple[int, int], ...] = ()


ANY_L4 = L4()


@dataclass(frozen=True)
class Match:
    """A first-match rule; ``None`` for a field means "any"."""

    iifs: tuple[str, ...] | None
    oifs: tuple[str, ...] | None
    src: tuple[Network, ...] | None
    dst: tuple[Network, ...] | None
    services: tuple[L4, ...] = (ANY_L4,)
    verdict: str = "accept"  # "accept" | "drop" | "reset"
    comment: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def networks_from_range(start: str, end: str) -> list[Network]:
    """Networks covering an inclusive address range (for FortiOS/PAN-OS ``iprange`` objects)."""
    first, last = ipaddress.ip_address(start), ipaddress.ip_address(end)
    if isinstance(first, ipaddress.IPv4Address) and isinstance(last, ipaddress.IPv4Address) and first <= last:
        return list(ipaddress.summarize_address_range(first, last))
    if isinstance(first, ipaddress.IPv6Address) and isinstance(last, ipaddress.IPv6Address) and first <= last:
        return list(ipaddress.summarize_address_range(first, last))
    raise ValueError(f"bad range {start}-{end}")


def _collapse(nets: Iterable[Network], version: int) -> list[Network]:
    if version == 4:
        return list(ipaddress.collapse_addresses(n for n in nets if isinstance(n, ipaddress.IPv4Network)))
    return list(ipaddress.collapse_addresses(n for n in nets if isinstance(n, ipaddress.IPv6Network)))


def _merge_ports(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _set(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _ports(ranges: Iterable[tuple[int, int]]) -> str:
    return _set([str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in _merge_ports(ranges)])


def _ifaces(names: tuple[str, ...]) -> str:
    return _set([f'"{n}"' for n in sorted(set(names))])


def _l4_expr(l4: L4, family: int | None) -> str | None:
    """The nft expression for one service, or None when it cannot match ``family``."""
    if l4.proto is None:
        return ""
    if (l4.proto == "icmp" and family == 6) or (l4.proto == "icmpv6" and family == 4):
        return None
    proto = "ipv6-icmp" if l4.proto == "icmpv6" else l4.proto
    if not l4.dports and not l4.sports:
        return f"meta l4proto {proto}"
    parts = [f"meta l4proto {proto}"]
    if l4.sports:
        parts.append(f"th sport {_ports(l4.sports)}")
    if l4.dports:
        parts.append(f"th dport {_ports(l4.dports)}")
    return " ".join(parts)


def _verdicts(verdict: str) -> list[str]:
    if verdict == "reset":
        return ["meta l4proto tcp reject with tcp reset", "drop"]
    return [verdict]


def _addr_expr(family: int, direction: str, nets: list[Network]) -> str:
    key = "ip" if family == 4 else "ip6"
    return f"{key} {direction} {_set([str(n) for n in nets])}"


def _families(m: Match) -> list[tuple[int | None, list[str]]]:
    """Per address family, the address matches; a family the rule cannot match is left out."""
    if m.src is None and m.dst is None:
        return [(None, [])]
    out: list[tuple[int | None, list[str]]] = []
    for family in (4, 6):
        exprs: list[str] = []
        ok = True
        for direction, nets in (("saddr", m.src), ("daddr", m.dst)):
            if nets is None:
                continue
            chosen = _collapse(nets, family)
            full = ipaddress.ip_network("0.0.0.0/0" if family == 4 else "::/0")
            if not chosen:
                ok = False
            elif chosen != [full]:
                exprs.append(_addr_expr(family, direction, chosen))
            else:
                exprs.append("meta nfproto ipv4" if family == 4 else "meta nfproto ipv6")
        if ok:
            specific = [e for e in exprs if not e.startswith("meta nfproto")]
            out.append((family, specific or exprs[:1]))
    return out


def render(match: Match) -> list[str]:
    """The nft rule lines (inside a chain) for one first-match rule; empty when it can match nothing."""
    head: list[str] = []
    if match.iifs is not None:
        if not match.iifs:
            return []
        head.append(f"iifname {_ifaces(match.iifs)}")
    if match.oifs is not None:
        if not match.oifs:
            return []
        head.append(f"oifname {_ifaces(match.oifs)}")
    lines: list[str] = []
    comment = f' comment "{_clean(match.comment)}"' if match.comment else ""
    for family, addr in _families(match):
        for l4 in match.services:
            l4e = _l4_expr(l4, family)
            if l4e is None:
                continue
            body = " ".join(x for x in [*head, *dict.fromkeys(addr), l4e] if x)
            for verdict in _verdicts(match.verdict):
                lines.append(f"{body} {verdict}{comment}".strip())
    return lines


def _clean(text: str) -> str:
    return "".join(c for c in text if c.isalnum() or c in " -_.:/=")[:120]


def forward_chain(rules: Iterable[str], *, tail: Iterable[str] = ()) -> str:
    """A stateful forward chain: established/related traffic passes, then rules, then the implicit deny."""
    body = [
        "chain forward {",
        "type filter hook forward priority filter; policy drop;",
        "ct state established,related accept",
        "ct state invalid drop",
        *rules,
        *tail,
        "}",
    ]
    return "\n".join(("  " if i in (0, len(body) - 1) else "    ") + line for i, line in enumerate(body))


def matches_flow(m: Match, flow: Flow, iif: str, oif: str) -> bool:
    """Whether rule ``m`` covers ``flow`` entering by ``iif`` and leaving by ``oif`` (kernel interface names).

    The same reading of a :class:`Match` as :func:`render`'s, so re-checking an established session after a
    policy change decides exactly what the new ruleset would decide for its first packet.
    """
    if (m.iifs is not None and iif not in m.iifs) or (m.oifs is not None and oif not in m.oifs):
        return False
    src, dst = ipaddress.ip_address(flow.src), ipaddress.ip_address(flow.dst)
    if not (_holds(m.src, src) and _holds(m.dst, dst)):
        return False
    return any(_service_matches(l4, flow) for l4 in m.services)


def _holds(nets: tuple[Network, ...] | None, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return nets is None or any(n.version == addr.version and addr in n for n in nets)


def _in(ranges: tuple[tuple[int, int], ...], port: int | None) -> bool:
    return not ranges or (port is not None and any(lo <= port <= hi for lo, hi in ranges))


def _service_matches(l4: L4, flow: Flow) -> bool:
    if l4.proto is None:
        return True
    proto = "icmpv6" if flow.proto in ("icmpv6", "ipv6-icmp") else flow.proto
    if l4.proto != proto and l4.proto != PROTO_NUMBERS.get(proto, proto):
        return False
    if proto in ("icmp", "icmpv6"):
        return True
    return _in(l4.dports, flow.dport) and _in(l4.sports, flow.sport)
