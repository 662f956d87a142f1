"""Active verification: run the probe matrix from every vantage point and judge expected vs observed.

``verify_active(site, target)`` plans the matrix (:mod:`matrix`), runs each vantage point's probes
*there* (in parallel): a lab vantage point through ``exec_prefix(netns)`` + ``python -m
egressctl.verify.probe -`` (:func:`probe_command`), a site host over SSH running ``egressctl probe --json
--plan -`` (:mod:`ssh`), the same engine. The verdict:

* **leak**: an expected-blocked probe was answered (named with its exit and path);
* **blocked-allowed**: an expected-reachable probe was not answered;
* **cut-confirmed** / **normal-ok**: every probe as expected. Blocked means refused *or* silent, so the
  verdict never depends on an ICMP refusal arriving; reachable means a real answer.

An expected-reachable probe is blocked only after its retries (:mod:`retry`): one missed reply on a
loaded machine is no evidence. Each observation says how many tries it took (``tries``); one that
answered only on a retry is a warning line in the summary, not a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from egressctl.errors import EgressError, VerificationError
from egressctl.inventory.credentials import redact
from egressctl.inventory.models import Site, VantagePoint
from egressctl.policy import Policy
from egressctl.verify.matcher import CompiledPolicy
from egressctl.verify.probe.matrix import Cell, build_matrix
from egressctl.verify.probe.records import Probe, ProbeResult, ProbeRun, plan_to_json
from egressctl.verify.probe.retry import SCHEDULE, Settled, settle

ExecPrefix = Callable[[str], list[str]]
VERDICTS = ("cut-confirmed", "leak", "blocked-allowed", "leak+blocked-allowed", "normal-ok", "error")


@dataclass(frozen=True)
class Observation:
    """One matrix cell with what was observed."""

    cell: Cell
    result: ProbeResult
    tries: int = 1

    @property
    def problem(self) -> str | None:
        """``leak``, ``blocked-allowed`` or None when as expected."""
        answered = self.result.outcome == "answered"
        if self.cell.expected == "blocked" and answered:
            return "leak"
        if self.cell.expected == "reachable" and not answered:
            return "blocked-allowed"
        return None

    def to_dict(self) -> dict[str, Any]:
        """Flat record for the journal and ``--json``."""
        d = asdict(self.cell)
        d.update(observed=self.result.outcome, detail=self.result.detail, responder=self.result.responder,
                 hops=self.result.hops, rtt_ms=self.result.rtt_ms, problem=self.problem, tries=self.tries)
        return d

    def describe(self) -> str:
        """``vantage: path via exit X (observed detail [by who])``."""
        by = f" by {self.result.responder}" if self.result.responder else ""
        tries = f", {self.tries} tries" if self.tries > 1 else ""
        return (f"{self.cell.vantage}: {self.cell.path} via exit {self.cell.exit} ({self.cell.purpose}, "
                f"expected {self.cell.expected}, {self.result.outcome}: {self.result.detail}{by}{tries})")


@dataclass
class ActiveReport:
    """The probe matrix of one verification and its verdict."""

    site: str
    target: str
    observations: list[Observation]
    errors: dict[str, str] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def leaks(self) -> list[Observation]:
        """Expected-blocked probes that were answered."""
        return [o for o in self.observations if o.problem == "leak"]

    @property
    def blocked_allowed(self) -> list[Observation]:
        """Expected-reachable probes that were not answered."""
        return [o for o in self.observations if o.problem == "blocked-allowed"]

    @property
    def answered_on_retry(self) -> list[Observation]:
        """Expected-reachable probes that answered only on a retry: open, but late (a warning)."""
        return [o for o in self.observations if o.tries > 1 and o.result.outcome == "answered"]

    @property
    def leaking_exits(self) -> list[str]:
        """Exits through which a leak was seen, in first-seen order."""
        return list(dict.fromkeys(o.cell.exit for o in self.leaks))

    @property
    def verdict(self) -> str:
        """One of :data:`VERDICTS`."""
        if self.errors or not self.observations:
            return "error"
        leak, blocked = bool(self.leaks), bool(self.blocked_allowed)
        if leak and blocked:
            return "leak+blocked-allowed"
        if leak or blocked:
            return "leak" if leak else "blocked-allowed"
        return "normal-ok" if self.target == "normal" else "cut-confirmed"

    @property
    def ok(self) -> bool:
        """True when every probe behaved as the target's policy says."""
        return self.verdict in ("cut-confirmed", "normal-ok")

    @property
    def summary(self) -> str:
        """One paragraph naming the verdict and, if any, the leaking exits and paths."""
        n = len(self.observations)
        vps = len({o.cell.vantage for o in self.observations})
        head = f"{self.verdict}: {n} probes from {vps} vantage point(s) at target {self.target}"
        lines = [head]
        if self.errors:
            lines += [f"  vantage point {k} failed: {v}" for k, v in self.errors.items()]
        if self.leaks:
            lines.append(f"  LEAK through exit(s) {', '.join(self.leaking_exits)}:")
            lines += [f"    {o.describe()}" for o in self.leaks]
        if self.blocked_allowed:
            lines.append("  allowed but blocked:")
            lines += [f"    {o.describe()}" for o in self.blocked_allowed]
        if self.answered_on_retry:
            lines.append("  warning: answered only on a retry (open, but late: is this machine loaded?):")
            lines += [f"    {o.describe()}" for o in self.answered_on_retry]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Document for the journal and ``--json``."""
        return {"site": self.site, "target": self.target, "verdict": self.verdict, "ok": self.ok,
                "summary": self.summary, "elapsed_s": round(self.elapsed_s, 3),
                "leaking_exits": self.leaking_exits, "errors": self.errors,
                "leaks": [o.to_dict() for o in self.leaks],
                "blocked_allowed": [o.to_dict() for o in self.blocked_allowed],
                "answered_on_retry": [o.to_dict() for o in self.answered_on_retry],
                "matrix": [o.to_dict() for o in self.observations], "runs": self.runs}


def probe_command() -> list[str]:
    """Argv that runs a probe plan (stdin) with this interpreter: ``python -m egressctl.verify.probe -``.

    The same engine, plan and results document as ``egressctl probe --json --plan -``, without the command
    line around it (typer, pydantic, the registry): a child that only probes pays only for probing. An
    estate verifies many vantage points at once on a loaded machine, where every tenth of a CPU-second
    per child decides whether the probe runs finish in time. Site hosts over SSH still run ``egressctl
    probe`` (:mod:`ssh`), the installed command there.
    """
    return [sys.executable, "-m", "egressctl.verify.probe", "-"]


def _default_prefix(netns: str) -> list[str]:
    from egressctl.registry import netns_exec

    return netns_exec()(netns)


def _run_local(argv: list[str], plan: str, budget: float) -> ProbeRun:
    try:
        res = subprocess.run(argv, input=plan, capture_output=True, text=True, timeout=budget, check=False)
    except subprocess.TimeoutExpired:
        raise VerificationError(f"probe run did not finish within {budget:.0f} s") from None
    if res.returncode:
        raise VerificationError(f"probe run failed ({res.returncode}): {redact(res.stderr.strip()[-500:])}")
    try:
        return ProbeRun.from_dict(json.loads(res.stdout))
    except json.JSONDecodeError as exc:
        raise VerificationError(f"probe run printed no JSON: {exc}") from None


def _run_probes(vp: VantagePoint, probes: list[Probe], timeout: float, prefix: ExecPrefix | None) -> ProbeRun:
    """One run of ``probes`` on ``vp``; every probe's result must come back (a missing one is no verdict)."""
    plan = plan_to_json(probes, timeout)
    budget = timeout * 2 + 60
    if vp.netns is not None:
        run = _run_local([*(prefix or _default_prefix)(vp.netns), *probe_command()], plan, budget)
    else:
        from egressctl.verify.probe.ssh import run_over_ssh

        run = ProbeRun.from_dict(run_over_ssh(vp, plan, budget))
    got = {r.id for r in run.results}
    missing = [p.id for p in probes if p.id not in got]
    if missing:  # never read a missing result as "blocked"
        raise VerificationError(f"{len(missing)} probe result(s) missing from {run.host}")
    return run


def _run_vantage(vp: VantagePoint, cells: list[Cell], timeout: float, prefix: ExecPrefix | None,
                 schedule: tuple[float, ...]) -> tuple[ProbeRun, Settled]:
    """The first run of ``cells`` on ``vp``, then the retries of its silent expected-reachable probes."""
    first = _run_probes(vp, [c.probe(i) for i, c in enumerate(cells)], timeout, prefix)
    return first, settle(cells, first, lambda probes, wait: _run_probes(vp, probes, wait, prefix), timeout,
                         schedule=schedule)


def verify_active(site: Site, target: str, *, timeout: float = 1.0,
                  exec_prefix: ExecPrefix | None = None, policy: Policy | None = None,
                  retry_schedule: tuple[float, ...] = SCHEDULE) -> ActiveReport:
    """Probe the matrix of ``site`` at ``target`` from every vantage point (in parallel) and judge it.

    A vantage point that cannot run its probes is reported in ``errors`` (verdict ``error``); a leak is a
    verdict, not an exception. ``policy``: the target's policy as the engine computed it for the operation
    (the very one that was planned and sent); computed here when not given.

    Raises:
        PolicyError: ``target`` is not a target of the site.
    """
    start = time.monotonic()
    matrix = build_matrix(site, target, CompiledPolicy.compile(policy, site) if policy is not None else None)
    report = ActiveReport(site.name, target, [])
    vps = [vp for vp in site.vantage_points if matrix.get(vp.name)]
    if not vps:
        report.errors["(site)"] = "no vantage point with probes: add vantage_points and canaries"
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(vps)))) as pool:
        futures = {vp.name: pool.submit(_run_vantage, vp, matrix[vp.name], timeout, exec_prefix,
                                        retry_schedule) for vp in vps}
        for name, fut in futures.items():
            try:
                run, settled = fut.result()
            except (EgressError, OSError) as exc:
                report.errors[name] = redact(str(exc))
                continue
            report.observations += [Observation(c, settled.results[i], settled.tries[i])
                                    for i, c in enumerate(matrix[name])]
            report.runs[name] = {"host": run.host, "elapsed_s": run.elapsed_s, "stats": run.stats,
                                 "retries": settled.log}
    report.elapsed_s = time.monotonic() - start
    return report
