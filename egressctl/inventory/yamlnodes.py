"""Inventory text to plain Python data, keeping the line of every value and refusing what YAML hides.

PyYAML's own loaders keep the last of two equal keys, expand aliases without limit and lose line numbers.
Here the document is composed into nodes (by libyaml when it is available), measured, then converted by
hand:

* a key written twice in one mapping is a problem naming both lines (the first value is kept, so later
  checks see what the author most likely meant);
* merge keys (``<<: *defaults`` or ``<<: [*a, *b]``) work as YAML specifies: the mapping's own keys
  override merged ones, earlier merged mappings override later ones, and merged values keep the lines
  where they are written;
* aliases are only expanded after ``yamlsize.measure`` has bounded what they expand to (alias bombs,
  cycles and absurd nesting are refused there, before any work proportional to the expansion);
* scalars are constructed by their resolved tag (no re-parsing); other tags (``!vault``, ``!!binary``,
  ``!!python/...``) are problems, never objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "str", "timestamp")}
_CONSTRUCTOR = SafeConstructor()
#: The composer: libyaml's when PyYAML was built with it (about 5x faster, see bench/inventory_load.py),
#: else the pure-Python one. Both give the same nodes and marks; the benchmark swaps it to compare them.
LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Loc = tuple[str | int, ...]
Pair = tuple[str, yaml.ScalarNode, yaml.Node]


@dataclass(frozen=True)
class Finding:
    """One problem found while reading: its line, the data path it belongs to and what is wrong."""

    line: int
    loc: Loc
    message: str


class FatalYaml(Exception):
    """The document cannot be turned into data at all; ``finding.loc`` is empty for syntax errors."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def compose(text: str, loader: type[Any] | None = None) -> yaml.Node | None:
    """Compose ``text`` into a node graph with libyaml when available (the pure-Python loader otherwise).

    Raises:
        FatalYaml: the text is not YAML, holds more than one document, or nests too deeply to read.
    """
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=loader or LOADER)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise FatalYaml(Finding(line, (), _syntax_message(exc, line))) from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids; its mark is a position, not a line
        line = text.count("\n", 0, exc.position) + 1
        message = f"character #x{exc.character:04x} is not allowed in YAML"
        raise FatalYaml(Finding(line, (), message)) from None
    except yaml.YAMLError as exc:
        raise FatalYaml(Finding(1, (), str(exc))) from None
    except RecursionError:
        raise FatalYaml(Finding(1, (), "the document is nested too deeply to read")) from None
    return node


def _syntax_message(exc: yaml.MarkedYAMLError, line: int) -> str:
    """The parser's problem with its context ("while parsing a flow sequence, line 3") when it has one."""
    text = str(exc.problem or "not valid YAML")
    if exc.problem == "second occurrence" and exc.context and exc.context_mark:  # a duplicate anchor
        return f"{exc.context.removesuffix('; first occurrence')} (first at line {exc.context_mark.line + 1})"
    if exc.context:
        where = exc.context_mark.line + 1 if exc.context_mark else line
        text += f" ({exc.context}" + (f", line {where})" if where != line else ")")
    return text


@dataclass
class Converter:
    """Turns a measured node graph into dicts, lists and scalars, recording ``lines`` per data path."""

    lines: dict[Loc, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    _pairs: dict[int, list[Pair]] = field(default_factory=dict)

    def convert(self, root: yaml.Node) -> Any:
        """Return the data of ``root``, which must have passed ``yamlsize.measure`` (finite, acyclic)."""
        self.lines[()] = root.start_mark.line + 1
        return self._value(root, ())

    def _value(self, node: yaml.Node, loc: Loc) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, loc)
        if isinstance(node, yaml.SequenceNode):
            self._expect_tag(node, _SEQ, loc)
            out: list[Any] = []
            for i, item in enumerate(node.value):
                sub = (*loc, i)
                self.lines[sub] = item.start_mark.line + 1
                out.append(self._value(item, sub))
            return out
        return self._mapping(node, loc) if isinstance(node, yaml.MappingNode) else None

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        self._expect_tag(node, _MAP, loc)
        data: dict[str, Any] = {}
        for key, key_node, value_node in self._effective_pairs(node, loc):
            sub = (*loc, key)
            self.lines[sub] = key_node.start_mark.line + 1
            data[key] = self._value(value_node, sub)
        return data

    def _scalar(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        if node.tag == _STR:
            return node.value
        if node.tag not in _SCALAR_TAGS:
            self._find(node, loc, f"unsupported YAML tag {node.tag!r}; write a plain value")
            return None
        try:
            return _CONSTRUCTOR.yaml_constructors[node.tag](_CONSTRUCTOR, node)
        except (yaml.YAMLError, ValueError, TypeError, AttributeError):
            kind = node.tag.rsplit(":", 1)[-1]
            self._find(node, loc, f"{node.value!r} is not a valid {kind} value")
            return None

    def _expect_tag(self, node: yaml.Node, tag: str, loc: Loc) -> None:
        if node.tag != tag:
            self._find(node, loc, f"unsupported YAML tag {node.tag!r}; write a plain list or mapping")

    def _effective_pairs(self, node: yaml.MappingNode, loc: Loc) -> list[Pair]:
        """The mapping's own pairs, then merged pairs whose keys it does not set; once per node."""
        known = self._pairs.get(id(node))
        if known is not None:
            return known
        own, sources = self._own_pairs(node, loc)
        pairs = list(own.values())
        for source in sources:  # earlier sources win, as YAML's merge key specifies
            for pair in self._effective_pairs(source, loc):
                if pair[0] not in own:
                    own[pair[0]] = pair
                    pairs.append(pair)
        self._pairs[id(node)] = pairs
        return pairs

    def _own_pairs(self, node: yaml.MappingNode, loc: Loc) -> tuple[dict[str, Pair], list[yaml.MappingNode]]:
        """The pairs written in ``node`` (a repeated key is reported, its first value kept) and its merges."""
        own: dict[str, Pair] = {}
        sources: list[yaml.MappingNode] = []
        first_merge: yaml.ScalarNode | None = None
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._find(key_node, loc, "a key must be a plain name, not a list or a mapping")
            elif key_node.tag == _MERGE:
                if first_merge is not None:
                    self._duplicate(key_node, first_merge, (*loc, "<<"), " (merge several with <<: [*a, *b])")
                first_merge = first_merge or key_node
                sources += self._merge_sources(key_node, value_node, loc)
            elif str(key_node.value) in own:
                key = str(key_node.value)
                self._duplicate(key_node, own[key][1], (*loc, key))
            else:
                own[str(key_node.value)] = (str(key_node.value), key_node, value_node)
        return own, sources

    def _merge_sources(self, key: yaml.Node, value: yaml.Node, loc: Loc) -> list[yaml.MappingNode]:
        """The mappings a merge key names; anything else is reported at the ``<<`` (an alias has no line)."""
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        mappings = [item for item in items if isinstance(item, yaml.MappingNode)]
        if len(mappings) < len(items):
            message = "a merge key (<<) takes a mapping or a list of mappings (<<: *defaults), not a value"
            self._find(key, (*loc, "<<"), message)
        return mappings

    def _duplicate(self, again: yaml.ScalarNode, first: yaml.ScalarNode, loc: Loc, hint: str = "") -> None:
        line = first.start_mark.line + 1
        self._find(again, loc, f"duplicate key {again.value!r} (first at line {line}){hint}")

    def _find(self, node: yaml.Node, loc: Loc, message: str) -> None:
        self.findings.append(Finding(node.start_mark.line + 1, loc, message))
