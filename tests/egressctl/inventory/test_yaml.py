"""Reading inventory YAML: encodings, duplicate keys, merge keys, bounded aliases, tags, both composers."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.errors import InventoryError
from egressctl.inventory import load_inventory, parse_inventory
from egressctl.inventory.yamlnodes import Converter, FatalYaml, compose
from egressctl.inventory.yamlsize import MAX_DEPTH, measure

GOOD = Path(__file__).parents[2] / "data" / "good_inventories"
LAB = Path(__file__).parents[3] / "inventory" / "lab.yaml"


def read(text: str, loader: type[Any] | None = None) -> tuple[Any, Converter]:
    root = compose(text, loader)
    assert root is not None
    measure(root)
    converter = Converter()
    return converter.convert(root), converter


def messages(converter: Converter) -> list[str]:
    return [f"{f.line}: {f.message}" for f in sorted(converter.findings, key=lambda f: f.line)]


def problems(text: str) -> list[str]:
    with pytest.raises(InventoryError) as info:
        parse_inventory(text, "t.yaml")
    return [str(p) for p in info.value.problems]


# --- encodings ---------------------------------------------------------------------------------------------

def test_bom_prefixed_inventory_loads() -> None:
    assert (GOOD / "bom.yaml").read_bytes().startswith(codecs.BOM_UTF8)
    assert load_inventory(GOOD / "bom.yaml") == load_inventory(GOOD / "base.yaml")


def test_bom_in_text_is_accepted_too() -> None:
    assert parse_inventory("\ufeff" + (GOOD / "base.yaml").read_text()).sites[0].name == "hq"


def test_utf16_is_refused_with_a_located_problem(tmp_path: Path) -> None:
    path = tmp_path / "utf16.yaml"
    path.write_bytes(codecs.BOM_UTF16_LE + (GOOD / "base.yaml").read_text().encode("utf-16-le"))
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:1: (file): the file is UTF-16 (or UTF-32) text; save it as UTF-8"]


def test_bad_byte_on_a_later_line_is_located(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"version: 1\nsites:\n  - name: caf\xe9\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    (p,) = info.value.problems
    assert (p.line, p.field) == (3, "(file)")
    assert "byte 0xe9 at column 14" in p.message


# --- duplicate keys ----------------------------------------------------------------------------------------

def test_duplicate_keys_name_both_lines_and_keep_the_first_value() -> None:
    data, conv = read("a: 1\nb:\n  c: 2\n  c: 3\na: 4\nflow: {x: 1, x: 2}\n")
    assert data == {"a": 1, "b": {"c": 2}, "flow": {"x": 1}}
    assert messages(conv) == ["4: duplicate key 'c' (first at line 3)",
                              "5: duplicate key 'a' (first at line 1)",
                              "6: duplicate key 'x' (first at line 6)"]
    assert sorted(f.loc for f in conv.findings) == [("a",), ("b", "c"), ("flow", "x")]


def test_a_duplicate_is_reported_with_every_other_problem() -> None:
    extra = "        exit: backup\n        port: 99999\n        exit: x\n"
    text = (GOOD / "base.yaml").read_text().replace("        exit: backup\n", extra)
    first = text.splitlines().index("        exit: backup") + 1
    assert problems(text) == [
        f"t.yaml:{first + 1}: sites[hq].devices[fw2].port: must be at most 65535",
        f"t.yaml:{first + 2}: sites[hq].devices[fw2].exit: duplicate key 'exit' (first at line {first})",
    ]


# --- merge keys --------------------------------------------------------------------------------------------

def test_merge_keys_work_and_own_keys_override() -> None:
    inv = load_inventory(GOOD / "merge_defaults.yaml")
    fw1, fw2, fw3 = inv.sites[0].devices
    assert (fw2.name, fw2.platform, fw2.exit, str(fw2.mgmt_address)) == ("fw2", "linux_nftables", "backup",
                                                                           "10.99.0.2")
    assert (fw3.exit, fw3.inside, fw3.credential) == ("primary", fw1.inside, fw1.credential)


def test_merged_values_are_located_where_they_are_written() -> None:
    text = (GOOD / "merge_defaults.yaml").read_text().replace("username: admin", "username: bad user")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "bad user" in ln)
    message = "'bad user' is not a safe user name (use a letter or _, then up to 31 letters, digits, . _ " \
              "or -)"
    assert problems(text) == [f"t.yaml:{line}: sites[hq].devices[{d}].username: {message}"
                              for d in ("fw1", "fw2", "fw3")]


def test_merge_precedence_follows_yaml() -> None:
    text = "a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n  y: 3\n"
    data, conv = read(text)
    assert data["c"] == {"y": 3, "x": 1, "z": 2}
    assert conv.findings == []
    assert (conv.lines[("c", "x")], conv.lines[("c", "z")], conv.lines[("c", "y")]) == (1, 2, 5)


def test_nested_merges_and_reuse() -> None:
    data, conv = read("base: &b {p: 1}\nmid: &m {<<: *b, q: 2}\nleaf: {<<: *m, r: 3}\n")
    assert data["leaf"] == {"r": 3, "q": 2, "p": 1}
    assert conv.findings == []


def test_two_merge_keys_and_merging_a_scalar_are_problems() -> None:
    _, conv = read("a: &a {x: 1}\nb: &s 5\nc:\n  <<: *a\n  <<: *a\nd:\n  <<: *s\n")
    assert messages(conv) == [
        "5: duplicate key '<<' (first at line 4) (merge several with <<: [*a, *b])",
        "7: a merge key (<<) takes a mapping or a list of mappings (<<: *defaults), not a value",
    ]


def test_a_quoted_merge_key_is_a_plain_key() -> None:
    data, conv = read("a: {'<<': 1}\n")
    assert data == {"a": {"<<": 1}} and conv.findings == []


# --- aliases -----------------------------------------------------------------------------------------------

def test_an_anchor_reused_a_few_times_works() -> None:
    data, conv = read("a: &ifs [lan0, lan1]\nb: *ifs\nc: {inside: *ifs}\nd: [*ifs, *ifs]\n")
    assert data["d"] == [["lan0", "lan1"]] * 2 and data["c"]["inside"] == ["lan0", "lan1"]
    assert conv.lines[("c", "inside")] == 3


def test_an_alias_inside_its_own_value_is_refused() -> None:
    with pytest.raises(FatalYaml) as info:
        read("ok: 1\nloop: &x [1, [2, *x]]\n")
    assert info.value.finding.line == 2
    assert "expand forever" in info.value.finding.message


def test_an_alias_bomb_is_refused_through_the_loader(tmp_path: Path) -> None:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for prev, name in zip("abcdefghijk", "bcdefghijkl", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    errors = problems("\n".join(lines) + "\n")
    assert errors[0].startswith("t.yaml:5: e: aliases expand too far: this value alone would grow to 111,111")
    assert len(errors) == 1


def test_expansion_limit_scales_with_the_file() -> None:
    defaults = "d: &d {" + ", ".join(f"k{i}: {i}" for i in range(20)) + "}\n"
    items = "".join(f"  - {{<<: *d, name: n{i}}}\n" for i in range(6000))
    data, conv = read(defaults + "items:\n" + items)  # 6,000 x 41 merged values, well over 100,000
    assert len(data["items"]) == 6000 and data["items"][-1]["k19"] == 19 and not conv.findings


def test_nesting_is_bounded() -> None:
    deep = "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    with pytest.raises(FatalYaml) as info:
        read(deep)
    assert f"nested more than {MAX_DEPTH} levels deep" in info.value.finding.message
    errors = problems("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert len(errors) == 1 and errors[0].startswith("t.yaml:1: ")


@pytest.mark.parametrize("loader", [yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)],
                         ids=["pure-python", "libyaml"])
def test_absurd_nesting_is_refused_by_either_composer(loader: type[Any]) -> None:
    with pytest.raises(FatalYaml) as info:
        compose("a: " + "[" * 5000 + "]" * 5000 + "\n", loader)
    assert "nest" in info.value.finding.message


# --- tags, keys, syntax ------------------------------------------------------------------------------------

def test_unknown_tags_are_problems_never_objects() -> None:
    data, conv = read("a: !vault abc\nb: !!python/object:os.system {x: 1}\nc: !!binary aGk=\nd: !!int 7\n")
    assert data["a"] is None and data["d"] == 7
    assert messages(conv) == [
        "1: unsupported YAML tag '!vault'; write a plain value",
        "2: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'; write a plain list or mapping",
        "3: unsupported YAML tag 'tag:yaml.org,2002:binary'; write a plain value",
    ]


def test_bad_explicitly_tagged_scalar() -> None:
    _, conv = read("port: !!int twenty\n")
    assert messages(conv) == ["1: 'twenty' is not a valid int value"]


def test_complex_keys_are_problems() -> None:
    _, conv = read("? [a, b]\n: 1\nok: 2\n")
    assert messages(conv) == ["1: a key must be a plain name, not a list or a mapping"]


def test_keys_are_taken_as_written() -> None:
    data, _ = read("yes: 1\n22: 2\nnull: 3\n")
    assert data == {"yes": 1, "22": 2, "null": 3}


@pytest.mark.parametrize(("text", "expected"), [
    ("a: 1\n\tb: 2\n", "t.yaml:2: (yaml): "),
    ("a: 1\n---\nb: 2\n", "t.yaml:2: (yaml): but found another document (expected a single document in the "
                          "stream, line 1)"),
    ("a: [1, 2\nb: 3\n", "t.yaml:2: (yaml): "),
    ("a: *nope\n", "t.yaml:1: (yaml): found undefined alias"),
    ("ok: 1\nbell: \x07\n", "t.yaml:2: (yaml): character #x0007 is not allowed in YAML"),
    ("", "t.yaml:1: (top level): the file is empty"),
    ("# only a comment\n", "t.yaml:1: (top level): the file is empty"),
])
def test_unreadable_yaml_is_one_located_problem(text: str, expected: str) -> None:
    (problem,) = problems(text)  # the wording of syntax errors differs between libyaml and pure Python
    assert problem.startswith(expected)


# --- both composers ----------------------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")
@pytest.mark.parametrize("path", [LAB, GOOD / "merge_defaults.yaml"], ids=["lab", "merge_defaults"])
def test_libyaml_and_pure_python_composers_agree(path: Path) -> None:
    text = path.read_text()
    c_data, c_conv = read(text, yaml.CSafeLoader)
    py_data, py_conv = read(text, yaml.SafeLoader)
    assert c_data == py_data == yaml.safe_load(text)
    assert c_conv.lines == py_conv.lines
