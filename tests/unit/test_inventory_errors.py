"""Broken inventories: one line per problem with file:line, exit 2 through the CLI, nothing changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from egressctl.cli.main import app
from egressctl.errors import InventoryError
from egressctl.inventory import load_inventory

BAD = sorted((Path(__file__).parents[1] / "data" / "bad_inventories").glob("*.yaml"))


def expectations(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^# expect-([a-z]+): ?(.*)$", path.read_text(), re.M))


def test_there_are_at_least_ten() -> None:
    assert len(BAD) >= 10


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_loader_reports_one_located_problem(path: Path) -> None:
    exp = expectations(path)
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    problems = info.value.problems
    assert len(problems) == 1, problems
    p = problems[0]
    assert p.file == str(path)
    assert p.line == int(exp["line"])
    assert exp["field"] in p.field
    assert exp["message"] in p.message
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
@pytest.mark.parametrize("argv", [["isolate", "hq", "--yes"], ["restore", "hq", "--full", "--yes"],
                                  ["plan", "hq", "--to", "isolated"], ["status", "hq"]])
def test_cli_exit_2_and_nothing_changed(path: Path, argv: list[str], tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = CliRunner().invoke(app, ["-i", str(path), "--state-dir", str(state), *argv],
                                env={"EGRESSCTL_STATE_DIR": str(state)})
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    exp = expectations(path)
    assert lines == [ln for ln in lines if ln.startswith(f"{path}:{exp['line']}: ")]
    assert len(lines) == 1
    assert "Traceback" not in result.output
    assert "hunter2" not in result.output
    assert not state.exists() or not any(state.iterdir()), "the journal must be untouched"


def test_missing_file_is_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["-i", str(tmp_path / "nope.yaml"), "status"])
    assert result.exit_code == 2
    assert "nope.yaml:0: (file):" in result.stderr
