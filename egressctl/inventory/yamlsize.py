"""Bound what a composed YAML document expands to before anything is expanded.

A composed document is a graph: an alias is the very node its anchor names, so a few hundred bytes of
nested aliases ("billion laughs") are a small graph that expands to billions of values. Walking the graph
once, each node's expanded size is computed from its children's (memoised by node), which takes time in
the number of *written* nodes only. A document is refused when:

* it would expand to more than :func:`expansion_limit` values: ``MIN_EXPANSION`` plus ``EXPANSION_FACTOR``
  times its written nodes, so reusing an anchor of defaults on every device of a large site is fine, and
  a bomb is caught after visiting its few written nodes (milliseconds);
* an alias refers to a value that contains it (a cycle, which would expand forever);
* it nests deeper than ``MAX_DEPTH`` levels (an inventory needs fewer than ten).
"""

from __future__ import annotations

import yaml

from egressctl.inventory.yamlnodes import FatalYaml, Finding, Loc

MAX_DEPTH = 64
MIN_EXPANSION = 100_000
EXPANSION_FACTOR = 10


def expansion_limit(written: int) -> int:
    """The most values a document of ``written`` distinct nodes may expand to through its aliases."""
    return MIN_EXPANSION + EXPANSION_FACTOR * written


def measure(root: yaml.Node) -> int:
    """Return how many values ``root`` expands to.

    Raises:
        FatalYaml: with the line and path to look at, when the expansion is refused (see the module).
    """
    sizes: dict[int, int] = {}
    total = _size(root, sizes, set(), [])
    limit = expansion_limit(len(sizes))
    if total > limit:
        raise FatalYaml(_blame(root, sizes, limit, total))
    return total


def _children(node: yaml.Node) -> list[tuple[str | int, yaml.Node]]:
    """Each child with the path step it is reached by (a mapping's key nodes count, as ``(key)``)."""
    if isinstance(node, yaml.SequenceNode):
        return list(enumerate(node.value))
    if isinstance(node, yaml.MappingNode):
        out: list[tuple[str | int, yaml.Node]] = []
        for key, value in node.value:
            step = str(key.value) if isinstance(key, yaml.ScalarNode) else "(key)"
            out += [("(key)", key), (step, value)]
        return out
    return []


def _size(node: yaml.Node, sizes: dict[int, int], active: set[int], path: list[str | int]) -> int:
    known = sizes.get(id(node))
    if known is not None:
        return known
    line = node.start_mark.line + 1
    if id(node) in active:
        message = "an alias refers to a value that contains it, so it would expand forever"
        raise FatalYaml(Finding(line, tuple(path), message))
    if len(path) > MAX_DEPTH:
        raise FatalYaml(Finding(line, tuple(path), f"nested more than {MAX_DEPTH} levels deep"))
    total = 1
    if not isinstance(node, yaml.ScalarNode):
        active.add(id(node))
        for step, child in _children(node):
            path.append(step)
            total += _size(child, sizes, active, path)
            path.pop()
        active.discard(id(node))
    sizes[id(node)] = total
    return total


def _blame(root: yaml.Node, sizes: dict[int, int], limit: int, total: int) -> Finding:
    """The smallest value, from the top, that alone expands past ``limit``: where the bomb is written."""
    node, line = root, root.start_mark.line + 1
    loc: Loc = ()
    while True:
        for step, child in _children(node):
            if sizes[id(child)] > limit:
                key_line = child.start_mark.line + 1
                node, loc, line = child, (*loc, step), key_line
                break
        else:
            break
    message = (f"aliases expand too far: this value alone would grow to {sizes[id(node)]:,} values, the "
               f"file to {total:,} (the limit is {limit:,}); each use of an alias copies its anchor's value")
    return Finding(line, loc, message)
