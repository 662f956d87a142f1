"""The TUI's session group gets a more favourable nice value while the app runs, and its old value back after.

Real kernel, no double: each case runs in a child process of its own session (so its own autogroup), as
root; the app is the real one over the static backend. Skipped where the kernel has no autogroup.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from egressctl.tui.priority import autogroup_nice

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = """
import asyncio, json
from egressctl.tui.app import make_app
from egressctl.tui.priority import autogroup_nice
from tests.egressctl.tui.static_backend import StaticBackend

async def main():
    seen = {"before": autogroup_nice()}
    app = make_app(StaticBackend())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        seen["during"] = autogroup_nice()
    seen["after"] = autogroup_nice()
    print(json.dumps(seen))

asyncio.run(main())
"""

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(autogroup_nice() is None or os.geteuid() != 0, reason="needs autogroup and root"),
]


def _run(nice: str | None) -> dict[str, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("EGRESSCTL_TUI_NICE", None)
    if nice is not None:
        env["EGRESSCTL_TUI_NICE"] = nice
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=120, start_new_session=True, check=True)
    seen: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return seen


def test_session_group_raised_while_the_app_runs_and_restored() -> None:
    assert _run(None) == {"before": 0, "during": -5, "after": 0}


def test_nice_zero_leaves_scheduling_alone() -> None:
    assert _run("0") == {"before": 0, "during": 0, "after": 0}
