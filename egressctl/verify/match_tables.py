"""The matcher's compiled tables: a first-match policy cut into exact, searchable per-family arrays.

Per IP family the policy becomes the site's inside prefixes as merged, disjoint intervals, and the
destination axis cut into disjoint elementary intervals, each mapped to a *class*: the ordered list of
rule atoms (one source prefix, one source-port range, one destination-port range, one protocol) whose
destination covers the whole interval, truncated after the first catch-all atom. Every atom covers an
elementary interval entirely or not at all, which is what makes a lookup exact by construction. The same
tables feed the scalar lookup, the vectorised one (:mod:`match_vector`) and the C capture engine.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

NOT_SUBJECT = -1
LEAK = -2
OPEN = -3
RELATED = -4  # an ICMP error of a flow the policy allows (a leak by its own header alone)
PROTO_NUMBERS = {"tcp": 6, "udp": 17}
ICMP_NUMBER = {4: 1, 6: 58}
MAX_ADDR = {4: (1 << 32) - 1, 6: (1 << 128) - 1}
U64 = (1 << 64) - 1

if TYPE_CHECKING:
    import numpy.typing as npt

    from egressctl.inventory.models import Site
    from egressctl.policy import Policy, Rule

    IntArray = npt.NDArray[Any]
else:  # numpy is imported by the vectorised paths only: the C capture path never needs it
    IntArray = Any


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
    import numpy as np

    return (np.array([v >> 64 for v in values], dtype=np.uint64),
            np.array([v & U64 for v in values], dtype=np.uint64))


def _family_arrays(t: FamilyTables) -> dict[str, IntArray]:
    import numpy as np

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


def compile_family(policy: Policy, site: Site, family: int) -> FamilyTables:
    """The tables of ``family``: inside intervals, destination intervals, their classes and atoms."""
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
