"""PAN-OS commit validation and running configuration -> nftables ruleset.

Semantics kept from PAN-OS: security rules are evaluated top-down by source/destination zone, address
and service (first match); a disabled rule is skipped; after the rulebase come the predefined
``intrazone-default`` (allow) and ``interzone-default`` (deny) rules; sessions are stateful. Only forwarded
traffic is governed (management traffic to the firewall itself is not a security-rule matter).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping

from egressctl_lab.emu.dataplane import table as nft_table
from egressctl_lab.emu.fortinet import nftrules
from egressctl_lab.emu.fortinet.nftrules import ANY_L4, L4, Match, Network
from egressctl_lab.emu.paloalto_panos import constants as C
from egressctl_lab.emu.paloalto_panos.model import PanConfig

_VERDICTS = {"allow": "accept", "deny": "drop", "drop": "drop"}


def _literal(text: str) -> list[Network] | None:
    try:
        if "-" in text and "/" not in text:
            lo, hi = text.split("-", 1)
            return nftrules.networks_from_range(lo, hi)
        return [ipaddress.ip_network(text, strict=False)]
    except ValueError:
        return None


def _members(value: list[str] | str | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def resolve_address(cfg: PanConfig, name: str, seen: frozenset[str] = frozenset()) -> list[Network] | None:
    """Networks an address entry stands for (object, group or literal); None when it is unknown."""
    if name in cfg.addresses:
        obj = cfg.addresses[name]
        return _literal(obj.get("ip-netmask") or obj.get("ip-range", ""))
    if name in cfg.groups and name not in seen:
        nets: list[Network] = []
        for member in _members(cfg.groups[name].get("static")):
            nets += resolve_address(cfg, member, seen | {name}) or []
        return nets
    return _literal(name)


def _ports(text: str) -> tuple[tuple[int, int], ...]:
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.append((int(lo), int(hi or lo)))
    return tuple(out)


def resolve_service(cfg: PanConfig, name: str, apps: list[str]) -> list[L4] | None:
    """Layer-4 services for one service entry; None when it is unknown."""
    if name == "any" or (name == "application-default" and "any" in apps):
        return [ANY_L4]
    if name == "application-default":
        return [_app_l4(proto, ports) for app in apps for proto, ports in C.APPLICATIONS.get(app, ())]
    if name in C.PREDEFINED_SERVICES:
        proto, ports = C.PREDEFINED_SERVICES[name]
        return [L4(proto, _ports(ports))]
    svc = cfg.services.get(name)
    if svc is None or "protocol" not in svc or "port" not in svc:
        return None
    sports = _ports(svc["source-port"]) if "source-port" in svc else ()
    return [L4(svc["protocol"], _ports(svc["port"]), sports)]


def _app_l4(proto: str, ports: str) -> L4:
    if proto == "any":
        return ANY_L4
    return L4(proto, _ports(ports) if ports else ())


def validate(cfg: PanConfig) -> list[str]:
    """Commit-time errors (empty when the configuration may be committed)."""
    errors: list[str] = []
    for group, spec in cfg.groups.items():
        for member in _members(spec.get("static")):
            if resolve_address(cfg, member) is None:
                errors.append(C.GROUP_NOT_A_REFERENCE.format(group=group, value=member))
    for rule_name, rule in cfg.rules.items():
        errors += _rule_errors(cfg, rule_name, rule)
    return errors


def _rule_errors(cfg: PanConfig, name: str, rule: dict[str, list[str] | str]) -> list[str]:
    for attr in C.REQUIRED_ATTRS:
        if not rule.get(attr):
            return [C.MISSING.format(rule=name, attr=attr)]
    apps = _members(rule.get("application"))
    checks: dict[str, Callable[[str], bool]] = {
        "from": lambda v: v == "any" or v in cfg.zones,
        "to": lambda v: v == "any" or v in cfg.zones,
        "source": lambda v: v == "any" or resolve_address(cfg, v) is not None,
        "destination": lambda v: v == "any" or resolve_address(cfg, v) is not None,
        "application": lambda v: v in C.APPLICATIONS,
        "service": lambda v: resolve_service(cfg, v, apps) is not None,
    }
    errors: list[str] = []
    for attr, ok in checks.items():
        bad = [v for v in _members(rule.get(attr)) if not ok(v)]
        for value in bad:
            errors.append(C.NOT_A_REFERENCE.format(rule=name, attr=attr, value=value))
        if bad:
            errors.append(C.ATTR_INVALID.format(rule=name, attr=attr))
    return errors


def _zone_ifaces(cfg: PanConfig, zones: list[str], kernel: Mapping[str, str]) -> tuple[str, ...] | None:
    if "any" in zones:
        return None
    return tuple(kernel.get(i, i) for z in zones for i in cfg.zones.get(z, []))


def _nets(cfg: PanConfig, names: list[str]) -> tuple[Network, ...] | None:
    if "any" in names:
        return None
    return tuple(n for name in names for n in resolve_address(cfg, name) or [])


def _restrict_to_apps(services: list[L4], apps: list[str]) -> list[L4]:
    """Without App-ID, an application narrows a rule to the protocols it runs over (``icmp`` -> ICMP)."""
    if "any" in apps:
        return services
    protos = sorted({proto for app in apps for proto, _ in C.APPLICATIONS.get(app, ())})
    out: list[L4] = []
    for l4 in services:
        if l4.proto is None:
            out += [L4(proto) for proto in protos]
        elif l4.proto in protos:
            out.append(l4)
    return out


def rule_match(
    cfg: PanConfig, name: str, rule: dict[str, list[str] | str], kernel: Mapping[str, str]
) -> Match:
    """The first-match rule one security rule stands for."""
    apps = _members(rule.get("application"))
    services = [l4 for s in _members(rule.get("service")) for l4 in resolve_service(cfg, s, apps) or []]
    services = _restrict_to_apps(services, apps)
    action = str(rule.get("action", "allow"))
    return Match(
        iifs=_zone_ifaces(cfg, _members(rule.get("from")), kernel),
        oifs=_zone_ifaces(cfg, _members(rule.get("to")), kernel),
        src=_nets(cfg, _members(rule.get("source"))), dst=_nets(cfg, _members(rule.get("destination"))),
        services=tuple(services), verdict=_VERDICTS.get(action, "reset"), comment=f"rule {name}",
    )


def ruleset(cfg: PanConfig, kernel: Mapping[str, str]) -> str:
    """The full ``inet egressctl_emu`` table enforcing the running configuration ``cfg``."""
    lines: list[str] = []
    for name, rule in cfg.rules.items():
        if rule.get("disabled") != "yes":
            lines += nftrules.render(rule_match(cfg, name, rule, kernel))
    for zone in cfg.zones:
        ifaces = _zone_ifaces(cfg, [zone], kernel)
        lines += nftrules.render(Match(ifaces, ifaces, None, None, comment="intrazone-default"))
    return nft_table(nftrules.forward_chain(lines))
