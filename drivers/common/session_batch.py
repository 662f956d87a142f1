"""Ending many denied sessions in a few commands: the filters a batched clear may use, decided once.

Clearing one session per CLI round trip costs about 0.15 s a session, so a site under attack (hundreds of
sessions) would stay connected for a minute after its cut. Every stateful platform has selective clears by
destination (and protocol, port); :func:`plan` chooses the fewest of them that end every denied session
and can touch nothing else. A filter is only used when it is *safe*, checked three ways, each sufficient
for a different risk:

* no session the device listed in the same scope and that is not to be ended matches it (the operators'
  SSH session, the always-allowed flows, sessions to the device itself or between inside networks);
* no permit rule of the new policy could match a session it matches (so a session opened in the moment
  between listing and clearing is ended only if the policy denies it anyway);
* its destination overlaps no inside prefix and not the device's management address.

Whatever no safe filter covers is cleared one session at a time, as before. Destinations are widened into
a common prefix only where that merges several filters into one and stays safe (never wider than
:data:`WIDEST`), and then narrowed again to the smallest prefix holding the sessions it covers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from egressctl_drivers.common.sessions import Session, within

from egressctl.inventory.models import Address, Network
from egressctl.policy import PROTOCOL_ALIASES, Policy, Rule

#: A session's 5-tuple (:meth:`Session.tuple_key`).
Key = tuple[str, str, str, int | None, int | None]
#: Widest destination prefix a merged filter may take, per family.
WIDEST = {4: 16, 6: 48}


@dataclass(frozen=True)
class Filter:
    """One selective clear: every session from the scope to ``dst`` (with ``protocol`` and ``dport``)."""

    dst: Network
    protocol: str | None = None
    dport: int | None = None

    def covers(self, s: Session) -> bool:
        """Whether the device would end ``s`` with this filter (within the clear's source scope)."""
        return (s.dst.version == self.dst.version and s.dst in self.dst
                and self.protocol in (None, s.protocol) and self.dport in (None, s.dport))


@dataclass
class Plan:
    """The clears of one scope: ``filters`` first, then each of ``singles`` by itself."""

    filters: list[Filter] = field(default_factory=list)
    singles: list[Session] = field(default_factory=list)

    def commands(self) -> int:
        """How many clears the plan takes."""
        return len(self.filters) + len(self.singles)


def _proto(name: str) -> str:
    return PROTOCOL_ALIASES.get(name.lower(), name.lower())


def _overlaps(nets: Sequence[Network], other: Sequence[Network]) -> bool:
    """Empty means *any*: two scopes overlap unless both are given and no pair of them meets."""
    if not nets or not other:
        return True
    return any(a.version == b.version and a.overlaps(b) for a in nets for b in other)


def _rule_may_match(rule: Rule, scope: Sequence[Network], f: Filter) -> bool:
    """Whether some session from ``scope`` matching ``f`` could fall under ``rule`` (conservative)."""
    if not _overlaps(rule.sources, scope) or not _overlaps(rule.destinations, [f.dst]):
        return False
    if f.protocol is not None and rule.protocol not in ("any", _proto(f.protocol)):
        return False
    if f.dport is not None and rule.dst_ports:
        return any(r.first <= f.dport <= r.last for r in rule.dst_ports)
    return True


@dataclass(frozen=True)
class Guard:
    """What a filter must never reach: kept sessions, allowed traffic, inside prefixes, the device."""

    policy: Policy
    scope: Sequence[Network]
    """The sources the clear command is restricted to (empty: any source, e.g. a zone pair)."""
    kept: Sequence[Session]
    avoid: Sequence[Network]

    def safe(self, f: Filter) -> bool:
        """True when ``f`` can end no session but denied ones (see the module docstring)."""
        if any(n.version == f.dst.version and n.overlaps(f.dst) for n in self.avoid):
            return False
        if any(f.covers(s) for s in self.kept):
            return False
        return not any(r.action == "permit" and _rule_may_match(r, self.scope, f) for r in self.policy.rules)


def host(addr: Address) -> Network:
    """``addr`` as a one-address prefix."""
    return ipaddress.ip_network(addr)


def plan(guard: Guard, ended: Sequence[Session], *, widen: bool = True) -> Plan:
    """The fewest safe clears ending every session of ``ended`` (see the module docstring)."""
    out = Plan()
    hosts: list[Filter] = []
    for dst in dict.fromkeys(s.dst for s in ended):
        whole = Filter(host(dst))
        if guard.safe(whole):
            hosts.append(whole)
            continue
        for proto, dport in dict.fromkeys((s.protocol, s.dport) for s in ended if s.dst == dst):
            narrow = Filter(host(dst), proto, dport)
            if guard.safe(narrow):
                out.filters.append(narrow)
            else:
                out.singles += [s for s in ended if s.dst == dst and narrow.covers(s)]
    out.filters[:0] = merged(guard, hosts) if widen else hosts
    return out


def _widest(guard: Guard, f: Filter) -> Network:
    """The widest safe prefix around ``f.dst`` (itself when none is wider)."""
    for length in range(WIDEST[f.dst.version], f.dst.prefixlen):
        wider = f.dst.supernet(new_prefix=length)
        if guard.safe(Filter(wider)):
            return wider
    return f.dst


def smallest_common(addrs: Iterable[Address]) -> Network:
    """The smallest prefix holding every address of ``addrs`` (one family)."""
    items = sorted(addrs)
    lo, hi, bits = int(items[0]), int(items[-1]), items[0].max_prefixlen
    length = bits - (lo ^ hi).bit_length()
    return ipaddress.ip_network(f"{type(items[0])(lo >> (bits - length) << (bits - length))}/{length}")


def merged(guard: Guard, hosts: Sequence[Filter]) -> list[Filter]:
    """Destination-only filters merged where a safe common prefix holds several of them."""
    wide = {f.dst: _widest(guard, f) for f in hosts}
    tops = [w for w in dict.fromkeys(wide.values())
            if not any(o != w and o.version == w.version and w.subnet_of(o)  # type: ignore[arg-type]
                       for o in wide.values())]
    out: list[Filter] = []
    for top in tops:
        inside = [d.network_address for d, w in wide.items()
                  if w.version == top.version and w.subnet_of(top)]  # type: ignore[arg-type]
        out.append(Filter(smallest_common(inside)))
    return out


def kept_in(listed: Sequence[Session], ended: Sequence[Session]) -> list[Session]:
    """Every listed session that is not to be ended (whatever the reason: allowed, local, closing)."""
    gone = {s.tuple_key() for s in ended}
    return [s for s in listed if s.tuple_key() not in gone]


def allowed_live(policy: Policy, inside: Sequence[Network], listed: Sequence[Session]) -> set[Key]:
    """Keys of the live egress sessions the policy allows: the ones a clear must leave in place."""
    return {s.tuple_key() for s in listed if s.live and s.egress and within(s.src, inside)
            and policy.permits(s.src, s.dst, s.protocol, s.sport, s.dport)}


def still_listed(ended: Sequence[Session], after: Sequence[Session]) -> list[Session]:
    """The denied sessions a batch left, as the listing after it shows them (so with their current ids).

    A device whose CLI takes a filter differently from its documentation, or refuses it, must not leave a
    denied session open: these are then cleared one by one.
    """
    wanted, out, seen = {s.tuple_key() for s in ended}, [], set()
    for s in after:
        key = s.tuple_key()
        if key in wanted and key not in seen:
            seen.add(key)
            out.append(s)
    return out


def outcome(ended: Sequence[Session], allowed: set[Key], after: Sequence[Session],
            p: Plan | None = None, retried: int = 0) -> tuple[int, str]:
    """From the listing after the clear: how many denied sessions went, and a note for the report."""
    left = {s.tuple_key() for s in after}
    cleared = sum(1 for s in ended if s.tuple_key() not in left)
    lost = len(allowed - left)
    note = f"{p.commands()} clears ({len(p.filters)} filters, {len(p.singles)} single)" if p else ""
    note += f"; {retried} left by the batch cleared one by one" if retried else ""
    note += f"; WARNING {lost} allowed sessions no longer listed" if lost else ""
    return cleared, note.lstrip("; ")


def avoided(inside: Sequence[Network], mgmt: Address | None) -> list[Network]:
    """Destinations no filter may reach: the inside prefixes and the device's management address."""
    return [*inside, *([host(mgmt)] if mgmt is not None else [])]


class Batcher:
    """Plans the clears scope by scope, and adds the plans up for the report.

    A driver lists per inside prefix, zone pair or interface pair; each denied session is planned in the
    first scope that lists it.
    """

    def __init__(self, policy: Policy, avoid: Sequence[Network], *, widen: bool = True) -> None:
        self.policy, self.avoid, self.widen = policy, avoid, widen
        self.done: set[Key] = set()
        self.plans: list[Plan] = []

    def plan(self, scope: Sequence[Network], rows: Sequence[Session], ended: Sequence[Session]) -> Plan:
        """The clears of one scope: ``rows`` is what it listed, ``scope`` the sources its clears name."""
        here = {s.tuple_key() for s in rows}
        mine = [s for s in ended if s.tuple_key() in here and s.tuple_key() not in self.done]
        self.done.update(s.tuple_key() for s in mine)
        p = plan(Guard(self.policy, scope, kept_in(rows, mine), self.avoid), mine, widen=self.widen)
        self.plans.append(p)
        return p

    def total(self) -> Plan:
        """Every scope's clears as one plan (for the report's count)."""
        out = Plan()
        for p in self.plans:
            out.filters += p.filters
            out.singles += p.singles
        return out
