"""Shared, generic fixtures. Keep this small; put subsystem fixtures next to their tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

#: The test kit's markers (ssh, root, lab, slow), registered as a plugin author's conftest would, and
#: ``--shard I/K`` / ``--record-durations`` of scripts/test's concurrent shards (tests/support/sharding.py).
pytest_plugins = ["egressctl_lab.testing.plugin", "tests.support.sharding"]

#: tests/data holds inputs, among them a separate plugin package with its own tests (run by test_plugin_kit).
collect_ignore = ["data"]

E2E = Path(__file__).resolve().parent / "e2e"
TIERS = ("lab", "root", "ssh")


def reaches_outside(path: Path) -> bool:
    """True for a module of whole-site tests (``tests/e2e/``) or one named ``test_*_lab.py``.

    Those are the tests that reach outside the process (SSH, namespaces, nft, packets), wherever they sit
    in the mirror of the packages (see tests/README.md).
    """
    return path.is_relative_to(E2E) or path.name.endswith("_lab.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that reaches outside the process and names no tier needs the lab: never in the fast tier.

    A new one that forgets its marker is treated as the heaviest kind rather than slowing down or breaking
    ``scripts/test --fast``. Mark it ``ssh`` or ``root`` when it needs less.
    """
    for item in items:
        if reaches_outside(item.path) and not any(item.get_closest_marker(t) for t in TIERS):
            item.add_marker(pytest.mark.lab)


def lab_available() -> bool:
    """True when this process can build network namespaces (root with `ip netns`)."""
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("nft") is None:
        return False
    probe = f"xe-probe-{os.getpid()}"
    try:
        subprocess.run(["ip", "netns", "add", probe], check=True, capture_output=True, timeout=10)
    except (subprocess.SubprocessError, OSError):
        return False
    subprocess.run(["ip", "netns", "del", probe], check=False, capture_output=True, timeout=10)
    return True


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private egressctl state directory (journal, lab files), also exported as EGRESSCTL_STATE_DIR."""
    path = tmp_path / "state"
    path.mkdir()
    monkeypatch.setenv("EGRESSCTL_STATE_DIR", str(path))
    yield path
