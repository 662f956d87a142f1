"""The VyOS configuration tree: ``set``/``delete`` paths of words, and its two displays.

VyOS stores one tree of nodes (the Vyatta ``config.boot`` model): a *tag node* takes a name after its
keyword (``rule 10``, ``ethernet eth0``, ``name EGRESSCTL-V4``), a *leaf* takes values (one, or several for
a multi-value leaf such as ``address``), a *valueless leaf* is a flag (``log``, ``disable``). A tree here is a
plain nested ``dict`` (cheap to deep-copy for the working, active and saved configurations): every word of a
``set`` path is a key, so a value is a key whose dict is empty. Without the vendor's full schema the
displays tell values from flags by :data:`FLAGS` and tag nodes by :data:`TAGS` [M for nodes beyond those].

``show configuration`` prints the hierarchy in braces, ``show configuration commands`` one ``set`` line per
leaf with its value quoted (``set system host-name 'vyos'``), as VyOS 1.4 does.
"""

from __future__ import annotations

import copy
import re
import shlex
from typing import Any

Tree = dict[str, Any]

#: Keywords followed by a name (VyOS tag nodes) among those the lab's configurations use [M beyond them].
TAGS = frozenset({
    "ethernet", "loopback", "rule", "name", "network-group", "address-group", "ipv6-network-group",
    "ipv6-address-group", "port-group", "interface-group", "user", "route", "route6", "next-hop",
    "task", "server", "listen-address", "vif", "bridge", "bonding", "dummy", "wireguard", "peer",
})


def is_tag(path: list[str], word: str) -> bool:
    """True when ``word`` (under ``path``) is a tag node's keyword (an interface match's ``name`` is not)."""
    matching = path[-1:] in (["outbound-interface"], ["inbound-interface"])
    return word in TAGS and not (word == "name" and matching)
#: Words that are valueless leaves (flags) when they end a path [M beyond these].
FLAGS = frozenset({"log", "disable", "enable", "disable-password-authentication", "ssh", "https", "rest",
                   "graphql", "disable-host-validation", "established", "related", "invalid", "new"})
#: Values VyOS prints without quotes in the braces display: plain words, addresses, numbers.
_PLAIN = re.compile(r"^[A-Za-z0-9_.:/@+-]+$")


class TreeError(Exception):
    """A refused ``set``/``delete``; ``message`` is the vendor's words (lines, indented by the caller)."""


def split(line: str) -> list[str]:
    """Words of a configuration line; quoted values keep their spaces (``description 'a b'``)."""
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise TreeError(f"Unbalanced quotes: {exc}") from exc


def set_path(tree: Tree, words: list[str]) -> None:
    """Create every node of ``words``; a new value of a single-value leaf replaces the old one."""
    node = tree
    for i, word in enumerate(words):
        if i == len(words) - 1 and node and replaces(words[:-1], word):
            node.clear()
        node = node.setdefault(word, {})


#: Leaves that hold several values (each ``set`` adds one) [M beyond the lab's].
_MULTI = frozenset({"network", "state", "interface", "name-server", "include", "member"})


def replaces(parent: list[str], word: str) -> bool:
    """True when ``word`` is a value of a single-value leaf at ``parent`` (it replaces the old value).

    Multi-value leaves add instead: group members (``network``, a port group's ``port``, an address
    group's ``address``), an interface's ``address``, 1.4's ``state`` [M].
    """
    if not parent or word in FLAGS or is_tag(parent[:-1], parent[-1]):
        return False
    key = parent[-1]
    if key in _MULTI:
        return False
    if key == "address" and ((len(parent) >= 3 and parent[-3] in TAGS and parent[-3] != "rule")
                             or any(g in parent for g in ("address-group", "ipv6-address-group"))):
        return False
    return not (key == "port" and "port-group" in parent)


def delete_path(tree: Tree, words: list[str]) -> None:
    """Remove the node at ``words`` with everything below it, and parents left empty.

    Raises:
        TreeError: the node does not exist.
    """
    chain = [tree]
    for word in words:
        nxt = chain[-1].get(word)
        if nxt is None:
            raise TreeError("Nothing to delete (the specified node does not exist)")
        chain.append(nxt)
    del chain[-2][words[-1]]
    for depth in range(len(words) - 1, 0, -1):
        if chain[depth]:
            break
        del chain[depth - 1][words[depth - 1]]


def get(tree: Tree, words: list[str]) -> Tree | None:
    """The node at ``words`` (None when absent)."""
    node: Tree | None = tree
    for word in words:
        node = node.get(word) if node is not None else None
    return node


def values(tree: Tree, words: list[str]) -> list[str]:
    """The values of the leaf at ``words`` ([] when absent)."""
    node = get(tree, words)
    return list(node) if node else []


def value(tree: Tree, words: list[str], default: str = "") -> str:
    """The single value of the leaf at ``words``."""
    found = values(tree, words)
    return found[0] if found else default


def clone(tree: Tree) -> Tree:
    """A deep copy (working, active and saved configurations never share nodes)."""
    return copy.deepcopy(tree)


def _is_value(path: list[str], word: str, child: Tree) -> bool:
    """True when ``word`` (childless, under ``path``) is a value rather than a flag."""
    return not child and bool(path) and word not in FLAGS and not is_tag(path[:-1], path[-1])


def _quote(word: str) -> str:
    return word if _PLAIN.match(word) else '"' + word.replace('"', '\\"') + '"'


def commands(tree: Tree, path: list[str] | None = None) -> list[str]:
    """``show configuration commands``: one ``set`` line per leaf, values in single quotes."""
    path = path or []
    out: list[str] = []
    for word in sorted(tree, key=_order):
        child = tree[word]
        if _is_value(path, word, child):
            out.append("set " + " ".join([*path, "'" + word.replace("'", "'\\''") + "'"]))
        elif not child:
            out.append("set " + " ".join([*path, word]))
        else:
            out += commands(child, [*path, word])
    return out


def _order(word: str) -> tuple[int, int | str]:
    """VyOS sorts tag-node names numerically when they are numbers (``rule 2`` before ``rule 10``)."""
    return (0, int(word)) if word.isdigit() else (1, word)


def braces(tree: Tree, path: list[str] | None = None, depth: int = 0) -> list[str]:
    """``show configuration``: the hierarchy, four spaces a level, a tag node's name on its keyword's line."""
    path = path or []
    pad = "    " * depth
    out: list[str] = []
    for word in sorted(tree, key=_order):
        child = tree[word]
        if is_tag(path, word) and child:
            for name in sorted(child, key=_order):
                out += _block(f"{pad}{word} {_quote(name)}", child[name], [*path, word, name], depth)
        elif child and all(_is_value([*path, word], v, sub) for v, sub in child.items()):
            out += [f"{pad}{word} {_quote(v)}" for v in sorted(child, key=_order)]
        elif child:
            out += _block(f"{pad}{word}", child, [*path, word], depth)
        else:
            out.append(f"{pad}{word}")
    return out


def _block(head: str, child: Tree, path: list[str], depth: int) -> list[str]:
    if not child:
        return [head]
    return [head + " {", *braces(child, path, depth + 1), "    " * depth + "}"]


def paths(tree: Tree, path: list[str] | None = None) -> list[list[str]]:
    """Every full path (the words of each ``set`` line), in display order."""
    path = path or []
    if not tree:
        return [path] if path else []
    out: list[list[str]] = []
    for word in sorted(tree, key=_order):
        out += paths(tree[word], [*path, word])
    return out
