"""An estate: one isolate or restore over several sites (a hospital group) at once.

Each site keeps everything a single-site operation has: its own lock, its own journal state machine and
steps, its own verification and its own exit code. The estate only runs them side by side (one thread per
site, each on its own :meth:`Engine.fork`, so each has its own journal connection) and folds the outcomes
into one summary. Sites are independent: a site that fails does not stop or roll back the others, exactly
as if the operator had run the commands in parallel terminals, because a half-isolated group is better
than a group left open while one site is argued about.

Before any site is touched, every site is refused or accepted together (unknown site or stage, capability
gaps, unresolvable credentials): "nothing is sent before the whole plan is valid" holds for the estate.

The estate's exit code is the worst site's, by :data:`SEVERITY` (most urgent first): 5 (a device needs
attention), 3 (a site not proven), 130 (interrupted: re-running resumes), 1 (failed, rolled back: that
site is unchanged), 4 (locked by another operation), 2 (usage), 6 (plan incomplete), 7, then 0.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from egressctl.describe import describe
from egressctl.errors import EgressError, InputError, InventoryError, PlanError, PolicyError, SiteLocked
from egressctl.events import DeviceStep, Event, Sink
from egressctl.executor import POLL
from egressctl.exitcodes import ExitCode
from egressctl.interrupts import signals_cancel
from egressctl.preflight import check_device_credentials

if TYPE_CHECKING:
    from egressctl.engine import Engine
    from egressctl.inventory.models import Inventory
    from egressctl.results import OperationResult

SEVERITY: tuple[ExitCode, ...] = (
    ExitCode.PARTIAL, ExitCode.VERIFY_FAILED, ExitCode.INTERRUPTED, ExitCode.ROLLED_BACK, ExitCode.LOCKED,
    ExitCode.USAGE, ExitCode.PLAN_INCOMPLETE, ExitCode.CHECK_FAILED, ExitCode.OK,
)
"""Exit codes from the most to the least urgent; the estate exits with its most urgent site's code."""


def worst(codes: Sequence[int]) -> int:
    """The most urgent of ``codes`` by :data:`SEVERITY` (0 for none); an unknown code counts as 5."""
    rank = {int(c): i for i, c in enumerate(SEVERITY)}
    known = [c if c in rank else int(ExitCode.PARTIAL) for c in codes]
    return min(known, key=lambda c: rank[c], default=int(ExitCode.OK))


def resolve_sites(inventory: Inventory, sites: Sequence[str], group: str | None) -> list[str]:
    """The sites named and the group's sites, each once, in the order given.

    Raises:
        PolicyError: an unknown site or group, or nothing named.
    """
    names = list(sites)
    if group is not None:
        try:
            names += inventory.group(group).sites
        except KeyError as exc:
            raise PolicyError(str(exc.args[0])) from None
    known = {s.name for s in inventory.sites}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise PolicyError(f"no site {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}")
    if not names:
        raise PolicyError("name at least one site, or a group with --group NAME")
    return list(dict.fromkeys(names))


@dataclass
class SiteRun:
    """One site's part of an estate operation: its result, or the error that stopped it before starting."""

    site: str
    exit_code: int
    seconds: float
    result: OperationResult | None = None
    error: str = ""
    slowest_device: str = ""
    slowest_device_seconds: float = 0.0

    @property
    def outcome(self) -> str:
        """The operation's outcome, or ``error`` when it never ran."""
        return self.result.outcome if self.result else "error"

    @property
    def verdict(self) -> str:
        """The verification verdict, ``skipped`` without verification, ``none`` when it did not run."""
        if self.result is None:
            return "none"
        return self.result.verification.verdict if self.result.verification else "skipped"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the summary row, then the operation result as a single-site ``--json`` ends."""
        return {"site": self.site, "outcome": self.outcome, "exit_code": self.exit_code,
                "verdict": self.verdict, "state": self.result.state if self.result else None,
                "seconds": round(self.seconds, 3), "error": self.error,
                "slowest_device": self.slowest_device,
                "slowest_device_seconds": round(self.slowest_device_seconds, 3),
                "result": {"event": "result", **self.result.to_dict()} if self.result else None}


@dataclass
class EstateResult:
    """Every site's run and the wall time of the whole estate operation."""

    operation: str
    target: str
    group: str | None
    runs: list[SiteRun] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """The most urgent site's exit code (see :data:`SEVERITY`)."""
        return worst([r.exit_code for r in self.runs])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``egressctl.estate/1`` without its ``schema`` key)."""
        slowest = max(self.runs, key=lambda r: r.slowest_device_seconds, default=None)
        return {
            "operation": self.operation, "target": self.target, "group": self.group,
            "sites": [r.to_dict() for r in self.runs],
            "summary": {
                "sites": len(self.runs), "ok": sum(r.exit_code == 0 for r in self.runs),
                "verified": sum(r.verdict not in ("none", "skipped") and r.exit_code != 3 for r in self.runs),
                "exit_code": self.exit_code, "seconds": round(self.seconds, 3),
                "slowest_site_seconds": round(max((r.seconds for r in self.runs), default=0.0), 3),
                "slowest_device": f"{slowest.site}/{slowest.slowest_device}" if slowest else "",
                "slowest_device_seconds": round(slowest.slowest_device_seconds if slowest else 0.0, 3),
            },
        }


class DeviceClock:
    """A sink that times each device from its first step to its last, so a bench can compare wall times."""

    def __init__(self, sink: Sink | None) -> None:
        self.sink = sink
        self.spans: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        """Record a device step's time, then pass the event on."""
        if isinstance(event, DeviceStep):
            key = (event.site, event.device)
            with self._lock:
                first, _ = self.spans.get(key, (event.at, event.at))
                self.spans[key] = (first, event.at)
        if self.sink is not None:
            self.sink(event)

    def slowest(self, site: str) -> tuple[str, float]:
        """The site's slowest device and its seconds (``("", 0.0)`` when none ran)."""
        with self._lock:
            mine = [(dev, last - first) for (s, dev), (first, last) in self.spans.items() if s == site]
        return max(mine, key=lambda x: x[1], default=("", 0.0))


def _code_of(exc: BaseException) -> int:
    """The exit code of an error that stopped one site (the CLI's table, without importing the CLI)."""
    if isinstance(exc, SiteLocked):
        return ExitCode.LOCKED
    if isinstance(exc, InventoryError | InputError | PolicyError | PlanError):
        return ExitCode.USAGE
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    return ExitCode.PARTIAL


def preflight(engine: Engine, sites: Sequence[str], target: str, dry_run: bool) -> None:
    """Refuse the whole estate before any site is touched when any site cannot be planned.

    Raises:
        PolicyError: one line per site that is refused, with why.
    """
    problems: list[str] = []
    for name in sites:
        try:
            engine.plan(name, target, offline=True)
            if not dry_run:
                check_device_credentials(engine.site(name).devices)
        except EgressError as exc:
            problems.append(f"site {name}: {describe(exc)}")
    if problems:
        raise PolicyError("\n".join(["estate refused (nothing was touched):", *problems]))


def open_journal(engine: Engine, dry_run: bool) -> None:
    """Create the journal (and put it in WAL mode) once, here, before the sites' threads open theirs.

    Each site's fork opens its own connection; on a journal file that does not exist yet, several
    connections switching it to WAL at once get "database is locked" at once (SQLite does not wait on
    that lock), and the losing site was refused as unusable (exit 2) beside healthy ones. A real run
    also proves here that the journal takes writes, so a full disk refuses the estate before any site.

    Raises:
        JournalUnusable: the journal cannot be opened or written; nothing was touched.
    """
    if dry_run:
        _ = engine.journal
    else:
        engine.journal.probe_write()


def run_estate(engine: Engine, sites: Sequence[str], target: str, *, group: str | None = None,
               sink: Sink | None = None, dry_run: bool = False, max_sites: int = 0,
               **kw: Any) -> EstateResult:
    """Take every site in ``sites`` to ``target`` in parallel; ``kw`` goes to :meth:`Engine.apply`.

    Raises:
        PolicyError: a site or the target is refused (nothing was touched).
    """
    preflight(engine, sites, target, dry_run)
    open_journal(engine, dry_run)
    clock = DeviceClock(sink)
    cancel = threading.Event()
    operation = "isolate" if target == "isolated" else "restore"
    started = time.monotonic()

    def one(name: str) -> SiteRun:
        begin, twin = time.monotonic(), engine.fork()
        try:
            res = twin.apply(name, target, yes=True, sink=clock, cancel=cancel, dry_run=dry_run, **kw)
            run = SiteRun(name, int(res.exit_code), time.monotonic() - begin, res)
        except Exception as exc:
            run = SiteRun(name, _code_of(exc), time.monotonic() - begin, error=describe(exc))
        finally:
            twin.close()
        run.slowest_device, run.slowest_device_seconds = clock.slowest(name)
        return run

    # Ctrl-C, SIGTERM or SIGHUP, from before the first site is handed out, only set ``cancel`` (see
    # egressctl.interrupts): each site stops before its next commit and journals ``interrupted``, as a
    # single-site operation does, and the summary says so; none can escape between two submissions with
    # sites left running. A second signal raises out of the wait; the pool still waits for the sites,
    # already told to stop, whose devices in flight end confirmed or rolled back. The wait wakes every
    # POLL seconds: a signal the kernel handed to a site's thread runs its handler only once the main
    # thread runs again (as in the executor).
    with signals_cancel(cancel), ThreadPoolExecutor(max_workers=max_sites or len(sites)) as pool:
        futures = [pool.submit(one, name) for name in sites]
        while wait(futures, timeout=POLL).not_done:
            pass
    runs = [f.result() for f in futures]
    return EstateResult(operation, target, group, runs, time.monotonic() - started)
