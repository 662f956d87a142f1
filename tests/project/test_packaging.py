"""Packaging: pyproject's explicit package list matches the package folders, under unique import roots;
every import is a declared, capped dependency pinned by constraints.txt; an installed egressctl finds its
inventory outside the repository (the wheel itself is built and installed by
tests/project/test_install_wheel.py)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.project.test_layering import imported_roots

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


def test_registry_has_exactly_the_builtin_platforms() -> None:
    from egressctl.registry import BUILTIN, platforms

    expected = {"linux_nftables", "cisco_ios", "juniper_junos", "fortinet", "paloalto_panos", "arista_eos",
                "cisco_asa", "vyos"}
    expected.add("mikrotik_routeros")
    assert set(BUILTIN) == expected
    assert set(platforms()) == expected


def test_console_script() -> None:
    assert pyproject()["project"]["scripts"]["egressctl"] == "egressctl.cli.main:main"
    from egressctl.cli.main import main

    assert callable(main)


# -- every import is a declared dependency, capped below its next major, pinned by constraints.txt ------

FIRST_PARTY = {"egressctl", "egressctl_drivers", "egressctl_lab"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(group: str) -> list[Requirement]:
    """``dependencies`` for ``"product"``, else that optional-dependencies group (without egressctl)."""
    project = pyproject()["project"]
    raw = project["dependencies"] if group == "product" else project["optional-dependencies"][group]
    return [r for r in map(Requirement, raw) if _norm(r.name) != "egressctl"]


#: The lab's test kit (conformance suites, capture generators): shipped with the lab, used by tests only, so
#: it may import the dev tools (pytest); checked against them, and the rest of lab/ without it.
LAB_TEST_KIT = "lab/testing/"


def third_party_imports(folder: str) -> dict[str, set[str]]:
    """Top-level third-party module -> files importing it, for every file under ``folder``."""
    base = ROOT / folder.rstrip("/")
    local = {p.stem for p in base.rglob("*.py")} | {p.name for p in base.rglob("*")}
    local |= {"tests", "bench"}  # the repository's own test and benchmark code, imported as packages
    found: dict[str, set[str]] = {}
    for path, names in imported_roots(base).items():
        if folder == "lab" and path.startswith(LAB_TEST_KIT):
            continue
        for name in names - FIRST_PARTY - set(sys.stdlib_module_names) - local - {"__future__"}:
            found.setdefault(name, set()).add(path)
    return found


def distribution_of(module: str) -> str:
    dists = metadata.packages_distributions().get(module)
    assert dists, f"{module} is imported but no installed distribution provides it"
    return _norm(dists[0])


@pytest.mark.parametrize(("folder", "groups"), [
    ("egressctl", ("product",)),
    ("drivers", ("product",)),
    ("lab", ("product", "lab")),
    (LAB_TEST_KIT, ("product", "lab", "dev")),
    ("tests", ("product", "lab", "dev")),
    ("bench", ("product", "lab", "dev")),
])
def test_every_import_is_a_declared_dependency(folder: str, groups: tuple[str, ...]) -> None:
    """`pip install egressctl` must give the product every module it imports (issue 9: click was not)."""
    declared = {_norm(r.name) for g in groups for r in requirements(g)}
    imports = third_party_imports(folder)
    missing = {m: sorted(f)[:3] for m, f in imports.items() if distribution_of(m) not in declared}
    assert not missing, f"imported by {folder}/ but not declared in {groups}: {missing}"


@pytest.mark.parametrize("group", ["product", "lab", "dev"])
def test_every_dependency_is_capped_below_a_major(group: str) -> None:
    uncapped = [str(r) for r in requirements(group) if not any(s.operator in ("<", "<=", "==", "~=")
                                                                 for s in r.specifier)]
    assert not uncapped, f"no upper bound: {uncapped}"


def constraint_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: not an exact pin: {line!r}"
            pins[_norm(name)] = version
    return pins


@pytest.mark.parametrize("group", ["product", "lab", "dev"])
def test_constraints_pin_every_dependency_inside_its_range(group: str) -> None:
    pins = constraint_pins()
    for req in requirements(group):
        assert _norm(req.name) in pins, f"{req.name} is not pinned in constraints.txt (run scripts/lock)"
        assert req.specifier.contains(pins[_norm(req.name)], prereleases=True), (req, pins[_norm(req.name)])


def test_bootstrap_builds_an_isolated_venv_from_the_constraints() -> None:
    script = (ROOT / "scripts" / "bootstrap").read_text()
    assert "python3 -m venv .venv" in script
    assert not re.search(r"venv\s+--system-site-packages", script)
    assert "-c constraints.txt" in script
    assert "constraints.txt" in (ROOT / "scripts" / "lock").read_text()


def test_license_file_is_apache_2() -> None:
    project = pyproject()["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_lab_site_is_package_data_and_inventory_links_to_it() -> None:
    """One source of truth: the wheel carries lab/site.yaml; the documented inventory/lab.yaml links to it."""
    link = ROOT / "inventory" / "lab.yaml"
    assert link.is_symlink() and not Path(os.readlink(link)).is_absolute()
    assert link.resolve() == ROOT / "lab" / "site.yaml"
    data = pyproject()["tool"]["setuptools"]["package-data"]
    assert any(fnmatch("site.yaml", pat) for key in ("*", "egressctl_lab") for pat in data.get(key, []))
    from egressctl_lab.cli import PACKAGED_SITE

    assert PACKAGED_SITE.is_file() and PACKAGED_SITE.samefile(link)


def test_lab_plugins_are_registered() -> None:
    eps = pyproject()["project"]["entry-points"]
    assert eps["egressctl.default_inventory"] == {"lab": "egressctl_lab.plugin:default_inventory"}
    assert eps["egressctl.commands"] == {"lab": "egressctl_lab.cli:lab_app"}


# -- default inventory: works outside the repository ---------------------------------------------------


def test_default_inventory_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from egressctl import registry
    from egressctl.cli.common import default_inventory

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EGRESSCTL_INVENTORY", raising=False)
    offered = tmp_path / "offered.yaml"
    monkeypatch.setattr(registry, "default_inventory", lambda state_dir=None: None)
    assert default_inventory() == Path("inventory/lab.yaml")  # nothing anywhere: the documented path
    monkeypatch.setattr(registry, "default_inventory", lambda state_dir=None: offered)
    assert default_inventory() == offered  # outside a checkout: the running lab's
    (tmp_path / "inventory").mkdir()
    (tmp_path / "inventory" / "lab.yaml").write_text("version: 1\n")
    assert default_inventory() == Path("inventory/lab.yaml")  # a checkout's lab site
    monkeypatch.setenv("EGRESSCTL_INVENTORY", "/x/site.yaml")
    assert default_inventory() == Path("/x/site.yaml")


def _fake_lab(state: Path, inventory: Path, pid: int) -> None:
    from egressctl_lab.state import paths, start_time, write_lab_json

    paths(state).root.mkdir(parents=True)
    write_lab_json(paths(state), {"keeper_pid": pid, "keeper_start": start_time(pid), "nodes": ["ws1"],
                                  "inventory": str(inventory)})


def test_lab_offers_its_effective_inventory_only_while_up(tmp_path: Path) -> None:
    from egressctl.registry import default_inventory

    inventory = tmp_path / "effective.yaml"
    inventory.write_text("version: 1\n")
    assert default_inventory(tmp_path / "none") is None
    _fake_lab(tmp_path / "up", inventory, os.getpid())
    assert default_inventory(tmp_path / "up") == inventory
    keeper = subprocess.Popen(["true"])  # a keeper that has exited
    keeper.wait()
    _fake_lab(tmp_path / "down", inventory, keeper.pid)
    assert default_inventory(tmp_path / "down") is None


def test_lab_commands_fall_back_to_the_packaged_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from egressctl_lab.cli import PACKAGED_SITE, _inventory

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EGRESSCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("EGRESSCTL_INVENTORY", raising=False)
    assert _inventory(None) == PACKAGED_SITE
    monkeypatch.setenv("EGRESSCTL_INVENTORY", "/x/lab.yaml")
    assert _inventory(None) == Path("/x/lab.yaml")


def test_unusable_state_directory_is_one_clear_error(tmp_path: Path) -> None:
    """A user without a writable home (``nobody``: /nonexistent) gets a sentence, not a traceback."""
    from egressctl_lab.errors import LabError
    from egressctl_lab.state import ensure_secret, paths

    (tmp_path / "file").write_text("")
    with pytest.raises(LabError, match=r"cannot create the lab's state directory .*EGRESSCTL_STATE_DIR"):
        ensure_secret(paths(tmp_path / "file" / "state"))
