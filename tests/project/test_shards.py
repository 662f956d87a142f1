"""scripts/test's shards: the greedy split by module, ``--shard`` selection in a real pytest run, the summary.

The shards themselves (namespaces, concurrency) are exercised by ``scripts/test``; these are the parts that
decide what runs where and whether the run failed, fast and without root.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.sharding import HOST_NETWORK, parse_shard, selected_modules, split

ROOT = Path(__file__).resolve().parents[2]


def load_script() -> ModuleType:
    """scripts/shards.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("shards_script", ROOT / "scripts" / "shards.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_split_is_greedy_longest_first_onto_the_least_loaded() -> None:
    table = {"a": 10.0, "b": 8.0, "c": 5.0, "d": 3.0}
    assert split(["d", "c", "b", "a"], table, 2) == [["a", "d"], ["b", "c"]]
    assert split(table, table, 4) == [["a"], ["b"], ["c"], ["d"]]
    assert split(table, table, 6)[4:] == [[], []]


def test_unknown_modules_weigh_the_tables_median() -> None:
    table = {"a": 100.0, "b": 10.0, "c": 1.0}
    parts = split(["a", "b", "c", "new1", "new2"], table, 2)
    assert parts == [["a"], ["b", "new1", "new2", "c"]]
    assert split(["x", "y", "z"], {}, 2) == [["x", "z"], ["y"]]  # empty table: all equal, by name


def test_every_module_in_exactly_one_shard_whatever_k() -> None:
    modules = [f"tests/m{i}.py" for i in range(23)]
    table = {m: float((i * 7) % 11) for i, m in enumerate(modules)}
    for k in (1, 2, 3, 5):
        parts = split(modules, table, k)
        assert sorted(m for p in parts for m in p) == sorted(modules)
        assert split(reversed(modules), table, k) == parts  # the order of collection does not matter


def test_host_modules_run_only_in_the_host_shard() -> None:
    modules = {"tests/a.py", "tests/b.py", *HOST_NETWORK}
    assert selected_modules("host", modules, {}) == set(HOST_NETWORK)
    isolated = selected_modules("1/2", modules, {}) | selected_modules("2/2", modules, {})
    assert isolated == {"tests/a.py", "tests/b.py"}


@pytest.mark.parametrize("spec", ["0/3", "4/3", "1", "a/b", "1/2/3"])
def test_a_bad_shard_spec_is_a_usage_error(spec: str) -> None:
    with pytest.raises(pytest.UsageError):
        parse_shard(spec)
    assert parse_shard("2/3") == (2, 3) and parse_shard("host") is None


def run_pytest(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest with only the sharding plugin, over a throwaway tree."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.support.sharding",
         "--rootdir", str(tree), "-c", str(tree / "pytest.ini"), *args, str(tree)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)


def test_shards_of_a_real_run_partition_the_modules(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    for name, count in (("test_big.py", 3), ("test_mid.py", 2), ("test_small.py", 1)):
        (tmp_path / name).write_text("".join(f"def test_{i}():\n    pass\n" for i in range(count)))
    table = tmp_path / "durations.json"
    table.write_text(json.dumps({"test_big.py": 50, "test_mid.py": 30, "test_small.py": 25}))
    ran: dict[str, set[str]] = {}
    for spec in ("1/2", "2/2"):
        rec = tmp_path / f"rec{spec[0]}.json"
        out = run_pytest(tmp_path, f"--shard={spec}", f"--durations-table={table}",
                         f"--record-durations={rec}")
        assert out.returncode == 0, out.stdout + out.stderr
        ran[spec] = set(json.loads(rec.read_text()))
    assert ran == {"1/2": {"test_big.py"}, "2/2": {"test_mid.py", "test_small.py"}}


def junit(path: Path, tests: int, failures: int = 0, skipped: int = 0) -> Path:
    path.write_text(f'<testsuites><testsuite tests="{tests}" failures="{failures}" errors="0" '
                    f'skipped="{skipped}"/></testsuites>')
    return path


def test_summary_fails_on_a_failed_shard_and_on_no_test(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script()

    def shard(name: str, rc: int, *counts: int) -> object:
        s = script.Shard(name, name, True, tmp_path, rc=rc)
        junit(s.junit, *counts)
        s.log.write_text(f"log of {name}\n")
        return s

    fast = (0, junit(tmp_path / "fast.xml", 10, 0, 1))
    assert script.summarize(fast, [shard("a", 0, 4), shard("b", 5, 0)]) == 0
    assert "scripts/test: 14 tests, 13 passed, 0 failed, 1 skipped" in capsys.readouterr().out
    assert script.summarize(fast, [shard("a", 1, 4, 1)]) == 1
    assert "log of a" in capsys.readouterr().out  # the failing shard's log is shown
    assert script.summarize((5, junit(tmp_path / "none.xml", 0)), [shard("c", 0, 2, 0, 2)]) == 1


def test_progress_counts_finished_tests_not_a_tracebacks_lines(tmp_path: Path) -> None:
    script = load_script()
    s = script.Shard("1of2", "1/2", True, tmp_path)
    s.log.write_text("bringing up nodes...\n" + "." * 72 + " [ 50%]\n..sF.xX\n\n== FAILURES ==\nE\nE  x\n")
    assert script.progress(s) == "79 done"
