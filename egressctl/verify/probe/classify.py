"""Turn raw replies into probe outcomes: answered, refused (by whom) or silent.

The hard case is a TCP RST. A firewall that rejects with a reset forges the destination's address, so the
address does not say who sent it; the hop distance does (TTL/hop limit counted down from the sender's
start value). The destination's own distance is known from any genuine answer it gave (SYN-ACK, echo
reply, UDP reply, port unreachable). An RST from closer than that is a device's refusal. Without such a
reference, an RST on a port where a service is expected to listen is taken as a refusal (a listening
service answers SYN-ACK), and elsewhere as an answer from the destination. ICMP errors name their sender
directly; "port unreachable" from the destination itself means the path is open (so: answered).
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from egressctl.verify.probe.records import Probe, ProbeResult
from egressctl.verify.probe.wire import describe_icmp, hop_distance, icmp_port_unreachable, packed, unpacked

_RANK = {"local-error": 0, "icmp-error": 1, "rst": 2, "syn-ack": 3, "udp-reply": 3, "echo-reply": 3}
_GENUINE = {"syn-ack", "udp-reply", "echo-reply"}
_MAX_ROUTE_LOOKUPS = 16


@dataclass(frozen=True)
class RawOutcome:
    """The best reply seen for one probe (or a local send error)."""

    kind: str
    sender: bytes | None
    ttl: int
    icmp: tuple[int, int] | None
    error: str | None = None
    at: float = 0.0

    @staticmethod
    def rank_of(kind: str, icmp: tuple[int, int] | None) -> int:
        """Preference between replies to one probe: an answer beats a refusal beats a local error."""
        if kind == "icmp-error" and icmp in ((3, 3), (1, 4)):
            return 2
        return _RANK[kind]

    def rank(self) -> int:
        """This outcome's preference rank."""
        return self.rank_of(self.kind, self.icmp)


def _from_destination(probe: Probe, raw: RawOutcome) -> bool:
    return raw.sender == packed(probe.dst)


def _reference_hops(probes: Sequence[Probe], raw: Sequence[RawOutcome | None]) -> dict[str, int]:
    """Hop distance of each destination, from replies only the destination itself sends."""
    ref: dict[str, int] = {}
    for p, r in zip(probes, raw, strict=True):
        if r is None or not _from_destination(p, r):
            continue
        genuine = r.kind in _GENUINE or (r.icmp is not None and icmp_port_unreachable(p.family, r.icmp))
        if genuine:
            ref[p.dst] = min(ref.get(p.dst, 255), hop_distance(r.ttl))
    return ref


def _routers(probes: Sequence[Probe], raw: Sequence[RawOutcome | None]) -> dict[tuple[int, int], str]:
    """Routers seen sending ICMP errors, by (family, hop distance)."""
    out: dict[tuple[int, int], str] = {}
    for p, r in zip(probes, raw, strict=True):
        if r is not None and r.kind == "icmp-error" and r.sender and not _from_destination(p, r):
            out.setdefault((p.family, hop_distance(r.ttl)), unpacked(r.sender))
    return out


def first_hop(dst: str) -> str | None:
    """The gateway the kernel routes ``dst`` through, or None when on-link or unknown."""
    try:
        ipaddress.ip_address(dst)
        out = subprocess.run(["ip", "-j", "route", "get", dst], capture_output=True, text=True, timeout=2,
                             check=False).stdout
        routes = json.loads(out or "[]")
    except (ValueError, OSError, subprocess.SubprocessError):
        return None
    gw = routes[0].get("gateway") if routes else None
    return str(gw) if gw else None


class _RstJudge:
    """Decide whether an RST came from the destination, and name the device otherwise."""

    def __init__(self, probes: Sequence[Probe], raw: Sequence[RawOutcome | None]) -> None:
        self.ref = _reference_hops(probes, raw)
        self.routers = _routers(probes, raw)
        self.gateways: dict[str, str | None] = {}

    def _name(self, p: Probe, hops: int) -> str | None:
        if (p.family, hops) in self.routers:
            return self.routers[(p.family, hops)]
        if hops == 0 and (p.dst in self.gateways or len(self.gateways) < _MAX_ROUTE_LOOKUPS):
            if p.dst not in self.gateways:  # one ``ip route get`` per destination, not one per RST
                self.gateways[p.dst] = first_hop(p.dst)
            return self.gateways[p.dst]
        return None

    def judge(self, p: Probe, r: RawOutcome) -> tuple[str, str, str | None]:
        """(outcome, detail, responder) for an RST reply."""
        hops = hop_distance(r.ttl)
        ref = self.ref.get(p.dst)
        if ref is not None and hops >= ref:
            return "answered", "rst", p.dst
        if ref is None and not p.listening:
            return "answered", "rst (origin unconfirmed)", p.dst
        where = f"{hops} hop(s) away" + (f", destination is {ref}" if ref is not None else "")
        return "refused", f"rst forged by a device {where}", self._name(p, hops)


def classify(probes: Sequence[Probe], raw: Sequence[RawOutcome | None],
             sent_at: Sequence[float]) -> list[ProbeResult]:
    """One :class:`ProbeResult` per probe, in order."""
    judge = _RstJudge(probes, raw)
    out: list[ProbeResult] = []
    for p, r, t in zip(probes, raw, sent_at, strict=True):
        if r is None:
            out.append(ProbeResult(p.id, "silent", "no reply"))
            continue
        rtt = round((r.at - t) * 1000, 3) if r.at else None
        hops = hop_distance(r.ttl) if r.sender else None
        sender = unpacked(r.sender) if r.sender else None
        if r.kind == "local-error":
            out.append(ProbeResult(p.id, "refused", f"not sent: {r.error}", "local host"))
        elif r.kind in _GENUINE:
            out.append(ProbeResult(p.id, "answered", r.kind, sender, hops, rtt))
        elif r.kind == "rst":
            outcome, detail, who = judge.judge(p, r)
            out.append(ProbeResult(p.id, outcome, detail, who, hops, rtt))  # type: ignore[arg-type]
        else:
            assert r.icmp is not None
            name = describe_icmp(p.family, r.icmp)
            opened = icmp_port_unreachable(p.family, r.icmp) and _from_destination(p, r)
            out.append(ProbeResult(p.id, "answered" if opened else "refused", name, sender, hops, rtt))
    return out
