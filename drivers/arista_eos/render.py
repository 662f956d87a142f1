"""Render the neutral policy as EOS configuration lines (pure; golden-tested).

egressctl owns one IPv4 and one IPv6 ACL, applied ``out`` on the device's *outside* interfaces (the
distribution switch's uplinks toward the firewalls or the provider): an egress ACL sees exactly the traffic
leaving the site, in its original direction, and never filters the switch's own traffic or traffic to the
switch (the operators' SSH, IPv6 neighbour discovery). Each entry is one policy atom, in atom order; a
remark before each rule's entries carries its name, the first remark is the marker and the second the
operation's stamp.

The lines are loaded in a configuration session and EOS applies the whole session at commit in one step,
so the ACL is simply rebuilt (``no ip access-list`` then the new one): nothing is live before the commit
and no slot dance is needed, unlike IOS's line-by-line running config.
"""

from __future__ import annotations

from egressctl_drivers.arista_eos import constants as c
from egressctl_drivers.arista_eos.parse import acl_blocks, bindings, group_key, owned_name
from egressctl_drivers.common.state import bare_marker, holds, stamp_text

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, Network, PortRange
from egressctl.policy import Policy, Rule

_INDENT = "   "


def _addr(net: Network | None) -> str:
    if net is None or net.prefixlen == 0:
        return "any"
    if net.prefixlen == net.max_prefixlen:
        return f"host {net.network_address}"
    return str(net)


def _port(p: PortRange | None) -> list[str]:
    if p is None:
        return []
    return [f"eq {p.first}"] if p.first == p.last else [f"range {p.first} {p.last}"]


def entries(rule: Rule, fam: int) -> list[str]:
    """The entries of one rule for one family, in atom order."""
    action = "permit" if rule.action == "permit" else "deny"
    names = {"any": "ip" if fam == 4 else "ipv6", "tcp": "tcp", "udp": "udp",
             "icmp": "icmp" if fam == 4 else "icmpv6"}
    srcs: list[Network | None] = [n for n in rule.sources if n.version == fam] or [None]
    dsts: list[Network | None] = [n for n in rule.destinations if n.version == fam] or [None]
    sps: list[PortRange | None] = list(rule.src_ports) or [None]
    dps: list[PortRange | None] = list(rule.dst_ports) or [None]
    return [" ".join([action, names[rule.protocol], _addr(s), *_port(sp), _addr(d), *_port(dp)])
            for s in srcs for d in dsts for sp in sps for dp in dps]


def acl_lines(policy: Policy, fam: int) -> list[str]:
    """``ip access-list EGRESSCTL-V4`` (or the IPv6 list) with its remarks and entries."""
    head = f"ip access-list {c.ACL4}" if fam == 4 else f"ipv6 access-list {c.ACL6}"
    stamp = stamp_text()
    out = [head, f"{_INDENT}remark {bare_marker(policy)}", *([f"{_INDENT}remark {stamp}"] if stamp else [])]
    for rule in policy.rules:
        if fam in rule.families():
            out.append(f"{_INDENT}remark {rule.name}")
            out += [f"{_INDENT}{e}" for e in entries(rule, fam)]
    return out


def _group(fam: int, negate: bool = False) -> str:
    line = f"{'ip' if fam == 4 else 'ipv6'} access-group {owned_name(fam)} {c.DIRECTION}"
    return f"{_INDENT}{'no ' if negate else ''}{line}"


def render(device: Device, policy: Policy, current: DeviceState | None) -> list[str]:
    """Session lines taking the switch from ``current`` to ``policy`` ([] when already there).

    ``current`` says which owned ACLs exist and where they are bound; with ``current=None`` (a preview)
    nothing is assumed to exist.
    """
    if holds(policy, current):
        return []
    raw = current.raw if current is not None else ""
    have = acl_blocks(raw)
    bound = bindings(raw)
    exists = [fam for fam in (4, 6) if (fam, owned_name(fam)) in have]
    drops = [f"no {'ip' if f == 4 else 'ipv6'} access-list {owned_name(f)}" for f in exists]
    if policy.is_normal:
        out: list[str] = []
        for itf in device.outside:
            lines = [_group(f, negate=True) for f in (4, 6)
                     if bound.get(itf, {}).get(group_key(f)) == owned_name(f)]
            out += [f"interface {itf}", *lines] if lines else []
        return out + drops
    out = [*drops, *acl_lines(policy, 4), *acl_lines(policy, 6)]
    for itf in device.outside:
        out += [f"interface {itf}", _group(4), _group(6)]
    return out


def foreign_groups(device: Device, raw: str) -> dict[str, list[str]]:
    """Site ACLs bound in egressctl's direction on an outside interface (EOS allows one per family)."""
    out: dict[str, list[str]] = {}
    for itf, groups in bindings(raw).items():
        if itf not in device.outside:
            continue
        names = [groups[group_key(f)] for f in (4, 6)
                 if group_key(f) in groups and groups[group_key(f)] != owned_name(f)]
        if names:
            out[itf] = sorted(names)
    return out


def timer(seconds: int) -> str:
    """``hh:mm:ss`` of ``seconds`` clamped to what egressctl arms (see ``constants.TIMER_MIN_SECONDS``)."""
    s = min(c.TIMER_MAX_SECONDS, max(c.TIMER_MIN_SECONDS, seconds))
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
