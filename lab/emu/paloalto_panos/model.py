"""PAN-OS configuration model (the part egressctl touches) and its ``show`` renderings.

A configuration is a small object tree: address objects and groups, service objects, zones and an ordered
security rulebase. The device keeps two of them, *running* and *candidate*, plus named snapshots
(``save config to``), so everything here is plain data that :func:`clone` copies.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from egressctl_lab.emu.paloalto_panos import constants as C

Tree = dict[str, "Tree | list[str] | str"]


@dataclass
class PanConfig:
    """One configuration (running, candidate or a saved snapshot)."""

    zones: dict[str, list[str]] = field(default_factory=dict)
    addresses: dict[str, dict[str, str]] = field(default_factory=dict)
    groups: dict[str, dict[str, list[str] | str]] = field(default_factory=dict)
    services: dict[str, dict[str, str]] = field(default_factory=dict)
    rules: dict[str, dict[str, list[str] | str]] = field(default_factory=dict)
    #: ``deviceconfig setting session`` values set explicitly (e.g. ``rematch-sessions: no``).
    session: dict[str, str] = field(default_factory=dict)
    #: Everything else the schema accepts (``network``, ``deviceconfig system``, ``shared``, zone options...),
    #: kept as typed (see ``generic.py``); laid over the interpreted objects when shown.
    extra: Tree = field(default_factory=dict)

    def clone(self) -> PanConfig:
        """An independent copy."""
        return copy.deepcopy(self)


def baseline(zones: dict[str, list[str]], inside: str, outside: str) -> PanConfig:
    """Zones from the lab spec and rule ``allow-outbound`` (inside -> outside, allow all)."""
    rule: dict[str, list[str] | str] = {
        "from": [inside], "to": [outside], "source": ["any"], "destination": ["any"],
        "source-user": ["any"], "category": ["any"], "application": ["any"], "service": ["any"],
        "action": "allow",
    }
    return PanConfig(zones={z: list(i) for z, i in zones.items()}, rules={"allow-outbound": rule})


def _words(value: list[str] | str) -> str:
    if isinstance(value, str):
        return quote(value)
    if len(value) == 1:
        return quote(value[0])
    return "[ " + " ".join(quote(v) for v in value) + " ]"


def quote(text: str) -> str:
    """PAN-OS quotes values holding spaces or special characters."""
    if text and all(c.isalnum() or c in "-_./:,@" for c in text):
        return text
    return '"' + text.replace('"', '\\"') + '"'


def tree(config: PanConfig) -> Tree:
    """The configuration as PAN-OS's hierarchy (section -> name -> attribute -> value)."""
    out: Tree = {}
    if config.session:
        out["deviceconfig"] = {"setting": {"session": dict(config.session)}}
    if config.zones:
        out["zone"] = {z: {"network": {"layer3": list(ifs)}} for z, ifs in config.zones.items()}
    if config.addresses:
        out["address"] = {n: dict(a) for n, a in config.addresses.items()}
    if config.groups:
        out["address-group"] = {n: dict(g) for n, g in config.groups.items()}
    if config.services:
        out["service"] = {n: _service_tree(s) for n, s in config.services.items()}
    rules: Tree = {n: dict(r) for n, r in config.rules.items()}
    out["rulebase"] = {"security": {"rules": rules}}
    return _merge(out, getattr(config, "extra", {}))


def _merge(base: Tree, extra: Tree) -> Tree:
    """``base`` with the generic tree laid over it (sub-trees merged, leaves of ``extra`` win)."""
    out: Tree = dict(base)
    for key, value in extra.items():
        old = out.get(key)
        both = isinstance(old, dict) and isinstance(value, dict)
        out[key] = _merge(old, value) if both else copy.deepcopy(value)  # type: ignore[arg-type]
    return out


def _service_tree(service: dict[str, str]) -> Tree:
    inner: Tree = {k: v for k, v in service.items() if k in ("port", "source-port")}
    node: Tree = {"protocol": {service.get("protocol", "tcp"): inner}}
    if "description" in service:
        node["description"] = service["description"]
    return node


def subtree(root: Tree, path: list[str]) -> tuple[list[str], Tree | list[str] | str] | None:
    """The node at ``path`` (e.g. ``["rulebase", "security"]``), or None when it does not exist."""
    node: Tree | list[str] | str = root
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return path, node


def set_lines(prefix: list[str], node: Tree | list[str] | str) -> list[str]:
    """``set`` form, one line per leaf."""
    if not isinstance(node, dict):
        return [" ".join(["set", *(quote(p) for p in prefix), _words(node)])]
    if not node and prefix:  # an entry with nothing under it (``set network vlan v10``)
        return [" ".join(["set", *(quote(p) for p in prefix)])]
    lines: list[str] = []
    for key, child in node.items():
        lines += set_lines([*prefix, key], child)
    return lines


def curly_lines(prefix: list[str], node: Tree | list[str] | str, indent: int = 0) -> list[str]:
    """PAN-OS's default hierarchical output (``name { attr value; }``).

    ``show network vlan`` opens with the last word of the path (``vlan {``), and a node with nothing
    under it (a choice such as ``type static``) prints as ``static;`` [M].
    """
    pad = "  " * indent
    head = " ".join(quote(p) for p in prefix[-1:])
    if not isinstance(node, dict):
        return [f"{pad}{head} {_words(node)};"]
    if not node and prefix:
        return [f"{pad}{head};"]
    lines = [f"{pad}{head} {{"] if prefix else []
    for key, child in node.items():
        lines += curly_lines([key], child, indent + (1 if prefix else 0))
    return [*lines, f"{pad}}}"] if prefix else lines


def running_policy(config: PanConfig) -> list[str]:
    """``show running security-policy``: the active rules in evaluation order."""
    lines: list[str] = []
    for index, (name, rule) in enumerate(config.rules.items(), start=1):
        if rule.get("disabled") == "yes":
            continue

        def field_(attr: str, default: str = "any", r: dict[str, list[str] | str] = rule) -> str:
            return _words(r.get(attr, [default]))

        lines += [
            f'"{name}; index: {index}" {{',
            f"        from {field_('from')};",
            f"        source {field_('source')};",
            "        source-region none;",
            f"        to {field_('to')};",
            f"        destination {field_('destination')};",
            "        destination-region none;",
            f"        user {field_('source-user')};",
            f"        category {field_('category')};",
            f"        application/service {field_('application')}/{field_('service')};",
            f"        action {field_('action', 'allow')};",
            "        icmp-unreachable: no",
            "        terminal yes;",
            "}",
            "",
        ]
    return lines


def is_list_attr(attr: str) -> bool:
    """Member-list attributes accumulate with ``set`` (``set ... source a`` then ``source b``)."""
    return attr in C.LIST_ATTRS
