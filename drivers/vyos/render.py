"""Render the neutral policy as VyOS ``set``/``delete`` lines (pure; golden-tested).

egressctl owns one chain per family (``firewall ipv4 name EGRESSCTL-V4``, ``ipv6 name EGRESSCTL-V6``) and
one jump per outside interface at the head of the forward filter (rules 1..9, ``outbound-interface name``):
the chains see exactly what leaves the site by its uplinks, never the router's own traffic or traffic to
it. Each policy atom is one rule (10, 20, ...) whose description is the rule's name; a permit ``return``s
to the forward filter (the site's own rules still decide), a deny drops, ``default-action drop`` ends the
chain. The chain's description carries the marker and the operation's stamp.

The lines go into the working configuration and VyOS applies them all at commit in one step, so a chain is
simply rebuilt (``delete`` then ``set``): nothing is live before the commit.
"""

from __future__ import annotations

from egressctl_drivers.common.state import holds, marker
from egressctl_drivers.vyos import constants as c
from egressctl_drivers.vyos.parse import jump_rules, owned_chains

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, Network, PortRange
from egressctl.policy import Policy, Rule


def _q(text: str) -> str:
    """A value in single quotes, as ``show configuration commands`` prints it."""
    return "'" + text.replace("'", "") + "'"


def _port(p: PortRange) -> str:
    return str(p.first) if p.first == p.last else f"{p.first}-{p.last}"


def rule_lines(head: str, num: int, rule: Rule, fam: int, src: Network | None, dst: Network | None,
               sport: PortRange | None, dport: PortRange | None) -> list[str]:
    """The ``set`` lines of one atom (rule ``num`` of the chain at ``head``)."""
    at = f"{head} rule {num}"
    out = [f"{at} action {_q(c.VERDICT[rule.action])}", f"{at} description {_q(rule.name)}"]
    if rule.protocol != "any":
        proto = "ipv6-icmp" if rule.protocol == "icmp" and fam == 6 else rule.protocol
        out.append(f"{at} protocol {_q(proto)}")
    for side, net, port in (("source", src, sport), ("destination", dst, dport)):
        if net is not None and net.prefixlen:
            out.append(f"{at} {side} address {_q(str(net))}")
        if port is not None:
            out.append(f"{at} {side} port {_q(_port(port))}")
    return out


def chain_lines(policy: Policy, fam: int) -> list[str]:
    """``set firewall ipvX name EGRESSCTL-VX ...``: description (marker), default drop, one rule per atom."""
    head = f"set firewall {c.FAMILY_WORD[fam]} name {c.CHAIN[fam]}"
    out = [f"{head} default-action 'drop'", f"{head} description {_q(marker(policy))}"]
    num = 0
    for rule in policy.rules:
        if fam not in rule.families():
            continue
        srcs: list[Network | None] = [n for n in rule.sources if n.version == fam] or [None]
        dsts: list[Network | None] = [n for n in rule.destinations if n.version == fam] or [None]
        sps: list[PortRange | None] = list(rule.src_ports) or [None]
        dps: list[PortRange | None] = list(rule.dst_ports) or [None]
        for s in srcs:
            for d in dsts:
                for sp in sps:
                    for dp in dps:
                        num += c.RULE_STEP
                        out += rule_lines(head, num, rule, fam, s, d, sp, dp)
    return out


def jump_lines(device: Device, fam: int) -> list[str]:
    """One jump per outside interface at the head of the forward filter."""
    out: list[str] = []
    for i, itf in enumerate(device.outside):
        at = f"set firewall {c.FAMILY_WORD[fam]} forward filter rule {c.JUMP_FIRST + i}"
        out += [f"{at} action 'jump'", f"{at} description {_q(c.JUMP_DESCRIPTION)}",
                f"{at} jump-target {_q(c.CHAIN[fam])}", f"{at} outbound-interface name {_q(itf)}"]
    return out


def render(device: Device, policy: Policy, current: DeviceState | None) -> list[str]:
    """Lines taking the router from ``current`` to ``policy`` ([] when already there).

    ``current`` says which owned chains and jumps exist; with ``current=None`` (a preview) nothing is
    assumed to exist.
    """
    if holds(policy, current):
        return []
    raw = current.raw if current is not None else ""
    jumps = jump_rules(raw)
    out = [f"delete firewall {c.FAMILY_WORD[f]} forward filter rule {n}" for f, n in sorted(jumps)]
    out += [f"delete firewall {c.FAMILY_WORD[f]} name {c.CHAIN[f]}" for f in sorted(owned_chains(raw))]
    if policy.is_normal:
        return out
    for fam in (4, 6):
        out += chain_lines(policy, fam)
    for fam in (4, 6):
        out += jump_lines(device, fam)
    return out


def foreign_rules(device: Device, raw: str) -> list[str]:
    """Site rules where egressctl's jumps go (forward filter rules 1..n not egressctl's)."""
    from egressctl_drivers.vyos.parse import forward_rules

    mine = jump_rules(raw)
    wanted = {(f, c.JUMP_FIRST + i) for f in (4, 6) for i in range(len(device.outside))}
    return sorted(f"{c.FAMILY_WORD[f]} forward filter rule {n}" for f, n in forward_rules(raw)
                  if (f, n) in wanted and (f, n) not in mine)
