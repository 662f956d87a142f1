"""tests/ mirrors the packages (tests/README.md): a folder of tests names a folder of code that exists.

So a newcomer finds a module's tests where its name points, and a moved or deleted package cannot leave
its tests behind under a name that no longer means anything.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
#: tests/<key>/... mirrors <value>/... in the repository.
MIRRORS = {"egressctl": ROOT / "egressctl", "drivers": ROOT / "drivers", "lab": ROOT / "lab"}
#: Top-level folders that mirror nothing, by design.
OTHERS = {"e2e", "project", "support", "golden", "data", "__pycache__"}


def test_top_level_folders_are_known() -> None:
    folders = {p.name for p in TESTS.iterdir() if p.is_dir()}
    assert folders <= set(MIRRORS) | OTHERS, folders - set(MIRRORS) - OTHERS
    assert not [p.name for p in TESTS.glob("test_*.py")], "tests live in the mirror, not at the top"


def test_every_mirror_folder_names_existing_code() -> None:
    stray = []
    for key, source in MIRRORS.items():
        for folder in (TESTS / key).rglob("*"):
            if not folder.is_dir() or folder.name in ("__pycache__", "__snapshots__") or \
                    "__snapshots__" in folder.parts:
                continue
            if not (source / folder.relative_to(TESTS / key)).is_dir():
                stray.append(str(folder.relative_to(ROOT)))
    assert not stray, f"test folders that mirror no code folder: {stray}"


def test_every_test_folder_is_a_package() -> None:
    """``from tests.support.x import y`` works everywhere, and same-named modules never collide."""
    missing = [str(d.relative_to(ROOT)) for d in {p.parent for p in TESTS.rglob("test_*.py")}
               if not (d / "__init__.py").exists() and "data" not in d.relative_to(TESTS).parts]
    assert not missing, missing


def test_support_holds_no_tests() -> None:
    assert not list((TESTS / "support").glob("test_*.py"))
