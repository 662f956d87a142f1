"""Preflight (``egressctl check SITE``): everything an isolation depends on, checked before the incident.

An isolation at 3 a.m. is the wrong moment to learn that a device's host key changed, that the IOS router
has no archive for its revert timer, that someone left uncommitted changes in the Junos candidate (a
commit would take them along), or that the vantage point meant to prove the cut is down. ``check`` looks
at all of it and **changes nothing**: every device is read over one read-only session (host key pin,
credential, state, drift from the journal, how it treats sessions, and its driver's vendor prerequisites
with what its dead-man switch does when it fires), every vantage point runs ``egressctl probe`` with one
probe to its own address (the packet never leaves the host), every capture point's interface is looked up.
All of it runs in parallel, so a check takes about as long as the slowest device.

Results are plain data (:class:`CheckResult`, one per thing checked, grouped per :class:`Subject`) so the
CLI table, ``--json`` (``schemas/check.schema.json``) and the TUI show the same words. Drivers return
their own :class:`CheckResult` list from an optional ``preflight()`` method; a driver without one is
reported as a warning, never guessed at.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from egressctl.exitcodes import ExitCode

if TYPE_CHECKING:
    from egressctl.driver import Driver
    from egressctl.inventory.models import Device, Site
    from egressctl.journal import Journal


class Status(StrEnum):
    """How one check came out, in the order of severity."""

    OK = "ok"
    WARN = "warn"
    """An isolation would work, but the operator should know or fix this first."""
    FAIL = "fail"
    """An isolation would fail, or its result could not be trusted."""


_RANK = {Status.OK: 0, Status.WARN: 1, Status.FAIL: 2}


@dataclass(frozen=True)
class CheckResult:
    """One thing checked: its name (stable, for scripts), how it came out, and plain words why.

    ``safety_net_effect`` says what the device's dead-man switch does when it fires (a driver sets it on
    the check that describes its safety net), because that is what the operator lives with during a cut.
    """

    name: str
    status: Status
    detail: str
    safety_net_effect: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"name": self.name, "status": self.status.value, "detail": self.detail,
                "safety_net_effect": self.safety_net_effect}


def ok(name: str, detail: str, safety_net_effect: str = "") -> CheckResult:
    """A check that passed."""
    return CheckResult(name, Status.OK, detail, safety_net_effect)


def warn(name: str, detail: str, safety_net_effect: str = "") -> CheckResult:
    """A check an operator should read (an isolation would still work)."""
    return CheckResult(name, Status.WARN, detail, safety_net_effect)


def fail(name: str, detail: str, safety_net_effect: str = "") -> CheckResult:
    """A check that failed (an isolation would fail or could not be trusted)."""
    return CheckResult(name, Status.FAIL, detail, safety_net_effect)


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe of ``statuses`` (ok when there are none)."""
    return max(statuses, key=_RANK.__getitem__, default=Status.OK)


@dataclass
class Subject:
    """What was checked (the site, a device, a vantage point, a capture point) and its checks.

    ``info`` carries what a reader needs beside the checks: for a device its platform, exit, safety net
    and its effect, what it holds, what the journal expects and the drift document.
    """

    kind: str
    name: str
    checks: list[CheckResult] = field(default_factory=list)
    elapsed_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        """The worst of its checks."""
        return worst(c.status for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"kind": self.kind, "name": self.name, "status": self.status.value,
                "elapsed_s": round(self.elapsed_s, 3), "info": self.info,
                "checks": [c.to_dict() for c in self.checks]}


@dataclass
class CheckReport:
    """The whole preflight of one site; ``strict`` makes warnings fail it too."""

    site: str
    subjects: list[Subject]
    elapsed_s: float = 0.0
    strict: bool = False

    @property
    def status(self) -> Status:
        """The worst check of the site."""
        return worst(s.status for s in self.subjects)

    @property
    def exit_code(self) -> ExitCode:
        """0 unless a check failed (or, with ``strict``, warned): then ``CHECK_FAILED``."""
        bad = {Status.FAIL, Status.WARN} if self.strict else {Status.FAIL}
        return ExitCode.CHECK_FAILED if self.status in bad else ExitCode.OK

    def problems(self) -> list[str]:
        """``subject check: detail`` of every check that did not pass, failures first."""
        found = [(c.status, f"{s.name} {c.name}: {c.detail}") for s in self.subjects for c in s.checks
                 if c.status != Status.OK]
        return [text for _, text in sorted(found, key=lambda p: -_RANK[p[0]])]

    def counts(self) -> dict[str, int]:
        """How many checks came out ok, warn and fail."""
        out = {s.value: 0 for s in Status}
        for sub in self.subjects:
            for c in sub.checks:
                out[c.status.value] += 1
        return out

    def slowest(self) -> Subject | None:
        """The subject that took longest (what bounds the whole check)."""
        timed = [s for s in self.subjects if s.kind != "site"]
        return max(timed, key=lambda s: s.elapsed_s, default=None)

    @property
    def summary(self) -> str:
        """One sentence: what failed or warned, else that everything passed."""
        n = self.counts()
        if not n["fail"] and not n["warn"]:
            return f"{self.site}: all {n['ok']} checks passed"
        return f"{self.site}: {n['fail']} failed, {n['warn']} warnings, {n['ok']} passed"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``check --json``)."""
        slow = self.slowest()
        return {"site": self.site, "status": self.status.value, "ok": self.exit_code == ExitCode.OK,
                "exit_code": int(self.exit_code), "strict": self.strict, "summary": self.summary,
                "elapsed_s": round(self.elapsed_s, 3), "counts": self.counts(), "problems": self.problems(),
                "slowest": {"name": slow.name, "elapsed_s": round(slow.elapsed_s, 3)} if slow else None,
                "subjects": [s.to_dict() for s in self.subjects]}


def timed(kind: str, name: str, body: Callable[[Subject], None]) -> Subject:
    """Run ``body`` on a new subject, timing it; an unexpected error becomes a failed ``internal`` check."""
    from egressctl.describe import describe

    subject = Subject(kind, name)
    start = time.monotonic()
    try:
        body(subject)
    except Exception as exc:  # a bug in one check must not hide the others' results
        subject.checks.append(fail("internal", f"the check itself failed: {describe(exc)}"))
    subject.elapsed_s = time.monotonic() - start
    return subject


@dataclass(frozen=True)
class CheckContext:
    """What a site check needs from the engine (passed in, so this module never imports the engine)."""

    factory: Callable[[Device], Driver]
    journal: Journal
    state_dir: Path


def run_check(site: Site, devices: Sequence[Device], ctx: CheckContext, *, strict: bool = False,
              drift_only: bool = False) -> CheckReport:
    """Check ``site`` (its ``devices``, vantage points and capture points) in parallel; changes nothing.

    ``drift_only`` reads the devices and compares them with the journal, nothing else (``status --live``).
    """
    # The runner's modules import this module's types (as drivers do), so they are imported here.
    from egressctl.check_devices import check_device, site_checks
    from egressctl.check_points import capture_tasks, vantage_tasks
    from egressctl.drift import expected_targets

    start = time.monotonic()
    expected = expected_targets(ctx.journal, site.name, [d.name for d in devices])
    tasks: list[Callable[[], Subject]] = [
        partial(check_device, d, site, ctx.factory, expected[d.name], drift_only) for d in devices]
    if not drift_only:
        tasks += vantage_tasks(site, ctx.state_dir) + capture_tasks(site, ctx.state_dir)
    with ThreadPoolExecutor(max_workers=max(1, min(32, len(tasks)))) as pool:
        futures = [pool.submit(task) for task in tasks]
        head = [] if drift_only else [site_checks(site, devices, ctx)]
        subjects = head + [f.result() for f in futures]
    return CheckReport(site.name, subjects, time.monotonic() - start, strict)
