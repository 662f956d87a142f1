"""docs/inventory.md stays what scripts/gen_inventory_doc.py makes of the models, and says true things."""

from __future__ import annotations

import difflib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from egressctl.inventory.credentials import validate_reference
from egressctl.inventory.loader import load_inventory, parse_inventory

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "inventory.md"


def _generator() -> ModuleType:
    path = ROOT / "scripts" / "gen_inventory_doc.py"
    spec = importlib.util.spec_from_file_location("gen_inventory_doc", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


gen = _generator()


def _yaml_block(text: str) -> str:
    found = re.search(r"^## Minimal complete example\n.*?```yaml\n(.*?)```", text, re.S | re.M)
    assert found, "no yaml block under 'Minimal complete example'"
    return found.group(1)


def test_doc_matches_the_models() -> None:
    expected = gen.render()
    current = DOC.read_text() if DOC.is_file() else ""
    if current != expected:
        diff = "".join(difflib.unified_diff(current.splitlines(True), expected.splitlines(True),
                                            "docs/inventory.md", "generated", n=1))
        pytest.fail(f"docs/inventory.md is stale; regenerate it with: {gen.COMMAND}\n{diff[:3000]}")


def test_check_mode_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "inventory.md"
    out.write_text("# old\n")
    assert gen.main(["--check", "--output", str(out)]) == 1
    assert gen.COMMAND in capsys.readouterr().err
    assert gen.main(["--output", str(out)]) == 0
    assert gen.main(["--check", "--output", str(out)]) == 0


def test_every_field_has_a_description() -> None:
    missing = [f"{model.__name__}.{name}" for model in gen.sections()
               for name, info in model.model_fields.items() if not (info.description or "").strip()]
    assert not missing, f"add Field(description=...) to: {', '.join(missing)}"


def test_every_validator_rule_is_accounted_for() -> None:
    """A new validator's rule must reach the document (CHECKS) before it is listed as documented."""
    for model in gen.sections():
        decorators = model.__pydantic_decorators__
        have = set(decorators.field_validators) | set(decorators.model_validators)
        assert have == gen.DOCUMENTED_VALIDATORS.get(model, set()), (
            f"{model.__name__}: validators {sorted(have)}; state each rule in CHECKS of "
            f"scripts/gen_inventory_doc.py, then list it in DOCUMENTED_VALIDATORS")


def test_checks_name_real_fields() -> None:
    for model, name in gen.CHECKS:
        assert name in model.model_fields, f"CHECKS names {model.__name__}.{name}, which does not exist"


def test_every_model_and_field_is_in_the_doc() -> None:
    text = DOC.read_text()
    for model in gen.sections():
        section = text.split(f"\n## {gen.title(model)}\n", 1)[1].split("\n## ", 1)[0]
        for name in model.model_fields:
            assert f"| `{name}` |" in section, f"{model.__name__}.{name} is not in its section"


def test_the_example_loads() -> None:
    inventory = parse_inventory(_yaml_block(DOC.read_text()), "docs/inventory.md")
    site = inventory.sites[0]
    assert site.devices and site.management and site.always_allowed and site.stages
    assert site.vantage_points and site.canaries and site.captures


def test_the_example_is_taken_from_the_hospital_inventory() -> None:
    """Every item of the example is, field for field, the hospital inventory's item of that name."""
    hospital: dict[str, Any] = yaml.safe_load(gen.EXAMPLE.read_text())["sites"][0]
    example: dict[str, Any] = yaml.safe_load(_yaml_block(DOC.read_text()))["sites"][0]
    load_inventory(gen.EXAMPLE)
    for key, items in example.items():
        if key == "description":
            continue
        if not isinstance(items, list) or not items or not isinstance(items[0], dict):
            assert items == hospital[key], key
            continue
        for item in items:
            assert item in hospital[key], f"{key}: {item} is not in {gen.EXAMPLE.name}"


def test_the_error_example_is_the_loaders_output() -> None:
    _, problems = gen.broken_example()
    text = DOC.read_text()
    assert problems and all(p in text for p in problems)
    assert all(re.fullmatch(r"site\.yaml:\d+: sites\[chn\]\S+: .+", p) for p in problems), problems


def test_documented_credential_forms_are_the_accepted_ones() -> None:
    text = DOC.read_text().split("## Credential references", 1)[1].split("\n## ", 1)[0]
    forms = re.findall(r"^\| `([^`]+)` \|", text, re.M)
    examples = re.findall(r"\| `([^`]+)` \|$", text, re.M)
    with pytest.raises(ValueError, match=r"use .+") as refused:
        validate_reference("hunter2")
    accepted = re.split(r", | or ", refused.value.args[0].split("use ", 1)[1])
    assert forms == accepted
    for example in examples:
        assert validate_reference(example) == example
