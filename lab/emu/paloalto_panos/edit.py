"""Configure-mode ``set`` / ``delete`` / ``move`` on a PAN-OS candidate configuration.

Each function works on a copy and either returns the changed copy or raises :class:`CliError` with the
text PAN-OS prints, so a rejected line never changes the candidate. As on PAN-OS, ``set`` checks syntax
and value formats; references between objects are checked at ``commit`` (see ``validate.py``).
"""

from __future__ import annotations

import ipaddress
import re

from egressctl_lab.emu.paloalto_panos import constants as C
from egressctl_lab.emu.paloalto_panos.model import PanConfig, is_list_attr

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,62}$")
_CHOICES = (C.ACTIONS, ("yes", "no"))
_PORTS = re.compile(r"^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$")


class CliError(Exception):
    """A rejected line; ``text`` is what the device prints."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def syntax() -> CliError:
    """PAN-OS's generic rejection."""
    return CliError(C.INVALID_SYNTAX)


def tokenize(line: str) -> list[list[str]]:
    """Words per ``|`` segment; double quotes group, ``[`` and ``]`` are words of their own."""
    segments: list[list[str]] = [[]]
    word: list[str] = []
    in_word = quoted = False
    for ch in line:
        if quoted:
            if ch == '"':
                quoted = False
            else:
                word.append(ch)
        elif ch == '"':
            quoted = in_word = True
        elif ch.isspace() or ch in "|[]":
            if in_word:
                segments[-1].append("".join(word))
                word, in_word = [], False
            if ch == "|":
                segments.append([])
            elif ch in "[]":
                segments[-1].append(ch)
        else:
            word.append(ch)
            in_word = True
    if quoted:
        raise syntax()
    if in_word:
        segments[-1].append("".join(word))
    return segments


def _pairs(words: list[str]) -> list[tuple[str, list[str]]]:
    """``attr value`` / ``attr [ v1 v2 ]`` pairs."""
    out: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(words):
        attr = words[i]
        if i + 1 >= len(words):
            raise syntax()
        if words[i + 1] == "[":
            try:
                end = words.index("]", i + 2)
            except ValueError as exc:
                raise syntax() from exc
            values = words[i + 2:end]
            if not values:
                raise syntax()
            out.append((attr, values))
            i = end + 1
        else:
            out.append((attr, [words[i + 1]]))
            i += 2
    return out


def _name(word: str) -> str:
    if not _NAME.match(word):
        raise syntax()
    return word


def _prefix_or_range(text: str) -> None:
    try:
        if "-" in text and "/" not in text:
            lo, hi = (ipaddress.ip_address(p) for p in text.split("-", 1))
            if lo.version != hi.version:
                raise ValueError(text)
        else:
            ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise syntax() from exc


def _ports(text: str) -> str:
    if not _PORTS.match(text):
        raise syntax()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        if not (0 < int(lo) <= int(hi or lo) <= 65535):
            raise syntax()
    return text


def _one(values: list[str]) -> str:
    if len(values) != 1:
        raise syntax()
    return values[0]


def set_address(cfg: PanConfig, words: list[str]) -> None:
    """``set address NAME ip-netmask P | ip-range A-B | description D``."""
    name = _name(words[0]) if words else ""
    if not words[1:]:
        raise syntax()
    obj = dict(cfg.addresses.get(name, {}))
    for attr, values in _pairs(words[1:]):
        value = _one(values)
        if attr in ("ip-netmask", "ip-range"):
            _prefix_or_range(value)
            if (attr == "ip-range") != ("-" in value):
                raise syntax()
            obj = {k: v for k, v in obj.items() if k not in ("ip-netmask", "ip-range")}
        elif attr != "description":
            raise syntax()
        obj[attr] = value
    cfg.addresses[name] = obj


def set_group(cfg: PanConfig, words: list[str]) -> None:
    """``set address-group NAME static [ A B ] | description D``."""
    name = _name(words[0]) if words else ""
    if not words[1:]:
        raise syntax()
    group = dict(cfg.groups.get(name, {}))
    for attr, values in _pairs(words[1:]):
        if attr == "static":
            old = group.get("static", [])
            members = list(old) if isinstance(old, list) else []
            group["static"] = list(dict.fromkeys([*members, *(_name(v) for v in values)]))
        elif attr == "description":
            group[attr] = _one(values)
        else:
            raise syntax()
    cfg.groups[name] = group


def set_service(cfg: PanConfig, words: list[str]) -> None:
    """``set service NAME protocol tcp|udp port P[,Q][-R] [source-port S] | description D``."""
    name = _name(words[0]) if words else ""
    rest = words[1:]
    svc = dict(cfg.services.get(name, {}))
    if rest[:1] == ["protocol"]:
        if len(rest) < 2 or rest[1] not in ("tcp", "udp"):
            raise syntax()
        if svc.get("protocol") not in (None, rest[1]):
            svc = {k: v for k, v in svc.items() if k == "description"}
        svc["protocol"] = rest[1]
        rest = rest[2:]
    if not rest and "protocol" not in svc:
        raise syntax()
    for attr, values in _pairs(rest):
        if attr in ("port", "source-port") and "protocol" in svc:
            svc[attr] = _ports(_one(values))
        elif attr == "description":
            svc[attr] = _one(values)
        else:
            raise syntax()
    cfg.services[name] = svc


def set_rule(cfg: PanConfig, words: list[str]) -> None:
    """``set rulebase security rules NAME ATTR VALUE [ATTR VALUE]...``."""
    name = _name(words[0]) if words else ""
    rule = {k: (list(v) if isinstance(v, list) else v) for k, v in cfg.rules.get(name, {}).items()}
    for attr, values in _pairs(words[1:]):
        if is_list_attr(attr):
            old = rule.get(attr, [])
            current = [] if isinstance(old, str) or values == ["any"] or old == ["any"] else old
            rule[attr] = list(dict.fromkeys([*current, *values]))
        elif attr in ("action", *C.YES_NO_ATTRS) and _one(values) in _CHOICES[attr != "action"]:
            rule[attr] = values[0]
        elif attr == "description":
            rule[attr] = _one(values)
        else:
            raise syntax()
    cfg.rules[name] = rule


def set_session(cfg: PanConfig, words: list[str]) -> None:
    """``set deviceconfig setting session rematch-sessions yes|no`` (Device > Setup > Session)."""
    if len(words) != 2 or words[0] not in C.SESSION_SETTINGS or words[1] not in ("yes", "no"):
        raise syntax()
    cfg.session[words[0]] = words[1]


def _zone_layer3(cfg: PanConfig, words: list[str]) -> bool:
    """``set zone NAME network layer3 IF|[ IFS ]``: the interpreted zone membership (True if it was one)."""
    if words[:1] != ["zone"] or words[2:4] != ["network", "layer3"] or len(words) < 5:
        return False
    pairs = _pairs(words[3:])
    if len(pairs) != 1:
        return False
    name = _name(words[1])
    cfg.zones[name] = list(dict.fromkeys([*cfg.zones.get(name, []), *pairs[0][1]]))
    return True


def _delete_zone(cfg: PanConfig, words: list[str]) -> bool:
    """``delete zone NAME`` / ``delete zone NAME network layer3 [IF...]`` on the interpreted zones."""
    if words[:1] != ["zone"] or len(words) < 2 or words[1] not in cfg.zones:
        return False
    if len(words) == 2:
        del cfg.zones[words[1]]
        return False  # the zone's generic options go too
    if words[2:4] != ["network", "layer3"]:
        return False
    gone = [w for w in words[4:] if w not in "[]"]
    cfg.zones[words[1]] = [i for i in cfg.zones[words[1]] if gone and i not in gone]
    return True


def delete(cfg: PanConfig, words: list[str]) -> None:
    """``delete address|address-group|service NAME`` / ``delete rulebase security rules NAME [ATTR [V]]``."""
    from egressctl_lab.emu.paloalto_panos import generic

    if words[:3] == ["deviceconfig", "setting", "session"] and words[3:4] == list(C.SESSION_SETTINGS[:1]):
        cfg.session.pop(words[3], None)
        return
    if _delete_zone(cfg, words):
        return
    if words[:1] and generic.known(words[0]) and words[:3] != ["rulebase", "security", "rules"]:
        generic.delete_line(cfg.extra, words)
        return
    if words[:3] == ["rulebase", "security", "rules"] and len(words) >= 4:
        name, rest = words[3], words[4:]
        if not rest:
            cfg.rules.pop(name, None)
        elif name in cfg.rules and rest[0] in cfg.rules[name]:
            rule = cfg.rules[name]
            current = rule[rest[0]]
            if len(rest) == 1 or not isinstance(current, list):
                del rule[rest[0]]
            else:
                rule[rest[0]] = [v for v in current if v not in rest[1:]]
        return
    tables: dict[str, dict[str, object]] = {
        "address": cfg.addresses,  # type: ignore[dict-item]
        "address-group": cfg.groups,  # type: ignore[dict-item]
        "service": cfg.services,  # type: ignore[dict-item]
    }
    if len(words) != 2 or words[0] not in tables:
        raise syntax()
    tables[words[0]].pop(words[1], None)


def move(cfg: PanConfig, words: list[str]) -> None:
    """``move rulebase security rules NAME top|bottom|before R|after R``."""
    if words[:3] != ["rulebase", "security", "rules"] or len(words) < 5:
        raise syntax()
    name, where, rest = words[3], words[4], words[5:]
    relative = where in ("before", "after")
    if where not in ("top", "bottom", "before", "after") or len(rest) != (1 if relative else 0):
        raise syntax()
    for missing in [name, *rest]:
        if missing not in cfg.rules:
            raise CliError(C.SERVER_ERROR.format(C.MOVE_MISSING.format(name=missing)))
    order = [n for n in cfg.rules if n != name]
    index = {"top": 0, "bottom": len(order)}.get(where)
    if index is None:
        index = order.index(rest[0]) + (1 if where == "after" else 0)
    order.insert(index, name)
    cfg.rules = {n: cfg.rules[n] for n in order}


def apply(cfg: PanConfig, verb: str, words: list[str]) -> PanConfig:
    """Run one configure-mode change on a copy of ``cfg``; returns the copy."""
    new = cfg.clone()
    if verb == "move":
        move(new, words)
    elif verb == "delete":
        delete(new, words)
    elif words[:3] == ["rulebase", "security", "rules"] and len(words) >= 5:
        set_rule(new, words[3:])
    elif words[:1] == ["address"] and len(words) >= 3:
        set_address(new, words[1:])
    elif words[:1] == ["address-group"] and len(words) >= 3:
        set_group(new, words[1:])
    elif words[:1] == ["service"] and len(words) >= 3:
        set_service(new, words[1:])
    elif words[:3] == ["deviceconfig", "setting", "session"] and words[3:4] == list(C.SESSION_SETTINGS[:1]):
        set_session(new, words[3:])
    elif _zone_layer3(new, words):
        pass
    else:
        from egressctl_lab.emu.paloalto_panos import generic  # generic imports this module's errors

        if not words or not generic.known(words[0]):
            raise syntax()
        generic.set_line(new.extra, words)
    return new
