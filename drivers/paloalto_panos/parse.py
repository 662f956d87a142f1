"""Parse PAN-OS configure-mode ``show`` output and map egressctl's security rules back to neutral rules.

PAN-OS prints configuration either in ``set`` form (``set cli config-output-format set``) or in its
default brace form (``rulebase { security { rules { r1 { from trust; ... } } } }``). Both are read here
into one small model (addresses, services, security rules in rulebase order), the brace form by
flattening it to ``set`` lines first. Rules are resolved through the objects *on the device*, never by
trusting object names. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import cast

from egressctl_drivers.common.state import MARKER_RE, build_state
from egressctl_drivers.paloalto_panos import constants as C

from egressctl.driver import DeviceState
from egressctl.inventory.models import Network, PortRange, Protocol
from egressctl.policy import Action, Rule, RuleKind

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{};\[\]]|[^\s{};\[\]"]+')


@dataclass
class PanService:
    """A service object: one protocol, destination ports and optional source ports (text lists)."""

    protocol: str = ""
    port: list[str] = field(default_factory=list)
    source_port: list[str] = field(default_factory=list)


@dataclass
class PanConfig:
    """What egressctl reads: address and service objects, and every security rule in order."""

    addresses: dict[str, str] = field(default_factory=dict)
    services: dict[str, PanService] = field(default_factory=dict)
    rules: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # insertion order = rulebase order


def _tokens(line: str) -> list[str]:
    out = []
    for t in _TOKEN.findall(line):
        out.append(t[1:-1].replace('\\"', '"') if t.startswith('"') else t)
    return out


def _values(tokens: list[str]) -> list[str]:
    """``[ a b ]`` or ``a`` (a bare list of words is kept as is)."""
    return [t for t in tokens if t not in ("[", "]")]


def flatten_braces(text: str) -> list[list[str]]:
    """Turn brace-form configuration into ``set``-form token lists (without the leading ``set``)."""
    out: list[list[str]] = []
    path: list[list[str]] = []
    stmt: list[str] = []
    for tok in _TOKEN.findall(text):
        if tok == "{":
            path.append(stmt)
            stmt = []
        elif tok == "}":
            if stmt:
                out.append([w for p in path for w in p] + _tokens(" ".join(stmt)))
            stmt = []
            if path:
                path.pop()
        elif tok == ";":
            out.append([w for p in path for w in p] + _tokens(" ".join(stmt)))
            stmt = []
        else:
            stmt.append(tok)
    return out


def _statements(text: str) -> list[list[str]]:
    if re.search(r"^\s*set\s", text, re.M):
        return [_tokens(ln)[1:] for ln in text.splitlines() if ln.strip().startswith("set ")]
    return flatten_braces(text)


def _apply(cfg: PanConfig, tok: list[str]) -> None:
    if len(tok) >= 4 and tok[0] == "address" and tok[2] == "ip-netmask":
        cfg.addresses[tok[1]] = tok[3]
    elif len(tok) >= 4 and tok[0] == "service" and tok[2] == "protocol":
        svc = cfg.services.setdefault(tok[1], PanService())
        svc.protocol = tok[3]
        rest = tok[4:]
        for key, value in zip(rest[::2], rest[1::2], strict=False):
            if key == "port":
                svc.port = value.split(",")
            elif key == "source-port":
                svc.source_port = value.split(",")
    elif len(tok) >= 5 and tok[:3] == ["rulebase", "security", "rules"]:
        rule = cfg.rules.setdefault(tok[3], {})
        rule[tok[4]] = _values(tok[5:])
    elif len(tok) == 4 and tok[:3] == ["rulebase", "security", "rules"]:
        cfg.rules.setdefault(tok[3], {})


def parse_config(text: str) -> PanConfig:
    """Read ``show`` output (set or brace form) of address, service and rulebase into a :class:`PanConfig`."""
    cfg = PanConfig()
    for tok in _statements(text):
        _apply(cfg, tok)
    return cfg


def _ranges(items: list[str]) -> tuple[PortRange, ...]:
    out: list[PortRange] = []
    for item in items:
        a, _, b = item.partition("-")
        if a.isdigit():
            r = PortRange(first=int(a), last=int(b or a))
            if r not in out:
                out.append(r)
    return () if out == [PortRange(first=1, last=65535)] else tuple(out)


def _networks(cfg: PanConfig, names: list[str]) -> tuple[Network, ...] | None:
    """Resolved prefixes, or None for ``any``."""
    if not names or C.ANY in names:
        return None
    nets: list[Network] = []
    for n in names:
        spec = cfg.addresses.get(n, n)
        try:
            net = ipaddress.ip_network(spec, strict=False)
        except ValueError:
            continue
        if net not in nets:
            nets.append(net)
    return tuple(nets)


def rule_meaning(cfg: PanConfig, name: str) -> Rule:
    """The neutral rule a PAN-OS security rule enforces (name and kind from its description tag)."""
    f = cfg.rules[name]
    desc = " ".join(f.get("description", []))
    m = C.RULE_TAG_RE.search(desc)
    action: Action = "permit" if f.get("action", [C.DENY]) == [C.PERMIT] else "deny"
    kind = cast(RuleKind, m.group("kind")) if m else ("deny" if action == "deny" else "stage")
    protocol: Protocol = "any"
    dst: tuple[PortRange, ...] = ()
    src: tuple[PortRange, ...] = ()
    apps = f.get("application", [C.ANY])
    if any(a in C.ICMP_APPS.values() for a in apps):
        protocol = "icmp"
    for s in f.get("service", [C.ANY]):
        svc = cfg.services.get(s)
        if svc is not None and svc.protocol in ("tcp", "udp"):
            protocol = cast(Protocol, svc.protocol)
            dst, src = _ranges(svc.port), _ranges(svc.source_port)
    sources = _networks(cfg, f.get("source", []))
    dests = _networks(cfg, f.get("destination", []))
    return Rule(
        name=m.group("rule") if m else name.removeprefix(C.OWNED_PREFIX), kind=kind, action=action,
        protocol=protocol, sources=sources or (), destinations=dests or (), src_ports=src, dst_ports=dst,
    )


def is_owned(cfg: PanConfig, name: str) -> bool:
    """True for a rule egressctl wrote (owned name prefix or marker in its description)."""
    return name.startswith(C.OWNED_PREFIX) or bool(
        MARKER_RE.search(" ".join(cfg.rules[name].get("description", [])))
    )


def device_state(raw: str, pending: bool = False) -> DeviceState:
    """Build the neutral :class:`DeviceState` from the read-back text."""
    cfg = parse_config(raw)
    owned = [n for n in cfg.rules if is_owned(cfg, n)]
    descs = "\n".join(" ".join(cfg.rules[n].get("description", [])) for n in owned)
    markers = {m.group(0) for m in MARKER_RE.finditer(descs)}
    marker_text = markers.pop() if len(markers) == 1 else ""
    rules = [rule_meaning(cfg, n) for n in owned]
    state: DeviceState = build_state(marker_text, rules, pending=pending, raw=raw, owned=bool(owned),
                                     stamp_in=descs)
    return state
