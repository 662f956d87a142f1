"""The code budgets hold: ruff (style, docstrings, security lints) and mypy --strict, via scripts/lint."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # mypy --strict over every package: about 10 s warm, a minute with a cold cache
@pytest.mark.skipif(not (importlib.util.find_spec("ruff") and importlib.util.find_spec("mypy")),
                    reason="ruff and mypy are dev extras")
def test_ruff_and_mypy_strict_are_clean() -> None:
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "lint")], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
                                            "PYTHON": sys.executable, "HOME": str(Path.home())})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
