"""Exact packet verdicts against the neutral policy.

The neutral policy is an ordered, first-match list of overlapping rules. Checking a packet by walking the
list is exact but slow; a BPF rendering is fast but cannot say which rule matched and breaks on VLANs and
fragments. Here the policy is compiled, per IP family, into:

* the site's inside prefixes as merged, disjoint intervals (a packet is *subject* to the policy when its
  source is inside and its destination is not: it is leaving the site);
* the destination axis cut into disjoint elementary intervals, each mapped to a *class*: the ordered list of
  rule atoms (one source prefix, one source-port range, one destination-port range, one protocol) whose
  destination covers the whole interval, truncated after the first catch-all atom.

A verdict is then one binary search on the destination plus a short first-match scan over the class's
atoms, exact by construction (every atom covers an elementary interval entirely or not at all). The same
tables feed the scalar path, the vectorised numpy path (:mod:`match_vector`) and the C capture loop;
they are built in :mod:`match_tables`.

Verdict codes: ``>= 0`` the index of the permit rule that matched; :data:`NOT_SUBJECT`; :data:`LEAK` (a
deny rule matched, or nothing did); :data:`OPEN` (target ``normal``: no egressctl policy, nothing leaks);
:data:`RELATED` (a leak by its own header, but an ICMP error quoting a flow the policy allows).

ICMP errors: every stateful firewall forwards the errors of a connection it allows (nftables ``ct state
related``, ASA, FortiOS, PAN-OS): port unreachable for a late DNS answer, packet too big for PMTUD, time
exceeded. An error leaving the site goes back to the sender of the datagram it quotes, an outside host, so
the quote travels inward: the flow it belongs to, seen from inside, is the quote reversed (quoted
destination and port to quoted source and port). :meth:`CompiledPolicy.related` is that decision; the
parsers (``pktparse``) only hand over quotes that are whole and sent by the error's destination.
"""

from __future__ import annotations

import bisect
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from egressctl.verify.match_tables import (
    ICMP_NUMBER,
    LEAK,
    NOT_SUBJECT,
    OPEN,
    PROTO_NUMBERS,
    RELATED,
    FamilyTables,
    IntArray,
    compile_family,
)

if TYPE_CHECKING:
    from egressctl.inventory.models import Site
    from egressctl.policy import Policy
    from egressctl.verify.match_vector import Addr

__all__ = ["LEAK", "NOT_SUBJECT", "OPEN", "RELATED", "CompiledPolicy", "FamilyTables", "Verdict"]


@dataclass(frozen=True)
class Verdict:
    """The verdict on one packet: ``code`` as above, ``rule`` the permit rule's name when one matched."""

    code: int
    rule: str | None

    @property
    def subject(self) -> bool:
        """True when the packet leaves the site (source inside, destination outside)."""
        return self.code != NOT_SUBJECT

    @property
    def leak(self) -> bool:
        """True when the packet leaves the site and no permit rule allows it."""
        return self.code == LEAK


def _addr_int(value: object) -> int:
    if isinstance(value, int):
        return value
    return int(ipaddress.ip_address(str(value)))


@dataclass
class CompiledPolicy:
    """A policy compiled for exact per-packet verdicts (see the module docstring)."""

    policy: Policy
    rule_names: tuple[str, ...]
    v4: FamilyTables
    v6: FamilyTables

    @classmethod
    def compile(cls, policy: Policy, site: Site) -> CompiledPolicy:
        """Compile ``policy`` for ``site`` (whose ``inside`` prefixes decide what is leaving)."""
        return cls(policy, tuple(r.name for r in policy.rules), compile_family(policy, site, 4),
                   compile_family(policy, site, 6))

    @property
    def is_normal(self) -> bool:
        """True for target ``normal``: subject packets are :data:`OPEN`, never leaks."""
        return self.policy.is_normal

    def tables(self, family: int) -> FamilyTables:
        """The compiled tables of ``family`` (4 or 6)."""
        if family == 4:
            return self.v4
        if family == 6:
            return self.v6
        raise ValueError(f"family must be 4 or 6, not {family!r}")

    def describe(self, code: int) -> str:
        """Human label of a verdict code."""
        if code >= 0:
            return self.rule_names[code]
        return {NOT_SUBJECT: "not-subject", LEAK: "leak", OPEN: "open", RELATED: "related"}.get(
            code, f"code {code}")

    # -- scalar -------------------------------------------------------------------------------------------
    def inside(self, family: int, addr: object) -> bool:
        """Whether ``addr`` is inside the site."""
        t = self.tables(family)
        a = _addr_int(addr)
        i = bisect.bisect_right(t.inside_lo, a) - 1
        return i >= 0 and a <= t.inside_hi[i]

    def code(self, family: int, proto: int | str, src: object, dst: object, sport: int = 0,
             dport: int = 0) -> int:
        """Verdict code of one packet; ``proto`` is a number or ``tcp``/``udp``/``icmp``.

        Ports are ignored (taken as 0) for protocols other than TCP and UDP, as on the wire.
        """
        pnum = _proto_number(family, proto)
        if pnum not in (6, 17):
            sport = dport = 0
        if not self.inside(family, src) or self.inside(family, dst):
            return NOT_SUBJECT
        if self.is_normal:
            return OPEN
        t = self.tables(family)
        s, d = _addr_int(src), _addr_int(dst)
        cid = t.interval_class[bisect.bisect_right(t.bounds, d) - 1]
        start = t.class_start[cid]
        for atom in t.atoms[start:start + t.class_len[cid]]:
            if atom.matches(pnum, s, sport, dport):
                return atom.code
        return LEAK

    def related(self, family: int, proto: int | str, qsrc: object, qdst: object, qsport: int = 0,
                qdport: int = 0) -> bool:
        """Whether an ICMP error quoting this datagram belongs to a flow the policy allows.

        The quote is the flow's inbound packet (the error leaving the site answers it), so the flow is
        judged reversed: quoted destination to quoted source, ports swapped, as a packet leaving the site.
        """
        return self.code(family, proto, qdst, qsrc, qdport, qsport) >= 0

    def verdict(self, family: int, proto: int | str, src: object, dst: object, sport: int = 0,
                dport: int = 0) -> Verdict:
        """Verdict on one packet (see :meth:`code`), with the permit rule's name."""
        c = self.code(family, proto, src, dst, sport, dport)
        return Verdict(c, self.rule_names[c] if c >= 0 else None)

    # -- vectorised -----------------------------------------------------------------------------------------
    def classify_v4(self, proto: IntArray, src: IntArray, dst: IntArray, sport: IntArray,
                    dport: IntArray) -> IntArray:
        """Verdict codes (int32) for IPv4 packets given as arrays (addresses as uint32)."""
        from egressctl.verify.match_vector import classify

        return classify(self.v4, self.is_normal, proto, (src,), (dst,), sport, dport)

    def classify_v6(self, proto: IntArray, src_h: IntArray, src_l: IntArray, dst_h: IntArray,
                    dst_l: IntArray, sport: IntArray, dport: IntArray) -> IntArray:
        """Verdict codes (int32) for IPv6 packets; addresses as uint64 high and low halves."""
        from egressctl.verify.match_vector import classify

        return classify(self.v6, self.is_normal, proto, (src_h, src_l), (dst_h, dst_l), sport, dport)

    def related_mask(self, family: int, proto: IntArray, qsrc: Addr, qdst: Addr, qsport: IntArray,
                     qdport: IntArray) -> IntArray:
        """Vectorised :meth:`related`: which quoted datagrams belong to a flow the policy allows."""
        import numpy as np

        from egressctl.verify.match_vector import classify

        return np.asarray(classify(self.tables(family), self.is_normal, proto, qdst, qsrc, qdport,
                                   qsport) >= 0)

    def subject_mask(self, family: int, src: Addr, dst: Addr) -> IntArray:
        """Which packets leave the site; addresses as ``(uint32,)`` or ``(high, low)`` uint64 tuples."""
        import numpy as np

        from egressctl.verify.match_vector import inside_mask

        arr = self.tables(family).arrays()
        return np.asarray(inside_mask(arr, family, src) & ~inside_mask(arr, family, dst))

    def classify_subject(self, family: int, proto: IntArray, src: Addr, dst: Addr, sport: IntArray,
                         dport: IntArray) -> IntArray:
        """Verdict codes for packets already known to be subject (see :meth:`subject_mask`)."""
        from egressctl.verify.match_vector import classify

        return classify(self.tables(family), self.is_normal, proto, src, dst, sport, dport,
                        assume_subject=True)


def _proto_number(family: int, proto: int | str) -> int:
    if isinstance(proto, int):
        return proto
    if proto == "icmp":
        return ICMP_NUMBER[family]
    return PROTO_NUMBERS[proto]
