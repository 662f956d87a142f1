"""Pydantic's validation errors in the operator's words, located on the line they wrote.

Pydantic's own texts ("Input should be a valid integer", ``type=...``, links to errors.pydantic.dev, the
names of its internal union validators in the location) mean nothing to someone fixing a file at 3 a.m.
Each error is rewritten here from its *type* into a plain sentence, union branches are folded into one
problem, and the location is mapped back to the YAML line and a readable field path.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from egressctl.inventory.yamlnodes import Finding, Loc

_SECRET_KEYS = {"password", "secret", "passwd", "enable_password", "token"}
_EXPECTED = {
    "string_type": "text", "string_sub_type": "text", "int_type": "a whole number",
    "int_parsing": "a whole number", "int_from_float": "a whole number", "float_type": "a number",
    "float_parsing": "a number", "bool_type": "true or false", "bool_parsing": "true or false",
    "list_type": "a list", "tuple_type": "a list", "set_type": "a list", "none_required": "nothing",
    "dict_type": "a mapping (key: value)", "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)", "ip_v4_address": "an IP address",
    "ip_v6_address": "an IP address", "ip_any_address": "an IP address", "ip_v4_network": "a prefix",
    "ip_v6_network": "a prefix", "ip_any_network": "a prefix",
}
_BOUNDS = {"greater_than_equal": ("ge", "at least"), "less_than_equal": ("le", "at most"),
           "greater_than": ("gt", "more than"), "less_than": ("lt", "less than")}
_PREFIXES = ("Value error, ", "Assertion failed, ")


def _kind(value: object) -> str:
    """What the operator wrote, in words (never the value itself: it may be a secret)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    kinds = ((int, "a number"), (float, "a decimal number"), (str, "text"), (list, "a list"),
             (dict, "a mapping"))
    return next((word for cls, word in kinds if isinstance(value, cls)), type(value).__name__)


def _scrub(msg: str) -> str:
    """A last resort for error types not mapped above: drop pydantic's prefixes and references."""
    for prefix in _PREFIXES:
        msg = msg.removeprefix(prefix)
    msg = re.split(r"\s*(\[type=|For further information)", msg)[0]
    return re.sub(r"^Input should be ", "expected ", msg)


def plain(err: dict[str, Any]) -> str:
    """One pydantic error as a plain sentence."""
    kind, loc, ctx = err.get("type", ""), err.get("loc", ()), err.get("ctx") or {}
    last = str(loc[-1]).lower() if loc else ""
    if kind == "extra_forbidden":
        if last in _SECRET_KEYS:
            return ("literal secrets are not allowed; use credential: env:VAR, file:PATH, cmd:COMMAND, "
                    "key:PATH or agent")
        return "unknown field (check the spelling)"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        if last == "version":
            return "unsupported inventory version (expected 1)"
        return f"expected {ctx.get('expected', 'one of the listed values')}"
    if kind in ("value_error", "assertion_error") and ctx.get("error") is not None:
        return str(ctx["error"])
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return f"needs at least {n} item{'s' if n != 1 else ''}"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} items"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"must be {words} {ctx.get(key)}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_kind(err.get('input'))}"
    return _scrub(str(err.get("msg", "invalid value")))


def _fold(errors: list[dict[str, Any]]) -> str:
    """One message for every error pydantic reported at one place (the branches of a union)."""
    if len(errors) == 1:
        return plain(errors[0])
    for err in errors:
        if err.get("type") in ("value_error", "assertion_error"):
            return plain(err)
    if all(e.get("type") in _EXPECTED for e in errors):
        expected = dict.fromkeys(_EXPECTED[e["type"]] for e in errors)
        return f"expected {' or '.join(expected)}, got {_kind(errors[0].get('input'))}"
    return plain(errors[0])


def data_loc(loc: tuple[str | int, ...], data: Any, kind: str) -> Loc:
    """The part of pydantic's location that is a path into the data (union branch names dropped)."""
    out: list[str | int] = []
    cur = data
    for i, step in enumerate(loc):
        missing = kind == "missing" and i == len(loc) - 1
        if isinstance(cur, dict) and isinstance(step, str) and (step in cur or missing):
            cur = cur.get(step)
        elif isinstance(cur, list) and isinstance(step, int) and 0 <= step < len(cur):
            cur = cur[step]
        else:
            break
        out.append(step)
    return tuple(out)


def line_for(loc: Loc, lines: dict[Loc, int]) -> int:
    """The line of ``loc``, or of its nearest written ancestor (a missing field: its object's line)."""
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return 1


def field_name(loc: Loc, data: Any) -> str:
    """``sites[hq].devices[fw1].platform``: list items by their ``name`` when they have one."""
    parts: list[str] = []
    cur = data
    for item in loc:
        if isinstance(item, int):
            name = cur[item].get("name") if isinstance(cur, list) and item < len(cur) and isinstance(
                cur[item], dict) else None
            parts.append(f"[{name}]" if isinstance(name, str) and name else f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
        try:
            cur = cur[item]
        except (KeyError, IndexError, TypeError):
            cur = None
    return "".join(parts) or "(top level)"


_DUP_RE = re.compile(r"^duplicate (stage|device|vantage point|canary|flow|management path) name '(.+)'$")
_DUP_LISTS = {"stage": ("stages",), "device": ("devices",), "vantage point": ("vantage_points",),
              "canary": ("canaries",), "flow": ("always_allowed", "allow"),
              "management path": ("management",)}


def _named_paths(node: Any, path: Loc, lists: tuple[str, ...], name: str) -> list[Loc]:
    """Paths of every ``{name: ...}`` item of a list called one of ``lists`` under ``node``."""
    found: list[Loc] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in lists and isinstance(value, list):
                found += [(*path, key, i) for i, item in enumerate(value)
                          if isinstance(item, dict) and str(item.get("name", "")).lower() == name.lower()]
            found.extend(_named_paths(value, (*path, key), lists, name))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found.extend(_named_paths(item, (*path, i), lists, name))
    return found


def _refined_line(loc: Loc, message: str, data: Any, lines: dict[Loc, int]) -> int | None:
    """A more precise line than the object's own for whole-object checks (duplicates, ports w/o l4)."""
    sub = data
    for item in loc:
        try:
            sub = sub[item]
        except (KeyError, IndexError, TypeError):
            return None
    dup = _DUP_RE.match(message)
    if dup:
        paths = _named_paths(sub, loc, _DUP_LISTS[dup.group(1)], dup.group(2))
        return lines.get((*paths[1], "name")) if len(paths) > 1 else None
    if message.startswith("ports need protocol"):
        return lines.get((*loc, "protocol"))
    return None


def validation_findings(exc: ValidationError, data: Any, lines: dict[Loc, int]) -> list[Finding]:
    """Every error of ``exc`` as a located finding, one per place in the data."""
    groups: dict[Loc, list[dict[str, Any]]] = {}
    for err in exc.errors():
        groups.setdefault(data_loc(tuple(err["loc"]), data, err["type"]), []).append(dict(err))
    findings = []
    for loc, errors in groups.items():
        message = _fold(errors)
        line = _refined_line(loc, message, data, lines) or line_for(loc, lines)
        findings.append(Finding(line, loc, message))
    return findings
