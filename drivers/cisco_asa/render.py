"""Render the neutral policy as ASA configuration lines (pure; golden-tested).

egressctl owns one unified ACL (IPv4 and IPv6 entries together, ASA 9.x), bound ``out`` on the device's
*outside* nameifs: it checks new connections leaving the site in their original direction and never
filters traffic to the ASA itself (its management is governed by ``ssh``/``http`` lines, not interface
ACLs). Each rule is a remark carrying its name, then one entry per family (and source port); a rule with
more than one source, destination or destination port in a family names an object-group of egressctl's
for them (``EGC-A-3-S4``...). The first remark is the marker and the second the operation's stamp.

The ASA applies each line at once, so the change is made before it breaks anything: the slot that is not
bound (``EGRESSCTL-A`` / ``-B``) is built, bound with ``access-group`` (which replaces the interface's ACL
of that direction in one step), and only then is the old slot removed with its groups.
"""

from __future__ import annotations

from egressctl_drivers.cisco_asa import constants as c
from egressctl_drivers.cisco_asa.parse import Owned, bound_slot, owned
from egressctl_drivers.common.state import bare_marker, holds, stamp_text

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, Network, PortRange
from egressctl.policy import Policy, Rule


def address(net: Network | None, fam: int) -> str:
    """One address operand."""
    if net is None or net.prefixlen == 0:
        return "any4" if fam == 4 else "any6"
    if net.prefixlen == net.max_prefixlen:
        return f"host {net.network_address}"
    return f"{net.network_address} {net.netmask}" if fam == 4 else str(net)


def port_op(p: PortRange) -> str:
    """``eq N`` or ``range A B``."""
    return f"eq {p.first}" if p.first == p.last else f"range {p.first} {p.last}"


class _Builder:
    """Lines of one slot: its object-groups first, then its ACL."""

    def __init__(self, slot: str) -> None:
        self.slot, self.groups, self.acl = slot, [], []  # type: tuple[str, list[str], list[str]]

    def group(self, name: str, head: str, members: list[str]) -> str:
        self.groups += [f"object-group {head.format(name=name)}", *(f" {m}" for m in members), "exit"]
        return f"object-group {name}"

    def nets(self, tag: str, nets: list[Network], fam: int) -> str:
        if len(nets) <= 1:
            return address(nets[0] if nets else None, fam)
        return self.group(tag, "network {name}", [f"network-object {address(n, fam)}" for n in nets])

    def ports(self, tag: str, proto: str, ports: list[PortRange]) -> list[str]:
        if len(ports) <= 1:
            return [port_op(p) for p in ports]
        return [self.group(tag, f"service {{name}} {proto}", [f"port-object {port_op(p)}" for p in ports])]

    def rule(self, n: int, rule: Rule, fam: int) -> None:
        action = "permit" if rule.action == "permit" else "deny"
        icmp = "icmp" if fam == 4 else "icmp6"
        proto = {"any": "ip", "tcp": "tcp", "udp": "udp", "icmp": icmp}[rule.protocol]
        tag = f"{c.GROUP_PREFIX}{self.slot[-1]}-{n}-{{}}{fam}"
        src = self.nets(tag.format("S"), [x for x in rule.sources if x.version == fam], fam)
        dst = self.nets(tag.format("D"), [x for x in rule.destinations if x.version == fam], fam)
        sport = self.ports(tag.format("Q"), proto, list(rule.src_ports))
        dport = self.ports(tag.format("P"), proto, list(rule.dst_ports))
        self.acl.append(" ".join([f"access-list {self.slot} extended {action} {proto}", src, *sport, dst,
                                  *dport]))


def slot_lines(slot: str, policy: Policy) -> list[str]:
    """The object-groups and the ACL of ``slot`` holding ``policy``."""
    b = _Builder(slot)
    stamp = stamp_text()
    b.acl = [f"access-list {slot} remark {bare_marker(policy)}",
             *([f"access-list {slot} remark {stamp}"] if stamp else [])]
    for n, rule in enumerate(policy.rules, start=1):
        fams = [f for f in (4, 6) if f in rule.families()]
        if fams:
            b.acl.append(f"access-list {slot} remark {rule.name}")
        for fam in fams:
            b.rule(n, rule, fam)
    return [*b.groups, *b.acl]


def removal(found: Owned, slot: str) -> list[str]:
    """Lines removing one slot: its ACL (bindings go with it) and then its groups ([] for no slot)."""
    if not slot:
        return []
    out = [f"clear configure access-list {slot}"] if slot in found.acls else []
    return out + [f"no {head}" for head in found.groups_of(slot)]


def render(device: Device, policy: Policy, current: DeviceState | None) -> list[str]:
    """Lines taking the ASA from ``current`` to ``policy`` ([] when already there)."""
    if holds(policy, current):
        return []
    found = owned(current.raw if current is not None else "")
    if policy.is_normal:
        unbind = [f"no access-group {s} {c.DIRECTION} interface {n}" for n, s in found.bindings.items()]
        return unbind + [x for s in c.SLOTS for x in removal(found, s)]
    old = bound_slot(device, found) or (c.SLOTS[1] if c.SLOTS[1] in found.acls else "")
    new = c.SLOTS[0] if old != c.SLOTS[0] else c.SLOTS[1]
    out = removal(found, new) + slot_lines(new, policy)
    out += [f"access-group {new} {c.DIRECTION} interface {n}" for n in device.outside]
    stray = [f"no access-group {s} {c.DIRECTION} interface {n}" for n, s in found.bindings.items()
             if n not in device.outside]
    return out + stray + removal(found, old)


def undo(device: Device, current: DeviceState, change: list[str]) -> list[str]:
    """Lines putting back egressctl's objects of ``current`` once ``change`` has been applied (the revert).

    The slot bound before is rebuilt from its read-back lines (groups, ACL) and bound again, which replaces
    what the change bound; then the slot and the groups the change created go. When nothing was bound
    before, the change's bindings, ACL and groups are simply removed (back to ``normal``).
    """
    found = owned(current.raw)
    slot = bound_slot(device, found)
    made = [ln for ln in change if ln.startswith("object-group ")]
    new = next((s for s in c.SLOTS if any(ln.startswith(f"access-list {s} ") for ln in change)), "")
    out: list[str] = []
    if slot:
        out += [f"clear configure access-list {slot}"]
        out += [x for head, body in found.groups.items() if head.split()[2][4] == slot[-1]
                for x in (head, *(f" {b}" for b in body), "exit")]
        out += [f"access-list {slot} {a}" for a in found.acls.get(slot, [])]
        out += [f"access-group {slot} {c.DIRECTION} interface {n}" for n in device.outside]
    elif new:
        out += [f"no access-group {new} {c.DIRECTION} interface {n}" for n in device.outside]
    if new and new != slot:
        out.append(f"clear configure access-list {new}")
    return out + [f"no {head}" for head in made]


def undo_needed(device: Device, raw_now: str, undo: list[str]) -> list[str]:
    """The part of ``undo`` still needed on a device showing ``raw_now`` (a change that stopped part-way).

    When the slot the undo rebuilds is still bound with exactly its previous entries, the change never got
    to it: only what the change added goes (from the new slot's ``clear configure`` on), so the previous
    ACL is never unbound, not even for the moment a rebuild takes. Otherwise the whole undo is needed.
    """
    found = owned(raw_now)
    slot = bound_slot(device, found)
    if not slot or f"clear configure access-list {slot}" not in undo[:1]:
        return undo
    mine = [ln for ln in undo if ln.startswith(f"access-list {slot} ")]
    if mine != [f"access-list {slot} {a}" for a in found.acls.get(slot, [])]:
        return undo
    start = next((i for i, ln in enumerate(undo) if ln.startswith("clear configure access-list ")
                  and ln != f"clear configure access-list {slot}"), len(undo))
    return undo[start:]


def foreign_groups(device: Device, raw: str) -> dict[str, str]:
    """Site ACLs bound ``out`` on an outside nameif (the ASA allows one per direction)."""
    return {n: a for n, a in owned(raw).foreign.items() if n in device.outside}
