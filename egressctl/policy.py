"""The vendor-neutral egress policy.

For a site and a target (``normal``, ``isolated`` or a stage name) there is exactly one ordered rule list,
evaluated first-match on traffic that leaves the site (from an inside interface/zone to an outside one):

1. management paths (both directions, so stateless devices keep the replies too),
2. always-allowed destinations,
3. the allows of every stage up to and including the target stage (stages are cumulative),
4. deny everything else.

``normal`` means no egressctl rules at all. Drivers render this list; verification derives its probe
matrix and its packet classifier from it; the TUI shows it. Comparison between a desired policy and what a
device holds uses *atoms* (one rule, one family, one source, one destination, one port range) so a driver
may split or merge rules as its vendor requires without breaking the comparison.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from egressctl.errors import PolicyError
from egressctl.inventory.models import Address, Network, PortRange, Protocol, Site

RuleKind = Literal["management", "always", "stage", "deny"]
Action = Literal["permit", "deny"]
ANY_V4 = ipaddress.ip_network("0.0.0.0/0")
ANY_V6 = ipaddress.ip_network("::/0")
#: Protocol spellings a device's session table may use, folded onto the neutral names (ICMPv6 is ``icmp``).
PROTOCOL_ALIASES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmp", "icmpv6": "icmp", "icmp6": "icmp",
                    "ipv6-icmp": "icmp"}


@dataclass(frozen=True)
class Rule:
    """One neutral rule. Empty ``sources``/``destinations``/ports mean *any*."""

    name: str
    kind: RuleKind
    action: Action
    protocol: Protocol = "any"
    sources: tuple[Network, ...] = ()
    destinations: tuple[Network, ...] = ()
    src_ports: tuple[PortRange, ...] = ()
    dst_ports: tuple[PortRange, ...] = ()

    def families(self) -> tuple[int, ...]:
        """IP versions this rule applies to (a rule with no prefixes applies to both)."""

        def has(nets: tuple[Network, ...], fam: int) -> bool:
            return not nets or any(n.version == fam for n in nets)

        return tuple(f for f in (4, 6) if has(self.sources, f) and has(self.destinations, f))

    def matches(self, src: Address, dst: Address, protocol: str, sport: int | None,
                dport: int | None) -> bool:
        """Whether one flow (its original direction) falls under this rule.

        Empty fields mean *any*; a prefix of the other family never matches, so a rule whose prefixes are
        all IPv4 says nothing about IPv6 flows. Ports only match a flow that has them (TCP, UDP).
        """
        return (
            _covers(self.sources, src)
            and _covers(self.destinations, dst)
            and self.protocol in ("any", protocol)
            and _in_ranges(self.src_ports, sport)
            and _in_ranges(self.dst_ports, dport)
        )


def _covers(nets: tuple[Network, ...], addr: Address) -> bool:
    return not nets or any(n.version == addr.version and addr in n for n in nets)


def _in_ranges(ranges: tuple[PortRange, ...], port: int | None) -> bool:
    return not ranges or (port is not None and any(r.first <= port <= r.last for r in ranges))


@dataclass(frozen=True, order=True)
class Atom:
    """The smallest comparable unit of a rule: what egressctl compares device read-backs with."""

    family: int
    action: str
    protocol: str
    source: str
    destination: str
    src_ports: str
    dst_ports: str


@dataclass(frozen=True)
class Policy:
    """The whole neutral policy for one site and one target."""

    site: str
    target: str
    rules: tuple[Rule, ...]

    @property
    def is_normal(self) -> bool:
        """True when the target holds no egressctl rules at all."""
        return not self.rules

    def fingerprint(self) -> str:
        """Short stable digest of the rule semantics (names excluded); drivers store it as a marker."""
        return fingerprint(self.rules)

    def permits(
        self,
        src: Address | str,
        dst: Address | str,
        protocol: str,
        sport: int | None = None,
        dport: int | None = None,
    ) -> bool:
        """Whether this policy lets the flow ``src:sport -> dst:dport`` leave the site: first match decides.

        This is how a driver decides which established sessions a cut must end, so it follows the same
        first-match order every device renders. ``protocol`` is ``tcp``, ``udp``, ``icmp`` (either family's
        ICMP; numbers and vendor spellings such as ``6`` or ``ipv6-icmp`` are folded) or any other name,
        which only ``any``-protocol rules match. A policy without rules (``normal``) permits everything, and
        so does one whose rules all miss the flow: computed policies end with a catch-all deny anyway.
        """
        s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        proto = PROTOCOL_ALIASES.get(protocol.lower(), protocol.lower())
        for rule in self.rules:
            if rule.matches(s, d, proto, sport, dport):
                return rule.action == "permit"
        return True


def _ports_key(ports: Sequence[PortRange]) -> list[str]:
    return [str(p) for p in ports] or ["any"]


def atoms(rules: Iterable[Rule]) -> dict[int, list[Atom]]:
    """Expand rules to ordered atoms per IP family."""
    out: dict[int, list[Atom]] = {4: [], 6: []}
    for r in rules:
        for fam in r.families():
            any_net = ANY_V4 if fam == 4 else ANY_V6
            srcs = [n for n in r.sources if n.version == fam] or ([any_net] if not r.sources else [])
            dsts = [n for n in r.destinations if n.version == fam] or (
                [any_net] if not r.destinations else []
            )
            for s in srcs:
                for d in dsts:
                    for sp in _ports_key(r.src_ports):
                        for dp in _ports_key(r.dst_ports):
                            out[fam].append(Atom(fam, r.action, r.protocol, str(s), str(d), sp, dp))
    return out


def equivalent(a: Iterable[Rule], b: Iterable[Rule]) -> bool:
    """True when two rule lists behave the same (same atoms in the same order, per family)."""
    return atoms(a) == atoms(b)


def fingerprint(rules: Iterable[Rule]) -> str:
    """Digest of the atoms of ``rules``; equal for equivalent rule lists."""
    h = hashlib.sha256()
    for fam, items in sorted(atoms(rules).items()):
        for at in items:
            h.update(
                f"{fam}|{at.action}|{at.protocol}|{at.source}|{at.destination}|{at.src_ports}|"
                f"{at.dst_ports}\n".encode()
            )
    return h.hexdigest()[:12]


def targets(site: Site) -> list[str]:
    """Every valid target of a site, from most closed to fully open."""
    return ["isolated", *[s.name for s in site.stages], "normal"]


def _management_rules(site: Site) -> list[Rule]:
    device_dsts = tuple(ipaddress.ip_network(d.mgmt_address) for d in site.devices)
    rules: list[Rule] = []
    for m in site.management:
        dsts = tuple(m.destinations) or device_dsts
        rules.append(
            Rule(
                f"mgmt-{m.name}",
                "management",
                "permit",
                m.protocol,
                tuple(m.sources),
                dsts,
                (),
                tuple(m.ports),
            )
        )
        rules.append(
            Rule(
                f"mgmt-{m.name}-re",
                "management",
                "permit",
                m.protocol,
                dsts,
                tuple(m.sources),
                tuple(m.ports),
                (),
            )
        )
    return rules


def compute_policy(site: Site, target: str) -> Policy:
    """Compute the neutral policy of ``site`` at ``target``.

    Raises:
        PolicyError: the target is neither ``normal``, ``isolated`` nor one of the site's stages.
    """
    if target == "normal":
        return Policy(site.name, target, ())
    if target == "isolated":
        upto = -1
    else:
        try:
            upto = site.stage_index(target)
        except KeyError:
            raise PolicyError(
                f"site {site.name!r} has no stage {target!r}; targets are: {', '.join(targets(site))}"
            ) from None
    rules = _management_rules(site)
    for f in site.always_allowed:
        rules.append(
            Rule(
                f"always-{f.name}",
                "always",
                "permit",
                f.protocol,
                (),
                tuple(f.destinations),
                (),
                tuple(f.ports),
            )
        )
    for stage in site.stages[: upto + 1]:
        for f in stage.allow:
            rules.append(
                Rule(
                    f"stage-{f.name}",
                    "stage",
                    "permit",
                    f.protocol,
                    (),
                    tuple(f.destinations),
                    (),
                    tuple(f.ports),
                )
            )
    rules.append(Rule("deny-egress", "deny", "deny"))
    return Policy(site.name, target, tuple(rules))


def opened_by(site: Site, before: str, after: str) -> list[Rule]:
    """Rules permitted at ``after`` that were not at ``before`` (for "what this restore opens")."""
    old = {r.name for r in compute_policy(site, before).rules}
    return [r for r in compute_policy(site, after).rules if r.action == "permit" and r.name not in old]
