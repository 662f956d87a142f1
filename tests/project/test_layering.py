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


def platform_imports(path: Path) -> set[str]:
    """Platform folders named by ``egressctl_drivers.<platform>`` imports in one file (absolute imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
        names.update(m.split(".")[1] for m in modules if m.startswith("egressctl_drivers.") and "." in m)
    return names


def test_a_platform_imports_only_itself_and_the_common_kit() -> None:
    """What two platforms share lives in ``drivers/common``, so each platform folder stays whole (scrapli)."""
    platforms = {p.name for p in (ROOT / "drivers").iterdir() if (p / "__init__.py").exists()} - {"common"}
    bad = {}
    for platform in sorted(platforms):
        for path in (ROOT / "drivers" / platform).rglob("*.py"):
            other = platform_imports(path) & (platforms - {platform})
            if other:
                bad[str(path.relative_to(ROOT))] = sorted(other)
    assert platforms and not bad, bad
