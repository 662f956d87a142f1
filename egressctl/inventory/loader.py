"""Load inventory YAML with precise error locations.

The YAML is composed into nodes first so every value keeps its line; pydantic's error locations are then
mapped back to ``file:line: field: message``. All problems are reported at once, and nothing is returned
(so nothing can be changed) unless the whole file is valid.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from egressctl.errors import InventoryError, InventoryProblem
from egressctl.inventory.models import Inventory

_SECRET_KEYS = {"password", "secret", "passwd", "enable_password", "token"}


def _to_python(node: yaml.Node, path: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _to_python(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def _line_for(loc: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> int:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return 1


def _field_name(loc: tuple[str | int, ...], data: Any) -> str:
    parts: list[str] = []
    cur = data
    for item in loc:
        if isinstance(item, int):
            name = cur[item].get("name") if isinstance(cur, list) and isinstance(cur[item], dict) else None
            parts.append(f"[{name}]" if name else f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
        try:
            cur = cur[item]
        except (KeyError, IndexError, TypeError):
            cur = None
    return "".join(parts) or "(top level)"


_DUP_RE = re.compile(r"^duplicate (stage|device|vantage point|canary|flow) name '(.+)'$")
_DUP_LISTS = {"stage": ("stages",), "device": ("devices",), "vantage point": ("vantage_points",),
              "canary": ("canaries",), "flow": ("always_allowed", "allow")}


def _named_paths(node: Any, path: tuple[str | int, ...], lists: tuple[str, ...],
                 name: str) -> list[tuple[str | int, ...]]:
    """Paths of every ``{name: ...}`` item of a list called one of ``lists`` under ``node``."""
    found: list[tuple[str | int, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in lists and isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict) and str(item.get("name", "")).lower() == name.lower():
                        found.append((*path, key, i))
            found.extend(_named_paths(value, (*path, key), lists, name))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found.extend(_named_paths(item, (*path, i), lists, name))
    return found


def _refined_line(loc: tuple[str | int, ...], message: str, data: Any,
                  lines: dict[tuple[str | int, ...], int]) -> int | None:
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


def _message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    loc = err.get("loc", ())
    if kind == "extra_forbidden" and loc and str(loc[-1]).lower() in _SECRET_KEYS:
        return "literal secrets are not allowed; use credential: env:VAR, file:PATH, key:PATH or agent"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling)"
    if kind == "literal_error" and loc and loc[-1] == "version":
        return "unsupported inventory version (expected 1)"
    msg = str(err.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


def parse_inventory(text: str, filename: str = "<inventory>") -> Inventory:
    """Parse and validate inventory text.

    Raises:
        InventoryError: with one problem per invalid field, each with file, line and field.
    """
    try:
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise InventoryError([InventoryProblem(filename, line, "(yaml)", str(problem))]) from None
    if node is None:
        raise InventoryError([InventoryProblem(filename, 1, "(top level)", "the file is empty")])
    lines: dict[tuple[str | int, ...], int] = {}
    data = _to_python(node, (), lines)
    try:
        return Inventory.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))
            msg = _message(dict(err))
            line = _refined_line(loc, msg, data, lines) or _line_for(loc, lines)
            problems.append(InventoryProblem(filename, line, _field_name(loc, data), msg))
        raise InventoryError(problems) from None


def load_inventory(path: str | Path) -> Inventory:
    """Load and validate an inventory file.

    Raises:
        InventoryError: the file is missing, unreadable or invalid.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise InventoryError([InventoryProblem(str(p), 0, "(file)", exc.strerror or str(exc))]) from None
    return parse_inventory(text, str(p))
