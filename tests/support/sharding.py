"""pytest plugin: run one shard of the suite (``--shard I/K``) and record how long each module took.

``scripts/test`` runs the slow tiers as K pytest processes at once, each in network, mount and PID
namespaces of its own (``scripts/shards.py``), so their waits on SSH, emulator timers and probes overlap.
A module never crosses shards (its fixtures are module-scoped, and its namespace prefix and ports are its
own), so the split is by module: greedy, longest first, onto the least loaded shard, with the durations
measured by an earlier run (``tests/durations.json``, written by ``scripts/test --record-durations``);
a module not in the table counts as the table's median. Every shard computes the same split from the
same collection and keeps its own part.

Modules in :data:`HOST_NETWORK` need the host's own network (pip installs from the package index), which
an isolated shard has not: ``--shard host`` selects exactly them, every ``I/K`` shard leaves them out.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

#: The committed table of measured module durations (seconds of the slow tiers, one sequential run).
DURATIONS = Path(__file__).resolve().parents[1] / "durations.json"
#: What a module counts for when the table is empty.
DEFAULT_SECONDS = 30.0
#: Modules that need the host's network namespace (pip reaching the package index).
HOST_NETWORK = frozenset({"tests/project/test_install_wheel.py"})


def module_of(nodeid: str) -> str:
    """The module part of a node id (``tests/x/test_y.py::T::test_z`` -> ``tests/x/test_y.py``)."""
    return nodeid.split("::", 1)[0]


def load_table(path: Path) -> dict[str, float]:
    """The durations table; empty when the file is missing or unreadable (all modules then weigh the same)."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def split(modules: Iterable[str], table: Mapping[str, float], shards: int) -> list[list[str]]:
    """Modules spread over ``shards`` lists, greedily: the longest first, each onto the least loaded.

    Deterministic (ties go by name and by shard number), so every shard process computes the same split.
    """
    default = statistics.median(table.values()) if table else DEFAULT_SECONDS
    weight = {m: table.get(m, default) for m in set(modules)}
    parts: list[list[str]] = [[] for _ in range(shards)]
    loads = [0.0] * shards
    for module in sorted(weight, key=lambda m: (-weight[m], m)):
        least = min(range(shards), key=lambda i: (loads[i], i))
        parts[least].append(module)
        loads[least] += weight[module]
    return parts


def parse_shard(spec: str) -> tuple[int, int] | None:
    """``"I/K"`` as (I, K) with 1 <= I <= K; None for ``"host"``.

    Raises:
        pytest.UsageError: anything else.
    """
    if spec == "host":
        return None
    try:
        index, count = (int(p) for p in spec.split("/"))
    except ValueError:
        raise pytest.UsageError(f"--shard {spec!r}: expected I/K (e.g. 2/3) or host") from None
    if not 1 <= index <= count:
        raise pytest.UsageError(f"--shard {spec!r}: need 1 <= I <= K")
    return index, count


def selected_modules(spec: str, modules: Iterable[str], table: Mapping[str, float]) -> set[str]:
    """The modules shard ``spec`` runs, out of every module the collection kept."""
    parsed = parse_shard(spec)
    present = set(modules)
    if parsed is None:
        return present & HOST_NETWORK
    index, count = parsed
    return set(split(present - HOST_NETWORK, table, count)[index - 1])


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--shard``, ``--durations-table`` and ``--record-durations``."""
    group = parser.getgroup("shards", "running the suite as concurrent shards (scripts/test)")
    group.addoption("--shard", metavar="I/K", default=None,
                    help="run only shard I of K (whole modules, balanced by --durations-table), "
                         "or 'host': the modules that need the host's network")
    group.addoption("--durations-table", metavar="FILE", type=Path, default=DURATIONS,
                    help="measured module durations for --shard (default: tests/durations.json)")
    group.addoption("--record-durations", metavar="FILE", type=Path, default=None,
                    help="write the seconds each module took (setup, call and teardown) as JSON")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the modules of other shards (last, after ``-m``/``-k`` deselected theirs)."""
    spec = config.getoption("shard")
    if not spec:
        return
    keep = selected_modules(spec, (module_of(i.nodeid) for i in items),
                            load_table(config.getoption("durations_table")))
    chosen = [i for i in items if module_of(i.nodeid) in keep]
    dropped = [i for i in items if module_of(i.nodeid) not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = chosen


class DurationRecorder:
    """Sums each module's setup, call and teardown time; written out when the session ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seconds: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Add this phase's duration to its module."""
        self.seconds[module_of(report.nodeid)] += report.duration

    def pytest_sessionfinish(self) -> None:
        """Write ``{module: seconds}``, sorted, rounded to 0.1 s."""
        table = {m: round(s, 1) for m, s in sorted(self.seconds.items())}
        self.path.write_text(json.dumps(table, indent=1) + "\n")


def pytest_configure(config: pytest.Config) -> None:
    """Register the recorder when asked (not in xdist workers: their controller sees every report)."""
    path = config.getoption("record_durations", None)
    if path is not None and not hasattr(config, "workerinput"):
        config.pluginmanager.register(DurationRecorder(path), "egressctl-duration-recorder")
