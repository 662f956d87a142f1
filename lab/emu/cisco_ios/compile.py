"""Compile the IOS running configuration into nftables, with IOS ACL semantics.

* ``ip access-group A in`` on an interface filters IPv4 packets *entering* it: forwarded ones and those
  addressed to the router itself (input hook). ``out`` filters forwarded packets *leaving* it; IOS does
  not filter its own locally generated traffic with outbound ACLs, so no output hook.
* First match wins; an applied ACL ends with an implicit ``deny ip any any``. IPv6 ACLs also carry IOS's
  implicit ``permit icmp any any nd-na`` / ``nd-ns`` (neighbour discovery, *not* router solicitation or
  advertisement) before that deny; an explicit ``deny ipv6 any any`` comes first and so drops ND as well.
* ACLs are stateless (return traffic needs its own permit), as on IOS without reflexive ACLs/ZBF.
* A referenced ACL that does not exist, or has no permit/deny entries, permits everything (IOS: "an
  empty ACL permits all"; the implicit deny exists only once the list has an entry). Remarks are
  comments, not entries (``show access-lists`` does not list them), so a list holding only remarks is
  empty and permits everything too. An ACL being built therefore starts filtering at its first entry.

A permitting ACE ``return``s to the base chain so the outbound ACL of the egress interface still applies.

``shutdown`` on an interface stops every packet through it, in and out, the device's own included (an
administratively down port passes nothing); those drops come before any ACL.
"""

from __future__ import annotations

import ipaddress

from egressctl_lab.emu.cisco_ios import constants as c
from egressctl_lab.emu.cisco_ios.model import Acl, Addr, Config, Match, Ports
from egressctl_lab.emu.dataplane import table

_ND_TYPES = "{ " + ", ".join(str(t) for t in c.IMPLICIT_ND6) + " }"


def ruleset(cfg: Config) -> str:
    """The full ``inet egressctl_emu`` table text for ``cfg``."""
    chains: dict[tuple[str, int], str] = {}
    acl_chains: list[str] = []

    def chain_for(name: str | None, family: int) -> str | None:
        acl = cfg.acls.get((family, name)) if name else None
        if acl is None or not acl.aces():
            return None
        key = (acl.name, family)
        if key not in chains:
            chains[key] = f"acl{family}_{len(chains)}"
            acl_chains.append(_acl_chain(chains[key], acl))
        return chains[key]

    down = [i.kernel for i in cfg.interfaces.values() if i.kernel and i.shutdown]
    forward = [f'{way}ifname "{k}" drop' for k in down for way in ("i", "o")]
    inbound = [f'iifname "{k}" drop' for k in down]
    outbound = [f'oifname "{k}" drop' for k in down]
    for itf in cfg.interfaces.values():
        if not itf.kernel:  # a Loopback or Tunnel made by configuration carries no lab traffic
            continue
        for family, name_in, name_out in ((4, itf.acl_in4, itf.acl_out4), (6, itf.acl_in6, itf.acl_out6)):
            proto = "ipv4" if family == 4 else "ipv6"
            chain_in = chain_for(name_in, family)
            if chain_in:
                rule = f'iifname "{itf.kernel}" meta nfproto {proto} jump {chain_in}'
                forward.append(rule)
                inbound.append(rule)
            chain_out = chain_for(name_out, family)
            if chain_out:
                forward.append(f'oifname "{itf.kernel}" meta nfproto {proto} jump {chain_out}')
    body = [
        _base("input", inbound),
        _base("forward", forward),
        *([_base("output", outbound)] if outbound else []),
        *acl_chains,
    ]
    return table("\n".join(body))


def _base(hook: str, rules: list[str]) -> str:
    lines = [f"  chain {hook} {{", f"    type filter hook {hook} priority filter; policy accept;"]
    lines += [f"    {r}" for r in rules]
    lines.append("  }")
    return "\n".join(lines)


def _acl_chain(name: str, acl: Acl) -> str:
    lines = [f"  chain {name} {{", f"    # {'ip' if acl.family == 4 else 'ipv6'} access-list {acl.name}"]
    for entry in acl.aces():
        assert entry.match is not None
        verdict = "return" if entry.action == "permit" else "drop"
        lines.append(f"    {' '.join(match_expr(entry.match, acl.family))} counter {verdict}")
    if acl.family == 6:
        lines.append(f"    icmpv6 type {_ND_TYPES} return")
    lines.append("    counter drop")
    lines.append("  }")
    return "\n".join(lines)


def match_expr(m: Match, family: int) -> list[str]:
    """The nft match statements for one ACE."""
    out: list[str] = []
    if m.proto is not None:
        out.append(f"meta l4proto {m.proto}")
    out += _addr_expr(m.src, "saddr", family)
    out += _addr_expr(m.dst, "daddr", family)
    if m.sport:
        out.append(_ports_expr(m.proto_name, "sport", m.sport))
    if m.dport:
        out.append(_ports_expr(m.proto_name, "dport", m.dport))
    if m.icmp_type is not None:
        out.append(f"{'icmp' if family == 4 else 'icmpv6'} type {m.icmp_type}")
    if m.icmp_code is not None:
        out.append(f"{'icmp' if family == 4 else 'icmpv6'} code {m.icmp_code}")
    if m.established:
        out.append("tcp flags & (ack | rst) != 0")
    return out or ["meta nfproto " + ("ipv4" if family == 4 else "ipv6")]


def _addr_expr(a: Addr, field: str, family: int) -> list[str]:
    ip = "ip" if family == 4 else "ip6"
    if a.kind == "any":
        return []
    if a.kind in ("host", "prefix"):
        return [f"{ip} {field} {a.addr.lower()}"]
    mask = ~int(ipaddress.IPv4Address(a.wildcard)) & 0xFFFFFFFF
    bits = bin(mask).count("1")
    if mask == (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF:
        return [f"{ip} {field} {a.addr}/{bits}"]
    return [f"{ip} {field} & {ipaddress.IPv4Address(mask)} == {a.addr}"]


def _ports_expr(proto: str, field: str, p: Ports) -> str:
    head = f"{proto} {field}"
    if p.op == "range":
        return f"{head} {p.values[0]}-{p.values[1]}"
    if p.op == "eq":
        if len(p.values) == 1:
            return f"{head} {p.values[0]}"
        return f"{head} {{ {', '.join(str(v) for v in p.values)} }}"
    symbol = {"neq": "!=", "lt": "<", "gt": ">"}[p.op]
    return f"{head} {symbol} {p.values[0]}"
