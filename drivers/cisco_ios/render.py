"""Render the neutral policy as IOS configuration lines (pure; golden-tested).

egressctl owns two ACLs, ``EGRESSCTL-V4`` (extended) and ``EGRESSCTL-V6``, applied *inbound on the inside
interfaces*: IOS has no zone pair, and inbound on the inside is where traffic leaving the site first
meets the router. This also filters traffic to the router itself and between inside interfaces, which is
why the management rules come first; anything else the deny catches is the neutral policy's deny, by
design. Each ACE is one policy atom (IOS allows one address and one port range per entry), in atom order;
a remark before each rule's entries carries its name, and the first remark is the marker. Replacing is
remove + recreate, within the same revert-timer session.
"""

from __future__ import annotations

from egressctl_drivers.cisco_ios import constants as c
from egressctl_drivers.cisco_ios.parse import bindings, has_acl
from egressctl_drivers.common.state import holds, marker

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, Network, PortRange
from egressctl.policy import Policy, Rule


def _addr(net: Network | None) -> str:
    if net is None or net.prefixlen == 0:
        return "any"
    if net.prefixlen == net.max_prefixlen:
        return f"host {net.network_address}"
    if net.version == 4:
        return f"{net.network_address} {net.hostmask}"
    return str(net)


def _port(p: PortRange | None) -> list[str]:
    if p is None:
        return []
    return [f"eq {p.first}"] if p.first == p.last else [f"range {p.first} {p.last}"]


def aces(rule: Rule, fam: int) -> list[str]:
    """The ACEs of one rule for one family, in atom order."""
    action = "permit" if rule.action == "permit" else "deny"
    proto = {"any": "ip" if fam == 4 else "ipv6", "tcp": "tcp", "udp": "udp", "icmp": "icmp"}[rule.protocol]
    srcs: list[Network | None] = [n for n in rule.sources if n.version == fam] or [None]
    dsts: list[Network | None] = [n for n in rule.destinations if n.version == fam] or [None]
    sps: list[PortRange | None] = list(rule.src_ports) or [None]
    dps: list[PortRange | None] = list(rule.dst_ports) or [None]
    out: list[str] = []
    for s in srcs:
        for d in dsts:
            for sp in sps:
                for dp in dps:
                    out.append(" ".join([action, proto, _addr(s), *_port(sp), _addr(d), *_port(dp)]))
    return out


def acl_lines(policy: Policy, fam: int) -> list[str]:
    """``ip access-list extended EGRESSCTL-V4`` (or the IPv6 list) with remarks and entries."""
    head = f"ip access-list extended {c.ACL4}" if fam == 4 else f"ipv6 access-list {c.ACL6}"
    out = [head, f" remark {marker(policy)}"]
    for rule in policy.rules:
        if fam in rule.families():
            out.append(f" remark {rule.name}")
            out.extend(f" {ace}" for ace in aces(rule, fam))
    return out


def _unbind(device: Device, bound: dict[str, set[str]]) -> list[str]:
    out: list[str] = []
    for itf in device.inside:
        names = bound.get(itf, set())
        cmds = [f" no ip access-group {c.ACL4} in"] if c.ACL4 in names else []
        cmds += [f" no ipv6 traffic-filter {c.ACL6} in"] if c.ACL6 in names else []
        if cmds:
            out += [f"interface {itf}", *cmds]
    return out


def render(device: Device, policy: Policy, current: DeviceState | None) -> list[str]:
    """Configuration lines taking the router from ``current`` to ``policy`` ([] when already there).

    With ``current=None`` (unknown), the lines assume egressctl's ACLs might exist and remove them first.
    """
    if holds(policy, current):
        return []
    raw = current.raw if current is not None else None
    bound = bindings(raw) if raw is not None else {i: {c.ACL4, c.ACL6} for i in device.inside}
    exists4 = raw is None or has_acl(raw, 4)
    exists6 = raw is None or has_acl(raw, 6)
    removal = [f"no ip access-list extended {c.ACL4}"] if exists4 else []
    removal += [f"no ipv6 access-list {c.ACL6}"] if exists6 else []
    if policy.is_normal:
        return [*_unbind(device, bound), *removal]
    out = [*removal, *acl_lines(policy, 4), *acl_lines(policy, 6)]
    for itf in device.inside:
        out += [f"interface {itf}", f" ip access-group {c.ACL4} in", f" ipv6 traffic-filter {c.ACL6} in"]
    return out


def foreign_inbound(device: Device, raw: str) -> dict[str, list[str]]:
    """Site ACLs already applied inbound on an inside interface (IOS allows one per direction)."""
    owned = {c.ACL4, c.ACL6}
    return {i: sorted(n - owned) for i, n in bindings(raw).items() if i in device.inside and n - owned}

