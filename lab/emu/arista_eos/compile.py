"""Compile the EOS running configuration into nftables, with EOS ACL semantics.

* ``ip access-group A in`` on an interface filters IPv4 packets *entering* it, forwarded ones and those
  addressed to the switch (input hook); ``out`` filters forwarded packets *leaving* it. The switch's own
  packets are never filtered by an egress ACL, so there is no output hook. ``ipv6 access-group`` likewise.
* First match wins and an applied ACL ends with an implicit deny. ACLs are stateless: every packet of an
  established flow meets the ACL in force now, so a cut ends flows by itself (nothing to clear).
* A group naming an ACL that does not exist filters nothing [M]; an ACL that exists, even one holding only
  remarks, ends in the implicit deny [M].
* A permitting entry ``return``s to the base chain, so the egress ACL of the leaving interface still applies.
"""

from __future__ import annotations

from egressctl_lab.emu.arista_eos.acl import Acl, Match, Ports
from egressctl_lab.emu.arista_eos.model import Config
from egressctl_lab.emu.dataplane import table


def ruleset(cfg: Config) -> str:
    """The full ``inet egressctl_emu`` table text for ``cfg``."""
    chains: dict[tuple[int, str], str] = {}
    bodies: list[str] = []

    def chain_for(family: int, name: str) -> str | None:
        acl = cfg.acls.get((family, name))
        if acl is None:
            return None
        if (family, name) not in chains:
            chains[(family, name)] = f"acl{family}_{len(chains)}"
            bodies.append(_acl_chain(chains[(family, name)], acl))
        return chains[(family, name)]

    forward: list[str] = []
    inbound: list[str] = []
    for itf in cfg.interfaces.values():
        if itf.kernel is None or itf.shutdown:
            continue
        for key, name in itf.groups.items():
            fam_word, direction = key.split()
            family = 4 if fam_word == "ip" else 6
            chain = chain_for(family, name)
            if chain is None:
                continue
            proto = "ipv4" if family == 4 else "ipv6"
            if direction == "in":
                rule = f'iifname "{itf.kernel}" meta nfproto {proto} jump {chain}'
                forward.append(rule)
                inbound.append(rule)
            else:
                forward.append(f'oifname "{itf.kernel}" meta nfproto {proto} jump {chain}')
    return table("\n".join([_base("input", inbound), _base("forward", forward), *bodies]))


def _base(hook: str, rules: list[str]) -> str:
    lines = [f"  chain {hook} {{", f"    type filter hook {hook} priority filter; policy accept;"]
    lines += [f"    {r}" for r in rules]
    return "\n".join([*lines, "  }"])


def _acl_chain(name: str, acl: Acl) -> str:
    lines = [f"  chain {name} {{", f"    # {'ip' if acl.family == 4 else 'ipv6'} access-list {acl.name}"]
    for entry in acl.rules():
        assert entry.match is not None
        verdict = "return" if entry.action == "permit" else "drop"
        lines.append(f"    {' '.join(match_expr(entry.match, acl.family))} counter {verdict}")
    return "\n".join([*lines, "    counter drop", "  }"])


def match_expr(m: Match, family: int) -> list[str]:
    """The nft match statements for one entry."""
    ip = "ip" if family == 4 else "ip6"
    out: list[str] = [] if m.proto is None else [f"meta l4proto {m.proto}"]
    for net, fld in ((m.src, "saddr"), (m.dst, "daddr")):
        if net.prefixlen:
            out.append(f"{ip} {fld} {net}")
    if m.sport:
        out.append(_ports(m.proto_name, "sport", m.sport))
    if m.dport:
        out.append(_ports(m.proto_name, "dport", m.dport))
    if m.icmp is not None:
        word = "icmp" if family == 4 else "icmpv6"
        out.append(f"{word} type {m.icmp[0]}")
        if m.icmp[1] is not None:
            out.append(f"{word} code {m.icmp[1]}")
    return out or [f"meta nfproto {'ipv4' if family == 4 else 'ipv6'}"]


def _ports(proto: str, fld: str, p: Ports) -> str:
    head = f"{proto} {fld}"
    if p.op == "range":
        return f"{head} {p.values[0]}-{p.values[1]}"
    if p.op == "eq":
        listed = ", ".join(map(str, p.values))
        return f"{head} {p.values[0]}" if len(p.values) == 1 else f"{head} {{ {listed} }}"
    return f"{head} {({'neq': '!=', 'lt': '<', 'gt': '>'})[p.op]} {p.values[0]}"
