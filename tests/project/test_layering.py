"""The house's arrows: the lab and the drivers depend on the product, never the reverse, and never on
each other (an emulator that imported driver code could hide a driver bug behind shared knowledge)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_roots(folder: Path) -> dict[str, set[str]]:
    """Top-level module names each file under ``folder`` imports (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(("folder", "forbidden"), [
    ("egressctl", {"egressctl_lab", "lab", "drivers"}),
    ("drivers", {"egressctl_lab", "lab"}),
    ("lab", {"egressctl_drivers", "drivers"}),
])
def test_no_import_against_the_arrows(folder: str, forbidden: set[str]) -> None:
    bad = {f: sorted(n & forbidden) for f, n in imported_roots(ROOT / folder).items() if n & forbidden}
    assert not bad, bad


def test_product_does_not_name_the_lab_in_dynamic_imports() -> None:
    for path in (ROOT / "egressctl").rglob("*.py"):
        assert "egressctl_lab" not in path.read_text(), path
