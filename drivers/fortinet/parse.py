"""Parse FortiOS ``show`` output into entries, and egressctl's owned policies back into neutral rules.

``show firewall policy`` (and friends) prints ``config <section>`` / ``edit <key>`` / ``set <key> <values>``
/ ``next`` / ``end``. This module reads that text into a small tree (order kept, because policy order is
the semantics) and then maps egressctl's policies back to neutral :class:`~egressctl.policy.Rule` values by
resolving their address and service objects *on the device*, never by trusting object names. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass, field
from typing import cast

from egressctl_drivers.common.state import MARKER_RE, build_state
from egressctl_drivers.fortinet import constants as C

from egressctl.driver import DeviceState
from egressctl.inventory.models import Network, PortRange, Protocol
from egressctl.policy import Action, Rule, RuleKind


@dataclass
class Entry:
    """One ``edit`` block: its key (policy id or object name) and its ``set`` values, in order."""

    key: str
    settings: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> list[str]:
        """Values of ``set name``, or the FortiOS default when ``show`` omitted it."""
        if name in self.settings:
            return self.settings[name]
        return list(C.POLICY_DEFAULTS.get(name, ()))


@dataclass
class FortiConfig:
    """The sections egressctl reads, each an ordered list of entries."""

    sections: dict[str, list[Entry]] = field(default_factory=dict)

    def entries(self, section: str) -> list[Entry]:
        """Entries of ``section`` in device order (empty when absent)."""
        return self.sections.get(section, [])

    def find(self, section: str, key: str) -> Entry | None:
        """The entry called ``key`` in ``section``, if any."""
        return next((e for e in self.entries(section) if e.key == key), None)


def _tokens(line: str) -> list[str]:
    try:
        return shlex.split(line, posix=True)
    except ValueError:
        return line.split()


def parse_config(text: str) -> FortiConfig:
    """Read ``config``/``edit``/``set`` text into a :class:`FortiConfig` (nested sub-configs are skipped)."""
    cfg = FortiConfig()
    section: str | None = None
    entry: Entry | None = None
    depth = 0  # nested "config" blocks inside an edit (ignored)
    for raw in text.splitlines():
        tok = _tokens(raw.strip())
        if not tok:
            continue
        word = tok[0]
        if word == "config":
            if section is None:
                section = " ".join(tok[1:])
                cfg.sections.setdefault(section, [])
            else:
                depth += 1
        elif word == "end":
            if depth:
                depth -= 1
            else:
                section, entry = None, None
        elif depth:
            continue
        elif word == "edit" and section is not None and len(tok) > 1:
            entry = Entry(tok[1])
            cfg.sections[section].append(entry)
        elif word == "next":
            entry = None
        elif word == "set" and entry is not None and len(tok) > 1:
            entry.settings[tok[1]] = tok[2:]
    return cfg


def address_network(entry: Entry) -> Network | None:
    """The prefix of a ``firewall address`` (``subnet``) or ``address6`` (``ip6``) entry."""
    try:
        if "ip6" in entry.settings:
            return ipaddress.ip_network(entry.settings["ip6"][0], strict=False)
        subnet = entry.settings.get("subnet")
        if subnet:
            spec = f"{subnet[0]}/{subnet[1]}" if len(subnet) > 1 else subnet[0]
            return ipaddress.ip_network(spec, strict=False)
    except (ValueError, IndexError):
        return None
    return None


def _range(text: str) -> PortRange:
    a, _, b = text.partition("-")
    return PortRange(first=int(a), last=int(b or a))


def parse_portrange(values: list[str]) -> tuple[list[PortRange], list[PortRange]]:
    """Split ``dst[:src]`` items into (destination ranges, source ranges), each unique and ordered."""
    dst: list[PortRange] = []
    src: list[PortRange] = []
    for item in values:
        d, _, s = item.partition(":")
        for bucket, txt in ((dst, d), (src, s)):
            if txt:
                r = _range(txt)
                if r not in bucket:
                    bucket.append(r)
    full = PortRange(first=1, last=65535)
    return ([] if dst == [full] else dst), ([] if src == [full] else src)


@dataclass(frozen=True)
class ServiceMeaning:
    """What a set of services matches, in neutral terms."""

    protocol: Protocol
    dst_ports: tuple[PortRange, ...] = ()
    src_ports: tuple[PortRange, ...] = ()


def service_meaning(cfg: FortiConfig, names: list[str]) -> ServiceMeaning:
    """Resolve a policy's ``service`` list (built-in ``ALL`` or egressctl's custom services)."""
    if not names or C.SERVICE_ANY in names:
        return ServiceMeaning("any")
    protocol: Protocol = "any"
    dst: list[PortRange] = []
    src: list[PortRange] = []
    for name in names:
        e = cfg.find(C.SEC_SERVICE, name)
        if e is None:
            continue
        proto = (e.settings.get("protocol") or ["TCP/UDP/SCTP"])[0].upper()
        if proto in ("ICMP", "ICMP6"):
            protocol = "icmp"
            continue
        for key, p in (("tcp-portrange", "tcp"), ("udp-portrange", "udp")):
            if key in e.settings:
                protocol = p  # type: ignore[assignment]
                d, s = parse_portrange(e.settings[key])
                dst += [r for r in d if r not in dst]
                src += [r for r in s if r not in src]
    return ServiceMeaning(protocol, tuple(dst), tuple(src))


def _networks(cfg: FortiConfig, names: list[str], section: str) -> tuple[list[Network], bool]:
    """Resolve address names; the bool says the list holds the built-in ``all``."""
    nets: list[Network] = []
    for name in names:
        if name == C.ADDR_ANY:
            return [], True
        e = cfg.find(section, name)
        net = address_network(e) if e else None
        if net is not None and net not in nets:
            nets.append(net)
    return nets, False


def is_owned(entry: Entry) -> bool:
    """True for a policy egressctl wrote (owned name prefix or marker in its comments)."""
    name = (entry.settings.get("name") or [""])[0]
    comments = " ".join(entry.settings.get("comments") or [])
    return name.startswith(C.OWNED_PREFIX) or MARKER_RE.search(comments) is not None


def policy_rule(cfg: FortiConfig, entry: Entry) -> Rule:
    """The neutral rule an owned policy enforces (name and kind from its marker)."""
    comments = " ".join(entry.settings.get("comments") or [])
    m = C.RULE_TAG_RE.search(comments)
    action: Action = "permit" if entry.get("action") == ["accept"] else "deny"
    fallback = (entry.settings.get("name") or [entry.key])[0].removeprefix(C.OWNED_PREFIX)
    name = m.group("rule") if m else fallback
    kind = cast(RuleKind, m.group("kind")) if m else ("deny" if action == "deny" else "stage")
    src4, any_s4 = _networks(cfg, entry.get("srcaddr"), C.SEC_ADDRESS)
    src6, any_s6 = _networks(cfg, entry.get("srcaddr6"), C.SEC_ADDRESS6)
    dst4, any_d4 = _networks(cfg, entry.get("dstaddr"), C.SEC_ADDRESS)
    dst6, any_d6 = _networks(cfg, entry.get("dstaddr6"), C.SEC_ADDRESS6)
    svc = service_meaning(cfg, entry.get("service"))
    return Rule(
        name=name, kind=kind, action=action, protocol=svc.protocol,
        sources=() if any_s4 or any_s6 else tuple(src4 + src6),
        destinations=() if any_d4 or any_d6 else tuple(dst4 + dst6),
        src_ports=svc.src_ports, dst_ports=svc.dst_ports,
    )


def device_state(raw: str, pending: bool = False) -> DeviceState:
    """Build the neutral :class:`DeviceState` from the read-back text of the four sections."""
    cfg = parse_config(raw)
    owned = [e for e in cfg.entries(C.SEC_POLICY) if is_owned(e)]
    comments = "\n".join(" ".join(e.settings.get("comments") or []) for e in owned)
    markers = {m.group(0) for m in MARKER_RE.finditer(comments)}
    # Policies disagreeing on the marker (an interrupted change) read as an unknown target.
    marker_text = markers.pop() if len(markers) == 1 else ""
    rules = [policy_rule(cfg, e) for e in owned]
    state: DeviceState = build_state(marker_text, rules, pending=pending, raw=raw, owned=bool(owned),
                                     stamp_in=comments)
    return state
