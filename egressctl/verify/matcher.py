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
tables feed the scalar path, the vectorised numpy path and the C capture loop (``capture.py``).

Verdict codes: ``>= 0`` the index of the permit rule that matched; :data:`NOT_SUBJECT`; :data:`LEAK` (a
deny rule matched, or nothing did); :data:`OPEN` (target ``normal``: no egressctl policy, nothing leaks).
"""

from __future__ import annotations

import bisect
import ipaddress
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from egressctl.inventory.models import Site
from egressctl.policy import Policy, Rule

NOT_SUBJECT = -1
LEAK = -2
OPEN = -3
PROTO_NUMBERS = {"tcp": 6, "udp": 17}
ICMP_NUMBER = {4: 1, 6: 58}
MAX_ADDR = {4: (1 << 32) - 1, 6: (1 << 128) - 1}
U64 = (1 << 64) - 1

IntArray = npt.NDArray[Any]
Addr = tuple[IntArray, ...]  # (uint32,) for IPv4, (high uint64, low uint64) for IPv6


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


@dataclass(frozen=True)
class Atom:
    """One first-match unit: protocol number (0 = any), inclusive source/port ranges, and its verdict."""

    proto: int
    src_lo: int
    src_hi: int
    sp_lo: int
    sp_hi: int
    dp_lo: int
    dp_hi: int
    code: int

    def matches(self, proto: int, src: int, sport: int, dport: int) -> bool:
        """Whether a packet (already known to fall in this atom's destination class) matches."""
        return ((self.proto == 0 or self.proto == proto) and self.src_lo <= src <= self.src_hi
                and self.sp_lo <= sport <= self.sp_hi and self.dp_lo <= dport <= self.dp_hi)

    def catch_all(self, family: int) -> bool:
        """True when every packet reaching this atom matches it (later atoms are unreachable)."""
        return (self.proto == 0 and self.src_lo == 0 and self.src_hi == MAX_ADDR[family]
                and (self.sp_lo, self.sp_hi, self.dp_lo, self.dp_hi) == (0, 65535, 0, 65535))


@dataclass
class FamilyTables:
    """Compiled tables of one IP family; Python lists for the scalar path, numpy arrays built lazily."""

    family: int
    inside_lo: list[int]
    inside_hi: list[int]
    bounds: list[int]          # sorted starts of the destination elementary intervals (bounds[0] == 0)
    interval_class: list[int]  # class id of each interval
    class_start: list[int]     # class -> first index into ``atoms``
    class_len: list[int]
    atoms: list[Atom]          # class atom lists, flattened in class order
    _np: dict[str, IntArray] = field(default_factory=dict, repr=False)

    def arrays(self) -> dict[str, IntArray]:
        """Numpy views of the tables (v4 addresses as uint32; v6 as uint64 ``*_h``/``*_l`` halves)."""
        if not self._np:
            self._np.update(_family_arrays(self))
        return self._np


def _split(values: list[int]) -> tuple[IntArray, IntArray]:
    return (np.array([v >> 64 for v in values], dtype=np.uint64),
            np.array([v & U64 for v in values], dtype=np.uint64))


def _family_arrays(t: FamilyTables) -> dict[str, IntArray]:
    out: dict[str, IntArray] = {
        "interval_class": np.array(t.interval_class, dtype=np.int32),
        "class_start": np.array(t.class_start, dtype=np.int32),
        "class_len": np.array(t.class_len, dtype=np.int32),
        "proto": np.array([a.proto for a in t.atoms], dtype=np.uint8),
        "sp_lo": np.array([a.sp_lo for a in t.atoms], dtype=np.int32),
        "sp_hi": np.array([a.sp_hi for a in t.atoms], dtype=np.int32),
        "dp_lo": np.array([a.dp_lo for a in t.atoms], dtype=np.int32),
        "dp_hi": np.array([a.dp_hi for a in t.atoms], dtype=np.int32),
        "code": np.array([a.code for a in t.atoms], dtype=np.int32),
    }
    addr_lists = {"inside_lo": t.inside_lo, "inside_hi": t.inside_hi, "bounds": t.bounds,
                  "src_lo": [a.src_lo for a in t.atoms], "src_hi": [a.src_hi for a in t.atoms]}
    for name, values in addr_lists.items():
        if t.family == 4:
            out[name] = np.array(values, dtype=np.uint32)
        else:
            out[name + "_h"], out[name + "_l"] = _split(values)
    return out


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _net_range(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int]:
    return int(net.network_address), int(net.broadcast_address)


def _rule_atoms(rule: Rule, index: int, family: int) -> list[tuple[tuple[int, int], Atom]]:
    """Expand one rule into (destination range, atom) pairs for ``family`` (none if it does not apply)."""
    if family not in rule.families():
        return []
    full = (0, MAX_ADDR[family])
    srcs = [_net_range(n) for n in rule.sources if n.version == family] if rule.sources else [full]
    dsts = [_net_range(n) for n in rule.destinations if n.version == family] if rule.destinations else [full]
    proto = 0 if rule.protocol == "any" else (
        ICMP_NUMBER[family] if rule.protocol == "icmp" else PROTO_NUMBERS[rule.protocol])
    sports = [(p.first, p.last) for p in rule.src_ports] or [(0, 65535)]
    dports = [(p.first, p.last) for p in rule.dst_ports] or [(0, 65535)]
    code = index if rule.action == "permit" else LEAK
    return [(d, Atom(proto, s[0], s[1], sp[0], sp[1], dp[0], dp[1], code))
            for d in dsts for s in srcs for sp in sports for dp in dports]


def _compile_family(policy: Policy, site: Site, family: int) -> FamilyTables:
    inside = _merge([_net_range(n) for n in site.inside if n.version == family])
    pairs = [p for i, r in enumerate(policy.rules) for p in _rule_atoms(r, i, family)]
    # Sweep the destination axis: atoms enter at their start and leave after their end.
    events: dict[int, list[tuple[int, int]]] = {0: []}
    for idx, ((lo, hi), _) in enumerate(pairs):
        events.setdefault(lo, []).append((1, idx))
        if hi < MAX_ADDR[family]:
            events.setdefault(hi + 1, []).append((0, idx))
    active: set[int] = set()
    classes: dict[tuple[int, ...], int] = {}
    bounds: list[int] = []
    interval_class: list[int] = []
    for point in sorted(events):
        for kind, idx in events[point]:
            (active.add if kind else active.discard)(idx)
        key = tuple(sorted(active))
        cid = classes.setdefault(key, len(classes))
        if not interval_class or interval_class[-1] != cid:
            bounds.append(point)
            interval_class.append(cid)
    class_start: list[int] = []
    class_len: list[int] = []
    flat: list[Atom] = []
    for key in classes:  # dicts keep insertion order == class id order
        atoms: list[Atom] = []
        for idx in key:
            atom = pairs[idx][1]
            atoms.append(atom)
            if atom.catch_all(family):
                break
        class_start.append(len(flat))
        class_len.append(len(atoms))
        flat.extend(atoms)
    return FamilyTables(family, [lo for lo, _ in inside], [hi for _, hi in inside], bounds, interval_class,
                        class_start, class_len, flat)


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
        return cls(policy, tuple(r.name for r in policy.rules), _compile_family(policy, site, 4),
                   _compile_family(policy, site, 6))

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
        return {NOT_SUBJECT: "not-subject", LEAK: "leak", OPEN: "open"}.get(code, f"code {code}")

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

    def verdict(self, family: int, proto: int | str, src: object, dst: object, sport: int = 0,
                dport: int = 0) -> Verdict:
        """Verdict on one packet (see :meth:`code`), with the permit rule's name."""
        c = self.code(family, proto, src, dst, sport, dport)
        return Verdict(c, self.rule_names[c] if c >= 0 else None)

    # -- vectorised -----------------------------------------------------------------------------------------
    def classify_v4(self, proto: IntArray, src: IntArray, dst: IntArray, sport: IntArray,
                    dport: IntArray) -> IntArray:
        """Verdict codes (int32) for IPv4 packets given as arrays (addresses as uint32)."""
        return _classify(self, 4, proto, (src,), (dst,), sport, dport)

    def classify_v6(self, proto: IntArray, src_h: IntArray, src_l: IntArray, dst_h: IntArray,
                    dst_l: IntArray, sport: IntArray, dport: IntArray) -> IntArray:
        """Verdict codes (int32) for IPv6 packets; addresses as uint64 high and low halves."""
        return _classify(self, 6, proto, (src_h, src_l), (dst_h, dst_l), sport, dport)

    def subject_mask(self, family: int, src: Addr, dst: Addr) -> IntArray:
        """Which packets leave the site; addresses as ``(uint32,)`` or ``(high, low)`` uint64 tuples."""
        arr = self.tables(family).arrays()
        return np.asarray(_inside(arr, family, src) & ~_inside(arr, family, dst))

    def classify_subject(self, family: int, proto: IntArray, src: Addr, dst: Addr, sport: IntArray,
                         dport: IntArray) -> IntArray:
        """Verdict codes for packets already known to be subject (see :meth:`subject_mask`)."""
        return _classify(self, family, proto, src, dst, sport, dport, assume_subject=True)


def _proto_number(family: int, proto: int | str) -> int:
    if isinstance(proto, int):
        return proto
    if proto == "icmp":
        return ICMP_NUMBER[family]
    return PROTO_NUMBERS[proto]


# -- vectorised implementation ----------------------------------------------------------------------------


def _ge(a: Addr, b: Addr) -> IntArray:
    """Element-wise ``a >= b`` for addresses split in halves (lexicographic on (high, low))."""
    if len(a) == 1:
        return np.asarray(a[0] >= b[0])
    return np.asarray((a[0] > b[0]) | ((a[0] == b[0]) & (a[1] >= b[1])))


def _rank(bounds: Addr, x: Addr) -> IntArray:
    """``searchsorted(bounds, x, 'right') - 1`` for 32-bit or 128-bit (split) addresses."""
    if len(bounds) == 1:
        return np.searchsorted(bounds[0], x[0], side="right").astype(np.int64) - 1
    bh, bl = bounds
    xh, xl = x
    # Count of bounds with high <= xh, minus those with equal high but low > xl (only where lows differ).
    idx = np.searchsorted(bh, xh, side="right").astype(np.int64)
    tie = np.isin(xh, bh[bl != 0])
    if tie.any():
        sel = np.nonzero(tie)[0]
        for h in np.unique(xh[sel]):
            grp = sel[xh[sel] == h]
            a = int(np.searchsorted(bh, h, side="left"))
            b = int(np.searchsorted(bh, h, side="right"))
            idx[grp] = a + np.searchsorted(bl[a:b], xl[grp], side="right")
    return idx - 1


def _inside(arr: dict[str, IntArray], family: int, x: Addr) -> IntArray:
    if family == 4:
        lo: Addr = (arr["inside_lo"],)
        hi: Addr = (arr["inside_hi"],)
    else:
        lo, hi = (arr["inside_lo_h"], arr["inside_lo_l"]), (arr["inside_hi_h"], arr["inside_hi_l"])
    if lo[0].size == 0:
        return np.zeros(x[0].shape, dtype=bool)
    i = _rank(lo, x)
    ok = i >= 0
    ic = np.maximum(i, 0)
    return ok & _ge(tuple(h[ic] for h in hi), x)


def _classify(cp: CompiledPolicy, family: int, proto: IntArray, src: Addr, dst: Addr, sport: IntArray,
              dport: IntArray, assume_subject: bool | None = None) -> IntArray:
    """Vectorised :meth:`CompiledPolicy.code`: a first-match scan, one atom position at a time."""
    arr = cp.tables(family).arrays()
    proto = np.asarray(proto, dtype=np.uint8)
    l4 = (proto == 6) | (proto == 17)
    sport = np.where(l4, sport, 0).astype(np.int32)
    dport = np.where(l4, dport, 0).astype(np.int32)
    out = np.full(proto.shape, NOT_SUBJECT, dtype=np.int32)
    subject = _inside(arr, family, src) & ~_inside(arr, family, dst) if assume_subject is None \
        else np.ones(proto.shape, dtype=bool)
    if cp.is_normal:
        out[subject] = OPEN
        return out
    pending = np.nonzero(subject)[0]
    out[pending] = LEAK
    if family == 4:
        bounds: Addr = (arr["bounds"],)
        s_lo: Addr = (arr["src_lo"],)
        s_hi: Addr = (arr["src_hi"],)
    else:
        bounds = (arr["bounds_h"], arr["bounds_l"])
        s_lo, s_hi = (arr["src_lo_h"], arr["src_lo_l"]), (arr["src_hi_h"], arr["src_hi_l"])
    cls = arr["interval_class"][_rank(bounds, tuple(d[pending] for d in dst))]
    k = 0
    while pending.size:
        has = k < arr["class_len"][cls]
        pending, cls = pending[has], cls[has]
        a = arr["class_start"][cls] + k
        ap = arr["proto"][a]
        ps = tuple(s[pending] for s in src)
        sp, dp = sport[pending], dport[pending]
        m = (((ap == 0) | (ap == proto[pending])) & _ge(ps, tuple(x[a] for x in s_lo))
             & _ge(tuple(x[a] for x in s_hi), ps) & (sp >= arr["sp_lo"][a]) & (sp <= arr["sp_hi"][a])
             & (dp >= arr["dp_lo"][a]) & (dp <= arr["dp_hi"][a]))
        out[pending[m]] = arr["code"][a[m]]
        pending, cls = pending[~m], cls[~m]
        k += 1
    return out
