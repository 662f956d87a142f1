"""``set`` / ``delete`` of configuration egressctl does not interpret, kept in a generic tree.

The tree (``PanConfig.extra``) is part of the candidate, so it is committed, shown, saved to and loaded
from named snapshots, reverted and kept across the fault emulator's reboot exactly like the interpreted
objects. A line is accepted only when every keyword is one the schema (:mod:`.schema`) has at that place;
anything else is PAN-OS's ``Invalid syntax.``. Values of list leaves accumulate with ``set`` and lose
members with ``delete``, as a rule's ``source`` does.
"""

from __future__ import annotations

from egressctl_lab.emu.paloalto_panos.edit import syntax
from egressctl_lab.emu.paloalto_panos.model import Tree
from egressctl_lab.emu.paloalto_panos.schema import MEMBER_LEAVES, NAMED, SCHEMA, Node


def known(word: str) -> bool:
    """True when ``word`` starts a path the generic schema has."""
    return word in SCHEMA


def valid_path(words: list[str]) -> bool:
    """True when ``words`` is a path the generic schema has (``show network vlan`` with no VLAN yet)."""
    schema: Node = SCHEMA
    for word in words:
        if not isinstance(schema, dict):
            return False
        child = schema.get(word)
        if child is None and NAMED not in schema:
            return False
        schema = child if child is not None else schema[NAMED]
    return True


def _value(words: list[str], i: int) -> tuple[list[str], int]:
    """One token, or a ``[ a b ]`` list, starting at ``words[i]``; returns it and the next index."""
    if i >= len(words) or words[i] == "]":
        raise syntax()
    if words[i] != "[":
        return [words[i]], i + 1
    try:
        end = words.index("]", i + 1)
    except ValueError as exc:
        raise syntax() from exc
    if end == i + 1:
        raise syntax()
    return words[i + 1:end], end + 1


def _store(tree: Tree, leaf: str, values: list[str]) -> None:
    old = tree.get(leaf)
    if leaf in MEMBER_LEAVES:
        current = [old] if isinstance(old, str) else list(old) if isinstance(old, list) else []
        merged = list(dict.fromkeys([*current, *values]))
        tree[leaf] = merged[0] if len(merged) == 1 else merged
    else:
        tree[leaf] = values[0] if len(values) == 1 else values


def _child(tree: Tree, word: str) -> Tree:
    node = tree.get(word)
    if not isinstance(node, dict):
        node = {}
        tree[word] = node
    return node


def set_line(extra: Tree, words: list[str]) -> None:
    """``set PATH... [ATTR VALUE]...`` into ``extra`` (changed in place; callers work on a copy)."""
    schema: Node = SCHEMA
    tree = extra
    complete = False
    i = 0
    while i < len(words):
        word = words[i]
        if not isinstance(schema, dict):
            raise syntax()
        child = schema.get(word)
        if isinstance(child, tuple):
            values, i = _value(words, i + 1)
            if child and any(v not in child for v in values):
                raise syntax()
            _store(tree, word, values)
            complete = True
            continue
        if child is None and (NAMED not in schema or word in "[]"):
            raise syntax()
        schema = child if child is not None else schema[NAMED]
        tree = _child(tree, word)
        # An entry name, or a choice with nothing under it (``type static``), completes a line.
        complete = child is None or schema == {}
        i += 1
    if not complete:
        raise syntax()


def delete_line(extra: Tree, words: list[str]) -> None:
    """``delete PATH [VALUE...]``: remove a node, a leaf, or members of a list leaf (absent: no-op)."""
    schema: Node = SCHEMA
    trail: list[tuple[Tree, str]] = []
    tree: Tree | None = extra
    for i, word in enumerate(words):
        if not isinstance(schema, dict):
            raise syntax()
        child = schema.get(word)
        if isinstance(child, tuple):
            members = [w for w in words[i + 1:] if w not in "[]"]
            if tree is not None and word in tree:
                _drop(tree, word, members)
                _prune(trail)
            return
        if child is None and NAMED not in schema:
            raise syntax()
        schema = child if child is not None else schema[NAMED]
        if tree is not None:
            trail.append((tree, word))
            node = tree.get(word)
            tree = node if isinstance(node, dict) else None
    if tree is not None and trail:
        parent, key = trail.pop()
        del parent[key]
        _prune(trail)


def _drop(tree: Tree, leaf: str, members: list[str]) -> None:
    old = tree[leaf]
    if not members:
        del tree[leaf]
        return
    current = [old] if isinstance(old, str) else list(old) if isinstance(old, list) else []
    kept = [v for v in current if v not in members]
    if kept:
        tree[leaf] = kept[0] if len(kept) == 1 else kept
    else:
        del tree[leaf]


def _prune(trail: list[tuple[Tree, str]]) -> None:
    """Drop containers left empty by a delete (an empty node is not shown by PAN-OS either) [M]."""
    for parent, key in reversed(trail):
        if parent.get(key) == {}:
            del parent[key]
        else:
            return
