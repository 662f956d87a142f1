"""Parse ``nft -j list table inet egressctl`` back into neutral rules (pure).

The driver renders one nft rule per policy atom, each with its neutral rule name as comment, so every
rule parses into one neutral :class:`~egressctl.policy.Rule`. The marker (target + fingerprint) is the
table comment, which nft 1.0.6 does not put in its JSON: it is read from the text listing instead.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from egressctl_drivers.common.state import atom_rule, build_state
from egressctl_drivers.linux_nftables import constants as c

from egressctl.driver import DeviceState
from egressctl.inventory.models import Network, PortRange, Protocol
from egressctl.policy import Action, Rule


class ParseError(ValueError):
    """The device's ruleset uses a construct this driver never writes."""


def _net(value: Any) -> Network:
    if isinstance(value, dict) and "prefix" in value:
        p = value["prefix"]
        return ipaddress.ip_network(f"{p['addr']}/{p['len']}")
    if isinstance(value, str):
        return ipaddress.ip_network(value)
    raise ParseError(f"unexpected address value {value!r}")


def _port(value: Any) -> PortRange:
    if isinstance(value, int):
        return PortRange(first=value, last=value)
    if isinstance(value, dict) and "range" in value:
        a, b = value["range"]
        return PortRange(first=int(a), last=int(b))
    raise ParseError(f"unexpected port value {value!r}")


def parse_rule(rule: dict[str, Any]) -> Rule:
    """One nft JSON rule object -> one neutral rule."""
    fam: int | None = None
    proto: Protocol = "any"
    action: Action | None = None
    fields: dict[str, Any] = {}
    for expr in rule.get("expr", []):
        if "accept" in expr:
            action = "permit"
        elif "drop" in expr:
            action = "deny"
        elif "match" in expr:
            left, right = expr["match"]["left"], expr["match"]["right"]
            if "meta" in left:
                key = left["meta"]["key"]
                if key == "nfproto":
                    fam = 4 if right == "ipv4" else 6
                elif key == "l4proto":
                    proto, fam = ("icmp", 6) if right == "ipv6-icmp" else (right, fam)
            elif "payload" in left:
                pl = left["payload"]
                if pl["protocol"] in ("ip", "ip6"):
                    fam = 4 if pl["protocol"] == "ip" else 6
                    fields[pl["field"]] = _net(right)
                elif pl["protocol"] in ("tcp", "udp"):
                    proto = pl["protocol"]
                    fields[pl["field"]] = _port(right)
    if action is None:
        raise ParseError(f"rule {rule.get('handle')} has no accept/drop verdict")
    if proto not in ("any", "tcp", "udp", "icmp"):
        raise ParseError(f"rule {rule.get('handle')}: unexpected protocol {proto!r}")
    if proto == "icmp" and fam is None:
        fam = 4
    name = str(rule.get("comment") or f"rule-{rule.get('handle')}")
    return atom_rule(name, action, proto, fam, fields.get("saddr"), fields.get("daddr"),
                     fields.get("sport"), fields.get("dport"))


def json_document(raw: str) -> dict[str, Any] | None:
    """The nft JSON document inside ``raw`` (None when the table is absent)."""
    for line in raw.splitlines():
        line = line.strip()
        if line.startswith('{"nftables"'):
            doc: dict[str, Any] = json.loads(line)
            return doc
    return None


def parse_state(raw: str, *, pending: bool) -> DeviceState:
    """Read-back text (text listing + JSON listing of the table) -> neutral ``DeviceState``."""
    doc = json_document(raw)
    if doc is None or c.ABSENT in raw:
        return build_state("", (), pending=pending, raw=raw, owned=False)
    rules = [parse_rule(item["rule"]) for item in doc.get("nftables", []) if "rule" in item]
    return build_state(raw, rules, pending=pending, raw=raw, owned=True)
