"""Broken inventories: one line per problem with file:line, exit 2 through the CLI, nothing changed.

Each file in tests/data/bad_inventories/ says what it must produce in its ``# expect-line:``,
``# expect-field:`` and ``# expect-message:`` header (ASCII even in the file that is not UTF-8).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from egressctl.cli.main import app
from egressctl.errors import InventoryError
from egressctl.inventory import load_inventory

BAD = sorted((Path(__file__).parents[2] / "data" / "bad_inventories").glob("*.yaml"))


PYDANTIC_WORDING = ("Input should be", "type=", "For further information", "errors.pydantic.dev",
                    "Value error,", "Assertion failed,", "lax-or-strict", "function-after", "function-plain",
                    "UnicodeDecodeError")


def expectations(path: Path) -> dict[str, str]:
    text = path.read_bytes().decode("latin-1")  # one corpus file is deliberately not UTF-8
    return dict(re.findall(r"^# expect-([a-z]+): ?(.*)$", text, re.M))


def test_the_corpus_covers_every_case() -> None:
    assert len(BAD) >= 24


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
    assert not [w for w in PYDANTIC_WORDING if w in str(info.value)], str(info.value)


def test_alias_bomb_is_refused_quickly() -> None:
    path = next(p for p in BAD if "alias_bomb" in p.name)
    t0 = time.perf_counter()
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    elapsed = time.perf_counter() - t0
    print(f"alias bomb refused in {elapsed * 1000:.1f} ms")
    assert "aliases expand too far" in str(info.value)
    assert elapsed < 5.0


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
