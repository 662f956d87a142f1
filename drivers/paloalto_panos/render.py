"""Render a neutral policy as PAN-OS configure-mode lines, and prove the management path in a candidate.

PAN-OS changes a *candidate* that takes effect only at ``commit``, atomically, so line order does not
open transient holes as it would on FortiOS. The render still only touches what egressctl owns: address
objects, service objects and security rules named ``egressctl-*``, from the device's inside zones to its
outside zones, moved to the top of the rulebase in policy order. A rule whose content changed is deleted
and re-created (PAN-OS ``set`` on a member list *adds* members, it never replaces them), then moved.
Only what differs from the device is sent, so a second apply renders nothing. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from egressctl_drivers.common import ordering
from egressctl_drivers.common.state import marker, same_but_stamp
from egressctl_drivers.paloalto_panos import constants as C
from egressctl_drivers.paloalto_panos.parse import PanConfig, PanService, is_owned, parse_config, rule_meaning

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device, Network, PortRange
from egressctl.policy import Policy, Rule, atoms

Fields = dict[str, list[str]]
#: Field order of a rendered security rule (also the order ``set`` lines are sent in).
RULE_FIELDS = ("from", "to", "source", "destination", "source-user", "category", "application", "service",
               "action", "description")


def address_name(net: Network) -> str:
    """Owned address object name for a prefix (PAN-OS names allow ``.``, ``_`` and ``-``, not ``:``/``/``)."""
    return f"{C.OWNED_PREFIX}{str(net.network_address).replace(':', '_')}-{net.prefixlen}"


def object_name(rule: Rule) -> str:
    """Owned rule and service name for a neutral rule (63 characters at most)."""
    return f"{C.OWNED_PREFIX}{rule.name}"[: C.NAME_MAX]


def _nets(nets: Iterable[Network], fams: tuple[int, ...]) -> list[Network]:
    return [n for n in nets if n.version in fams]


def _ports(ranges: tuple[PortRange, ...]) -> list[str]:
    return [str(p) for p in ranges]


def _service(rule: Rule) -> PanService | None:
    if rule.protocol not in ("tcp", "udp"):
        return None
    return PanService(rule.protocol, _ports(rule.dst_ports) or [C.FULL_RANGE], _ports(rule.src_ports))


def _members(values: list[str]) -> list[str]:
    return values or [C.ANY]


def rule_fields(device: Device, policy: Policy, rule: Rule) -> Fields:
    """The fields of the security rule that enforces ``rule`` on ``device``."""
    fams = rule.families()
    apps = [C.ICMP_APPS[f] for f in fams] if rule.protocol == "icmp" else [C.ANY]
    return {
        "from": list(device.inside),
        "to": list(device.outside),
        "source": _members([address_name(n) for n in _nets(rule.sources, fams)]),
        "destination": _members([address_name(n) for n in _nets(rule.destinations, fams)]),
        "source-user": [C.ANY],
        "category": [C.ANY],
        "application": apps,
        "service": [object_name(rule)] if _service(rule) else [C.ANY],
        "action": [C.PERMIT if rule.action == "permit" else C.DENY],
        "description": [f"{marker(policy)} {C.RULE_TAG_FORMAT.format(rule=rule.name, kind=rule.kind)}"],
    }


def _value(values: list[str]) -> str:
    return values[0] if len(values) == 1 else f"[ {' '.join(values)} ]"


def _rule_lines(name: str, fields: Fields) -> list[str]:
    out = []
    for key in RULE_FIELDS:
        v = fields[key]
        text = f'"{v[0]}"' if key == "description" else _value(v)
        out.append(f"set {C.RULES_PATH} {name} {key} {text}")
    return out


def _service_line(name: str, svc: PanService) -> str:
    line = f"set service {name} protocol {svc.protocol} port {','.join(svc.port)}"
    return line + (f" source-port {','.join(svc.source_port)}" if svc.source_port else "")


#: Fields holding one value, which ``set`` replaces (member lists would be added to instead).
SCALAR_FIELDS = ("action", "description")


def _differs(key: str, have: list[str], want: list[str], strict: bool) -> bool:
    """Not ``strict``, a description differing only in its stamp is not rewritten (see :func:`render`)."""
    if not strict and key == "description" and len(have) == len(want) == 1:
        return not same_but_stamp(have[0], want[0])
    return have != want


def _changed(have: Fields, want: Fields, strict: bool) -> list[str]:
    """Names of the fields whose device value differs from the wanted one."""
    defaults = {"source-user": [C.ANY], "category": [C.ANY]}
    return [k for k, v in want.items() if _differs(k, have.get(k, defaults.get(k, [])), v, strict)]


def _moves(order: list[str], desired: list[str], stale: set[str]) -> list[str]:
    """``move`` lines putting ``desired`` at the top of the rulebase, in order."""
    return [f"move {C.RULES_PATH} {m.item} top" if m.kind == "first" else
            f"move {C.RULES_PATH} {m.item} after {m.anchor}" for m in ordering.moves(order, desired, stale)]


def render(device: Device, policy: Policy, current: DeviceState | None) -> list[str]:
    """PAN-OS candidate lines from ``current`` (parsed from its ``raw`` read-back) to ``policy``.

    A device in place under another operation's stamp needs nothing; once something must change, every
    owned rule's description carries this operation's stamp.
    """
    cfg = parse_config(current.raw) if current is not None else PanConfig()
    addrs: dict[str, Network] = {}
    svcs: dict[str, PanService] = {}
    for r in policy.rules:
        fams = r.families()
        for n in _nets(r.sources, fams) + _nets(r.destinations, fams):
            addrs[address_name(n)] = n
        if (svc := _service(r)) is not None:
            svcs[object_name(r)] = svc
    head = [f"set address {n} ip-netmask {net}" for n, net in addrs.items()
            if cfg.addresses.get(n) != str(net)]
    head += [_service_line(n, s) for n, s in svcs.items() if cfg.services.get(n) != s]
    rest = _rules(device, policy, cfg, (svcs, addrs), strict=False)
    if head or rest:  # a change: every owned rule gets this operation's stamp (one owner in the read-back)
        rest = _rules(device, policy, cfg, (svcs, addrs), strict=True)
    return head + rest


def _rules(device: Device, policy: Policy, cfg: PanConfig, objects: tuple[dict[str, PanService],
           dict[str, Network]], strict: bool) -> list[str]:
    """Rule edits, moves and deletes, then the deletes of unused objects."""
    svcs, addrs = objects
    order = list(cfg.rules)
    owned = {n for n in order if is_owned(cfg, n)}
    body: list[str] = []
    desired: list[str] = []
    for r in policy.rules:
        name, want = object_name(r), rule_fields(device, policy, r)
        desired.append(name)
        changed = _changed(cfg.rules[name], want, strict) if name in owned else list(want)
        if not changed:
            continue
        if name in owned and set(changed) <= set(SCALAR_FIELDS):
            body += [ln for ln in _rule_lines(name, want) if ln.split()[5] in changed]
            continue
        if name in owned:
            body.append(f"delete {C.RULES_PATH} {name}")
            order.remove(name)
        body += _rule_lines(name, want)
        order.append(name)
    stale = owned - set(desired)
    body += _moves(order, desired, stale)
    tail = [f"delete {C.RULES_PATH} {n}" for n in order if n in stale]
    tail += [f"delete service {n}" for n in cfg.services if n.startswith(C.OWNED_PREFIX) and n not in svcs]
    tail += [f"delete address {n}" for n in cfg.addresses if n.startswith(C.OWNED_PREFIX) and n not in addrs]
    return body + tail


def _covers(rule: Rule, dest: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> bool:
    if rule.action != "permit" or rule.protocol not in ("any", "tcp"):
        return False
    if rule.destinations and not any(dest in n for n in rule.destinations):
        return False
    return not rule.dst_ports or any(p.first <= port <= p.last for p in rule.dst_ports)


def management_problems(device: Device, policy: Policy, candidate: PanConfig) -> list[str]:
    """Why the candidate would cut the management path (empty when it is proved), for the commit guard.

    The candidate's rulebase, in order, must permit (a) every management atom of ``policy`` and (b) SSH to
    the device's own management address, *above the first deny*. (b) holds even when the policy handed in
    lost its management rules, which is exactly the fault the guard exists for.
    """
    rules = [rule_meaning(candidate, n) for n in candidate.rules]
    first_deny = next((i for i, r in enumerate(rules) if r.action == "deny"), None)
    if first_deny is None:
        return []
    above = rules[:first_deny]
    problems: list[str] = []
    if not any(_covers(r, device.mgmt_address, 22) for r in above):
        problems.append(f"no rule above the first deny permits ssh to {device.mgmt_address}")
    want = atoms(r for r in policy.rules if r.kind == "management")
    have = atoms(r for r in above if r.action == "permit")
    for fam, items in want.items():
        missing = [a for a in items if a not in have[fam]]
        if missing:
            problems.append(f"{len(missing)} management atom(s) for IPv{fam} are not above the first deny")
    return problems
