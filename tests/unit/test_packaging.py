"""Packaging: pyproject's explicit package list matches the package folders, under unique import roots."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pyproject() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def package_folders() -> set[str]:
    found: set[str] = set()
    for name, folder in pyproject()["tool"]["setuptools"]["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            if "__pycache__" in rel.parts or any(p.startswith(".") for p in rel.parts):
                continue
            found.add(".".join((name, *rel.parts)) if rel.parts else name)
    return found


def test_explicit_package_list_matches_folders() -> None:
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    assert listed == package_folders()


def test_no_bare_drivers_import_name() -> None:
    cfg = pyproject()["tool"]["setuptools"]
    assert "drivers" not in cfg["package-dir"]
    assert not any(p == "drivers" or p.startswith("drivers.") for p in cfg["packages"])
    spec = importlib.util.find_spec("egressctl_drivers")
    assert spec is not None and spec.origin is not None
    assert Path(spec.origin).parent == ROOT / "drivers"


def test_registry_has_exactly_the_five_platforms() -> None:
    from egressctl.registry import BUILTIN, platforms

    expected = {"linux_nftables", "cisco_ios", "juniper_junos", "fortinet", "paloalto_panos"}
    assert set(BUILTIN) == expected
    assert set(platforms()) == expected


def test_console_script() -> None:
    assert pyproject()["project"]["scripts"]["egressctl"] == "egressctl.cli.main:main"
    from egressctl.cli.main import main

    assert callable(main)
