"""The Junos configuration tree: ``set``/``delete``/``insert`` over the schema, and its two displays.

A configuration is a plain nested ``dict`` (cheap to deep-copy for the candidate, the active config and
50 rollback points): containers and named-list entries are dicts, single leaves ``str``, multi-valued
leaves ``list[str]``, flags ``True``; a named entry's positional value lives under the key ``"="``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from egressctl_lab.emu.juniper_junos import constants as c
from egressctl_lab.emu.juniper_junos.schema import SCHEMA, Spec

Tree = dict[str, Any]
_TOKEN = re.compile(r'"([^"]*)"?|(\[|\])|([^\s\[\]"]+)')
POS = "="
#: Key of the statements an open node keeps as typed (lists of words), see ``schema.Spec.open``.
GEN = "~"


class JunosError(Exception):
    """A refused line: ``message`` printed after a caret under column ``pos`` (None = no caret)."""

    def __init__(self, message: str, pos: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


@dataclass
class Tok:
    """A word and its column."""

    text: str
    pos: int


def tokenize(line: str) -> list[Tok]:
    """Words, quoted strings (without quotes) and brackets."""
    out = []
    for m in _TOKEN.finditer(line):
        text = m.group(1) if m.group(1) is not None else (m.group(2) or m.group(3))
        out.append(Tok(text, m.start()))
    return out


def match_keyword(tok: Tok, options: list[str] | dict[str, Any], unknown: str = c.SYNTAX_ERROR) -> str:
    """Resolve a unique abbreviation of a keyword, or raise Junos's error for it."""
    low = tok.text.lower()
    if low in options:
        return low
    found = [o for o in options if o.startswith(low)]
    if len(found) == 1:
        return found[0]
    if found:
        raise JunosError(c.AMBIGUOUS.format(word=tok.text), tok.pos)
    raise JunosError(unknown, tok.pos)


@dataclass
class Step:
    """One element of a resolved path: keyword, name (named lists) and schema node."""

    keyword: str
    name: str | None
    spec: Spec


@dataclass
class Resolved:
    """A path resolved against the schema, with the value(s) given for its final leaf."""

    steps: list[Step]
    values: list[str]
    positional: str | None = None
    positional_pos: int = 0
    #: Words below an open node that the schema does not model, kept as one statement.
    generic: tuple[str, ...] | None = None


def resolve(toks: list[Tok], end_col: int, need_value: bool) -> Resolved:
    """Walk ``toks`` down the schema to one statement (``show``/``delete``/``insert`` paths)."""
    found = resolve_all(toks, end_col, need_value)
    if len(found) > 1:
        raise JunosError(c.SYNTAX_ERROR, None)
    return found[0]


def resolve_all(toks: list[Tok], end_col: int, need_value: bool) -> list[Resolved]:
    """Walk ``toks`` down the schema, allowing several leaves in a row at one level.

    Junos accepts ``set applications application A protocol tcp destination-port 443``. ``need_value``
    (``set``) requires values for leaves and names for named lists.
    """
    spec, i = SCHEMA, 0
    steps: list[Step] = []
    out: list[Resolved] = []
    while i < len(toks):
        if spec.kind not in ("C", "N"):
            raise JunosError(c.SYNTAX_ERROR, toks[i].pos)
        low = toks[i].text.lower()
        if spec.open and not any(o.startswith(low) for o in spec.children):
            return [*out, Resolved(steps, [], generic=tuple(t.text for t in toks[i:]))]
        kw = match_keyword(toks[i], spec.children)
        child = spec.children[kw]
        i += 1
        if child.kind == "N":
            if i >= len(toks):
                if need_value:
                    raise JunosError(c.SYNTAX_EXPECTING.format(what="<data>"), end_col)
                steps.append(Step(kw, None, child))
                break
            steps.append(Step(kw, toks[i].text, child))
            i += 1
            if child.positional and i < len(toks) and toks[i].text.lower() not in child.children:
                if i + 1 < len(toks):
                    raise JunosError(c.SYNTAX_ERROR, toks[i + 1].pos)
                return [*out, Resolved(steps, [], toks[i].text, toks[i].pos)]
            spec = child
            continue
        if child.kind == "C":
            steps.append(Step(kw, None, child))
            spec = child
            continue
        used, values = _values(toks[i:], child, end_col, need_value)
        out.append(Resolved([*steps, Step(kw, None, child)], values))
        i += used
        if i == len(toks):
            return out
    return [*out, Resolved(steps, [])]


def _values(toks: list[Tok], spec: Spec, end_col: int, need_value: bool) -> tuple[int, list[str]]:
    """How many tokens a leaf's value takes, and the values."""
    if spec.kind == "F":
        return 0, []
    if not toks:
        if need_value:
            raise JunosError(c.SYNTAX_EXPECTING.format(what=spec.expecting), end_col)
        return 0, []
    if spec.kind == "M" and toks[0].text == "[":
        close = next((k for k, t in enumerate(toks) if t.text == "]"), None)
        if close is None:
            raise JunosError(c.SYNTAX_EXPECTING.format(what="']'"), end_col)
        values = [t.text for t in toks[1:close]]
        if not values:
            raise JunosError(c.SYNTAX_EXPECTING.format(what="<data>"), toks[close].pos)
        return close + 1, values
    if spec.values and toks[0].text not in spec.values:
        raise JunosError(c.SYNTAX_ERROR, toks[0].pos)
    return 1, [toks[0].text]


# -- mutation ------------------------------------------------------------------------------------------
def apply_set(tree: Tree, r: Resolved) -> None:
    """``set``: create the path, then set/append the leaf value."""
    node, parent_spec = tree, SCHEMA
    for step in r.steps:
        spec = step.spec
        if spec.kind == "N":
            entries = node.setdefault(step.keyword, {})
            if step.name is None:
                return
            node = entries.setdefault(step.name, {})
        elif spec.kind == "C":
            node = node.setdefault(step.keyword, {})
        elif spec.kind == "L":
            node[step.keyword] = r.values[0]
        elif spec.kind == "M":
            current = node.setdefault(step.keyword, [])
            current.extend(v for v in r.values if v not in current)
        else:
            for group in parent_spec.choices:
                if step.keyword in group:
                    for other in group - {step.keyword}:
                        node.pop(other, None)
            node[step.keyword] = True
        parent_spec = spec
    if r.positional is not None:
        node[POS] = r.positional
    if r.generic is not None:
        kept: list[list[str]] = node.setdefault(GEN, [])
        words = list(r.generic)
        if r.steps[-1].spec.leafy:  # ``any info`` replaces ``any notice``
            kept[:] = [w for w in kept if w[:-1] != words[:-1]]
        if words not in kept:
            kept.append(words)


def apply_delete(tree: Tree, r: Resolved) -> bool:
    """``delete``: remove the subtree, entry, leaf or leaf values; False when it was not there."""
    if not r.steps:
        tree.clear()
        return True
    if r.generic is not None:
        return _delete_generic(tree, r)
    node: Any = tree
    for step in r.steps[:-1]:
        if not isinstance(node, dict) or step.keyword not in node:
            return False
        node = node[step.keyword]
        if step.name is not None:
            if step.name not in node:
                return False
            node = node[step.name]
    last = r.steps[-1]
    if not isinstance(node, dict) or last.keyword not in node:
        return False
    if last.spec.kind == "N" and last.name is not None:
        if last.name not in node[last.keyword]:
            return False
        if r.positional is not None:
            node[last.keyword][last.name].pop(POS, None)
        else:
            del node[last.keyword][last.name]
            if not node[last.keyword]:
                del node[last.keyword]
    elif last.spec.kind == "M" and r.values:
        kept = [v for v in node[last.keyword] if v not in r.values]
        if len(kept) == len(node[last.keyword]):
            return False
        node[last.keyword] = kept
        if not kept:
            del node[last.keyword]
    else:
        del node[last.keyword]
    _prune(tree, SCHEMA)
    return True


def node_at(tree: Tree, r: Resolved) -> Any:
    """The dict a resolved path names (None when it is not there)."""
    node: Any = tree
    for step in r.steps:
        if not isinstance(node, dict) or step.keyword not in node:
            return None
        node = node[step.keyword]
        if step.name is not None:
            node = node.get(step.name)
    return node if isinstance(node, dict) else None


def _delete_generic(tree: Tree, r: Resolved) -> bool:
    """``delete`` of words below an open node: every kept statement starting with them goes."""
    node = node_at(tree, r)
    words = list(r.generic or ())
    if node is None or GEN not in node:
        return False
    kept = [w for w in node[GEN] if w[: len(words)] != words]
    if len(kept) == len(node[GEN]):
        return False
    if kept:
        node[GEN] = kept
    else:
        del node[GEN]
    _prune(tree, SCHEMA)
    return True


def _prune(node: Tree, spec: Spec) -> None:
    """Drop containers left empty by a delete (named entries stay: an empty zone is meaningful)."""
    for kw in list(node):
        child = spec.children.get(kw)
        if child is None:
            continue
        if child.kind == "C":
            _prune(node[kw], child)
            if not node[kw] and not child.presence:
                del node[kw]
        elif child.kind == "N":
            for entry in node[kw].values():
                _prune(entry, child)


def apply_insert(tree: Tree, r: Resolved, where: str, ref_kw: Tok, ref_name: Tok) -> None:
    """``insert PATH before|after KEYWORD NAME``: reorder a named-list entry among its siblings."""
    last = r.steps[-1] if r.steps else None
    if last is None or last.spec.kind != "N" or last.name is None:
        raise JunosError(c.SYNTAX_ERROR, ref_kw.pos)
    if match_keyword(ref_kw, [last.keyword]) != last.keyword:
        raise JunosError(c.SYNTAX_ERROR, ref_kw.pos)
    node: Any = tree
    for step in r.steps[:-1]:
        node = node.get(step.keyword, {})
        if step.name is not None:
            node = node.get(step.name, {})
    entries: dict[str, Any] = node.get(last.keyword, {})
    if last.name not in entries or ref_name.text not in entries:
        raise JunosError(c.NOT_FOUND.replace("warning", "error"), None)
    moving = entries.pop(last.name)
    items = list(entries.items())
    idx = [k for k, _ in items].index(ref_name.text) + (1 if where == "after" else 0)
    items.insert(idx, (last.name, moving))
    entries.clear()
    entries.update(items)
