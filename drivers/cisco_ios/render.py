"""Render the neutral policy as IOS configuration lines (pure; golden-tested).

egressctl owns one extended ACL and one IPv6 ACL, applied *inbound on the inside interfaces*: IOS has no
zone pair, and inbound on the inside is where traffic leaving the site first meets the router. This also
filters traffic to the router itself, including the controller's own in-band SSH session, which is why the
management rules come first; anything else the deny catches is the neutral policy's deny, by design. Each
ACE is one policy atom (IOS allows one address and one port range per entry), in atom order; a remark
before each rule's entries carries its name, and the first remark is the marker.

A change is **make-before-break**. IOS applies every line as it is typed, and an applied ACL with even one
entry ends in the implicit deny, so rebuilding the bound ACL in place cuts the session that types it after
its first line. Instead the new ACL is built complete under the slot not in use (``-A`` / ``-B``), each
inside interface is switched to it with a single ``ip access-group`` / ``ipv6 traffic-filter`` line (IOS
replaces the binding of that direction at once), and only then is the old ACL removed. All of it runs in
one revert-timer session.

The IPv6 ACL also permits neighbour discovery before its explicit deny (see ``constants.ND_ACES``), under
an infrastructure remark the parser skips.

A switch (``role: switch``) binds the same ACLs where :func:`~.parse.points` says: inbound on its SVIs and
outbound on its routed uplinks (mode ``acl``), or nowhere in mode ``shutdown-uplink``, where isolation shuts
the uplinks and the ACLs are only the record the read-back parses (:func:`_shutdown_uplinks`).
"""

from __future__ import annotations

from egressctl_drivers.cisco_ios import constants as c
from egressctl_drivers.cisco_ios.parse import Point, applied, bindings, existing, owned_names, points
from egressctl_drivers.common.state import bare_marker, holds, stamp_text

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


def _infra_lines(fam: int) -> list[str]:
    return [f" remark {c.INFRA_REMARK}", *(f" {ace}" for ace in c.ND_ACES)] if fam == 6 else []


def acl_lines(policy: Policy, fam: int, name: str | None = None) -> list[str]:
    """``ip access-list extended NAME`` (or the IPv6 list) with remarks and entries.

    In the IPv6 list, neighbour discovery is permitted just before the policy's final deny (or at the
    end when the policy has none), where IOS's own implicit ND permits would have been.
    """
    name = name or (c.ACL4 if fam == 4 else c.ACL6)
    head = f"ip access-list extended {name}" if fam == 4 else f"ipv6 access-list {name}"
    rules = [r for r in policy.rules if fam in r.families()]
    last_deny = bool(rules) and rules[-1].action == "deny"
    stamp = stamp_text()  # its own remark: IOS keeps 100 characters of a remark
    out = [head, f" remark {bare_marker(policy)}", *([f" remark {stamp}"] if stamp else [])]
    for i, rule in enumerate(rules):
        if last_deny and i == len(rules) - 1:
            out += _infra_lines(fam)
        out.append(f" remark {rule.name}")
        out.extend(f" {ace}" for ace in aces(rule, fam))
    return out if last_deny else out + _infra_lines(fam)


def _no_acl(fam: int, name: str) -> str:
    return f"no ip access-list extended {name}" if fam == 4 else f"no ipv6 access-list {name}"


def _bind(fam: int, name: str, negate: bool = False, direction: str = "in") -> str:
    cmd = f"ip access-group {name} {direction}" if fam == 4 else f"ipv6 traffic-filter {name} {direction}"
    return f" no {cmd}" if negate else f" {cmd}"


def _unbind(device: Device, bound: dict[Point, set[str]]) -> list[str]:
    out: list[str] = []
    for itf, way in points(device):
        names = bound.get((itf, way), set())
        cmds = [_bind(fam, n, True, way) for fam in (4, 6) for n in owned_names(fam) if n in names]
        if cmds:
            out += [f"interface {itf}", *cmds]
    return out


def _slot(device: Device, bound: dict[Point, set[str]], fam: int) -> tuple[str, list[str]]:
    """(slot to build the new ACL in, lines that must run first so that slot is bound nowhere inside).

    The new slot is the alternate of the one applied; when both slots are bound somewhere (a mixed,
    hand-edited state), every inside interface is first switched to the first interface's ACL, which
    frees the other slot without ever leaving an interface unfiltered.
    """
    slots = c.ACL4_SLOTS if fam == 4 else c.ACL6_SLOTS
    on = {pt: bound.get(pt, set()) & set(owned_names(fam)) for pt in points(device)}
    used = set().union(*on.values()) if on else set()
    active = applied(device, bound, fam)
    prefer = slots[1] if active == slots[0] else slots[0]
    free = [n for n in (prefer, *slots) if n not in used]
    if free:
        return free[0], []
    first = next(iter(on[points(device)[0]]))
    pre = [ln for (i, way), names in on.items() if names != {first}
           for ln in (f"interface {i}", _bind(fam, first, direction=way))]
    return (slots[1] if first == slots[0] else slots[0]), pre


def render(device: Device, policy: Policy, current: DeviceState | None) -> list[str]:
    """Configuration lines taking the router from ``current`` to ``policy`` ([] when already there).

    With ``current=None`` (unknown: plan previews only; a commit always renders from a read-back) the
    lines build slot A and remove every other owned name, assuming nothing is bound.
    """
    if holds(policy, current):
        return []
    raw = current.raw if current is not None else None
    bound = bindings(raw) if raw is not None else {}
    have = {f: existing(raw, f) if raw is not None else list(owned_names(f)) for f in (4, 6)}
    if device.switch is not None and device.switch.mode == "shutdown-uplink":
        return _shutdown_uplinks(device, policy, have)
    if policy.is_normal:
        return [*_unbind(device, bound), *(_no_acl(f, n) for f in (4, 6) for n in have[f])]
    pre: list[str] = []
    new: dict[int, str] = {}
    for fam in (4, 6):
        new[fam], lines = _slot(device, bound, fam)
        pre += lines
    out = [*pre, *(_no_acl(f, new[f]) for f in (4, 6) if new[f] in have[f])]
    out += [*acl_lines(policy, 4, new[4]), *acl_lines(policy, 6, new[6])]
    for itf, way in points(device):
        out += [f"interface {itf}", _bind(4, new[4], direction=way), _bind(6, new[6], direction=way)]
    return out + [_no_acl(f, n) for f in (4, 6) for n in have[f] if n != new[f]]


def _shutdown_uplinks(device: Device, policy: Policy, have: dict[int, list[str]]) -> list[str]:
    """Switch mode ``shutdown-uplink``: isolated shuts the uplinks, normal opens them (no stages).

    The policy is kept as unbound ACLs in slot A, a record the read-back parses (the shut uplinks enforce
    it; IOS ignores an ACL bound nowhere), so the device reads back as the target it was set to. Opening
    comes before the record goes, so a failure half-way reads back as ``unknown`` and is re-applied.
    """
    sw = device.switch
    assert sw is not None
    if not policy.is_normal and policy.target != "isolated":
        raise ValueError(f"switch mode shutdown-uplink has no stages (asked: {policy.target})")
    drop = [_no_acl(f, n) for f in (4, 6) for n in have[f]]
    if policy.is_normal:
        return [ln for u in sw.uplinks for ln in (f"interface {u}", " no shutdown")] + drop
    record = [*acl_lines(policy, 4, c.ACL4), *acl_lines(policy, 6, c.ACL6)]
    return [*drop, *record, *(ln for u in sw.uplinks for ln in (f"interface {u}", " shutdown"))]


def foreign_inbound(device: Device, raw: str) -> dict[str, list[str]]:
    """Site ACLs already applied where egressctl binds its own (IOS allows one per family and direction).

    Keyed by interface, followed by `` out`` for an outbound binding.
    """
    owned = {n for fam in (4, 6) for n in owned_names(fam)}
    found = bindings(raw)
    return {(i if way == "in" else f"{i} out"): sorted(found[(i, way)] - owned)
            for i, way in points(device) if found.get((i, way), set()) - owned}


# -- the archive the revert timer needs ---------------------------------------------------------------------
def _archive_body(section: str) -> list[str]:
    """Sub-commands of ``archive`` in ``show running-config | section ^archive`` (stripped)."""
    lines = section.replace("\r", "").splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.rstrip() == "archive"), None)
    if start is None:
        return []
    body: list[str] = []
    for ln in lines[start + 1:]:
        if not ln.startswith(" "):
            break
        if ln.strip():
            body.append(ln.strip())
    return body


def archive_setup(section: str) -> list[str]:
    """Lines giving the revert timer an archive path; [] when the router already has one (any owner)."""
    if any(ln.startswith("path ") for ln in _archive_body(section)):
        return []
    return ["archive", f" path {c.ARCHIVE_PATH}"]


def archive_cleanup(section: str) -> list[str]:
    """Lines removing the archive path egressctl added (recognised by its path); [] when it is not there.

    Only egressctl's own path line goes: when the site had put other settings under ``archive``
    (``maximum``, ``log config``...) they stay, and a site's own path is never egressctl's.
    """
    body = _archive_body(section)
    if f"path {c.ARCHIVE_PATH}" not in body:
        return []
    if body == [f"path {c.ARCHIVE_PATH}"]:
        return ["no archive"]
    return ["archive", " no path"]
