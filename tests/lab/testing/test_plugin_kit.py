"""The public test kit works for a driver that is not egressctl's: the sample plugin passes it.

``tests/data/sample_driver`` is a separate package (its own ``pyproject.toml``, a made-up ``sample_acl``
platform, its emulator and tests that subclass the kit's suites). Here it is made importable the way an
installed distribution is (its source on ``PYTHONPATH`` and a ``dist-info`` folder whose entry points are
read from its own ``pyproject.toml``) without touching this environment, and its tests run in a child
pytest, so this repository's conftest, markers and sys.path never help it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample_driver"


def write_dist_info(project: dict[str, object], folder: Path) -> None:
    """A minimal ``dist-info`` so importlib.metadata sees the sample's entry points as if pip installed it."""
    name, version = str(project["name"]), str(project["version"])
    info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    groups = project["entry-points"]
    assert isinstance(groups, dict)
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in points.items()) + "\n"
        for group, points in groups.items()))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder that, on ``PYTHONPATH`` next to the sample's source, makes the sample an installed plugin."""
    folder = tmp_path_factory.mktemp("sample-site")
    write_dist_info(tomllib.loads((SAMPLE / "pyproject.toml").read_text())["project"], folder)
    return folder


def run_sample_tests(installed: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The sample's own pytest run (bounded), from its folder, with none of this repository's test setup."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SAMPLE), str(installed)]),
           "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("EGRESSCTL_UPDATE_GOLDEN", None)
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", *args]
    return subprocess.run(argv, cwd=SAMPLE, env=env, capture_output=True, text=True, timeout=180, check=False)


def test_sample_driver_passes_the_conformance_suite(installed: Path) -> None:
    done = run_sample_tests(installed, "tests/test_conformance.py")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


@pytest.mark.ssh
def test_sample_driver_and_emulator_pass_the_lifecycle_suite(installed: Path) -> None:
    done = run_sample_tests(installed, "tests/test_lifecycle.py")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "8 passed" in done.stdout, done.stdout[-2000:]
