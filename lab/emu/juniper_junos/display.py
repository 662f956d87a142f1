"""The two displays of a Junos configuration tree (curly braces and ``display set``) and ``| compare``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from egressctl_lab.emu.juniper_junos.schema import SCHEMA, Spec
from egressctl_lab.emu.juniper_junos.tree import GEN, POS, Resolved, Tree

Statement = tuple[tuple[str, ...], str]


def statements(node: Tree, spec: Spec = SCHEMA, parent: tuple[str, ...] = ()) -> Iterator[Statement]:
    """Every leaf statement as (parent path, statement): schema order, named entries in user order."""
    for kw, child in spec.children.items():
        if kw not in node:
            continue
        value = node[kw]
        if child.kind == "C":
            if value:
                yield from statements(value, child, (*parent, kw))
            else:
                yield parent, kw
        elif child.kind == "N":
            for name, entry in value.items():
                here = (*parent, kw, quote(name))
                if POS in entry:
                    yield parent, f"{kw} {quote(name)} {entry[POS]}"
                if not any(k != POS for k in entry) and POS not in entry:
                    yield parent, f"{kw} {quote(name)}"
                yield from statements(entry, child, here)
        elif child.kind == "L":
            yield parent, f"{kw} {quote(value)}"
        elif child.kind == "M":
            for v in value:
                yield parent, f"{kw} {quote(v)}"
        else:
            yield parent, kw
    for words in node.get(GEN, []):
        yield parent, generic_text(words)


def generic_text(words: list[str]) -> str:
    """A kept statement as Junos shows it (values with spaces quoted)."""
    return " ".join(quote(w) if w not in ("[", "]") else w for w in words)


def set_lines(node: Tree, base: tuple[str, ...] = ()) -> list[str]:
    """``| display set``."""
    return ["set " + " ".join((*base, *p, s)) for p, s in statements(node, spec_at(base))]


def curly(node: Tree, spec: Spec = SCHEMA, indent: int = 0) -> list[str]:
    """The hierarchical (curly-brace) display."""
    pad = " " * indent
    out: list[str] = []
    for kw, child in spec.children.items():
        if kw not in node:
            continue
        value = node[kw]
        if child.kind == "C" and child.inline and value:
            out += [f"{pad}{kw} {ln[indent:]}" if ln[indent:indent + 1] != " " and ln[indent:] != "}" else ln
                    for ln in curly(value, child, indent)]
        elif child.kind == "C":
            if value:
                out += [f"{pad}{kw} {{", *curly(value, child, indent + 4), f"{pad}}}"]
            else:
                out.append(f"{pad}{kw};")
        elif child.kind == "N" and child.block:
            out += [f"{pad}{kw} {{", *_curly_named(kw, value, child, indent + 4, bare=True), f"{pad}}}"]
        elif child.kind == "N":
            out += _curly_named(kw, value, child, indent)
        elif child.kind == "L":
            out.append(f"{pad}{kw} {quote(value)};")
        elif child.kind == "M":
            shown = quote(value[0]) if len(value) == 1 else "[ " + " ".join(quote(v) for v in value) + " ]"
            out.append(f"{pad}{kw} {shown};")
        else:
            out.append(f"{pad}{kw};")
    out += [f"{pad}{generic_text(words)};" for words in node.get(GEN, [])]
    return out


def _curly_named(kw: str, entries: dict[str, Any], spec: Spec, indent: int, bare: bool = False) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    for name, entry in entries.items():
        head = f"{pad}{quote(name)}" if bare else f"{pad}{kw} {quote(name)}"
        inner = {k: v for k, v in entry.items() if k != POS}
        if kw == "from-zone" and set(inner) == {"to-zone"}:
            for to_name, to_entry in inner["to-zone"].items():
                body = curly(to_entry, spec.children["to-zone"], indent + 4)
                out += [f"{head} to-zone {quote(to_name)} {{", *body, f"{pad}}}"]
            continue
        if POS in entry and not inner:
            out.append(f"{head} {entry[POS]};")
        elif not inner:
            out.append(f"{head};")
        else:
            out += [f"{head} {{", *curly(inner, spec, indent + 4), f"{pad}}}"]
    return out


def quote(value: str) -> str:
    """Quote values with spaces (or empty), as Junos displays them."""
    return f'"{value}"' if not value or any(ch.isspace() for ch in value) else value


def spec_at(path: tuple[str, ...]) -> Spec:
    """The schema node at a display path (keywords and names)."""
    spec, i = SCHEMA, 0
    while i < len(path):
        spec = spec.children[path[i]]
        i += 2 if spec.kind == "N" else 1
    return spec


def subtree(tree: Tree, r: Resolved) -> tuple[Tree | None, tuple[str, ...]]:
    """The node a ``show PATH`` names, and that path for display."""
    node: Any = tree
    path: list[str] = []
    for step in r.steps:
        if not isinstance(node, dict) or step.keyword not in node:
            return None, tuple(path)
        node = node[step.keyword]
        path.append(step.keyword)
        if step.name is not None:
            if step.name not in node:
                return None, tuple(path)
            node = node[step.name]
            path.append(step.name)
    if isinstance(node, dict) and r.generic is not None:
        words = list(r.generic)
        kept = [w for w in node.get(GEN, []) if w[: len(words)] == words]
        return ({GEN: kept} if kept else None), tuple(path)
    last = r.steps[-1] if r.steps else None
    if last is not None and last.spec.kind == "N" and last.name is None:  # ``show interfaces``: every entry
        return {last.keyword: node}, tuple(path[:-1])
    if isinstance(node, dict) and r.steps and r.steps[-1].spec.kind in ("C", "N"):
        return node, tuple(path)
    if not r.steps:
        return node, ()
    return {r.steps[-1].keyword: node}, tuple(path[:-1])


def compare(active: Tree, candidate: Tree) -> str:
    """``show | compare``: removed (-) and added (+) statements grouped under their ``[edit ...]`` level."""
    old = list(statements(active))
    new = list(statements(candidate))
    old_set, new_set = set(old), set(new)
    changes = [(p, "-", s) for p, s in old if (p, s) not in new_set]
    changes += [(p, "+", s) for p, s in new if (p, s) not in old_set]
    out: list[str] = []
    current: tuple[str, ...] | None = None
    for parent, sign, stmt in sorted(changes, key=lambda ch: ch[0]):
        if parent != current:
            out.append("[edit" + "".join(" " + p for p in parent) + "]")
            current = parent
        out.append(f"{sign}    {stmt};")
    return "\n".join(out) + ("\n" if out else "")
