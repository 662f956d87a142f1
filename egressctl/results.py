"""The documents an operation produces: per device, per execution, and (with the engine) per operation.

They are plain dataclasses with ``to_dict()`` because three front ends read them (the CLI's table and
``--json`` stream, the TUI, library users) and the journal keeps their words: one definition, shared by the
executor that fills them and the engine that returns them, keeps those readers from drifting apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from egressctl.exitcodes import ExitCode

if TYPE_CHECKING:
    from egressctl.journal import LockInfo, OperationRecord
    from egressctl.planner import Plan

SUCCESS = frozenset({"changed", "noop", "skipped"})
"""Device outcomes that leave the device at the target (or deliberately untouched)."""


@dataclass
class DeviceResult:
    """What happened on one device.

    ``outcome``: changed, noop, skipped, failed (untouched), rolled-back, rollback-failed, interrupted, or
    pending (committed and proven, not yet confirmed: only seen between the two phases of a restore).
    ``lines``: how many lines were loaded (0 when nothing was). ``sessions``: the ``sessions`` step's report
    (``ok``, ``handling``, ``matched``, ``cleared``, ``detail``; or ``ok`` False and ``error``), None when
    the step did not run. ``warnings``: what went wrong after the change was kept (sessions that could not
    be ended); each one needs an operator.
    """

    device: str
    outcome: str = "failed"
    before: str | None = None
    after: str | None = None
    failed_step: str | None = None
    error: str = ""
    diff: str = ""
    lines: int = 0
    sessions: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass
class Execution:
    """The executor's report: per-device results and the site-level outcome.

    ``outcome``: ok, noop, partial, rolled-back, interrupted, or refused (another controller's unconfirmed
    change was found before anything was sent; ``detail`` names the devices, operations and owners).
    """

    results: list[DeviceResult]
    outcome: str
    detail: str = ""

    @property
    def warnings(self) -> list[str]:
        """Every device's warnings as ``device: warning`` (the operation needs attention when any)."""
        return [f"{r.device}: {w}" for r in self.results for w in r.warnings]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"outcome": self.outcome, "devices": [r.to_dict() for r in self.results],
                "warnings": self.warnings}


@dataclass
class VerifyResult:
    """An active verification's verdict, as journaled (``ok`` False means exit 3)."""

    site: str
    target: str
    ok: bool
    verdict: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 when the verification passed, 3 otherwise."""
        return ExitCode.OK if self.ok else ExitCode.VERIFY_FAILED

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"site": self.site, "target": self.target, "ok": self.ok, "verdict": self.verdict,
                "summary": self.summary, "details": self.details}


@dataclass
class OperationResult:
    """The result of ``apply`` (isolate/restore), also for dry runs and aborted confirmations.

    ``warnings`` (``device: warning``) are what the operation left for an operator although every device
    reached the target (sessions an isolation could not end): with any, the exit code is 5.
    """

    op_id: str
    site: str
    operation: str
    target: str
    outcome: str
    state: str
    exit_code: int
    message: str = ""
    devices: list[DeviceResult] = field(default_factory=list)
    plan: Plan | None = None
    verification: VerifyResult | None = None
    dry_run: bool = False
    resumed: str | None = None
    scope: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    detail: str = ""
    device_states: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "op_id": self.op_id, "site": self.site, "operation": self.operation, "target": self.target,
            "outcome": self.outcome, "state": self.state, "exit_code": int(self.exit_code),
            "message": self.message, "dry_run": self.dry_run, "resumed": self.resumed, "scope": self.scope,
            "warnings": self.warnings, "device_states": self.device_states, "detail": self.detail,
            "devices": [d.to_dict() for d in self.devices],
            "plan": self.plan.to_dict() if self.plan else None,
            "verification": self.verification.to_dict() if self.verification else None,
        }


@dataclass
class SiteStatus:
    """``egressctl status SITE``: state, lock, last operation, where each device got to, what to do.

    ``devices``: each device's last step in the last operation; ``device_states``: where every device of
    the site stands as journaled (what makes a ``mixed`` site readable).
    """

    site: str
    state: str
    hint: str
    operation: OperationRecord | None = None
    running: bool = False
    lock: LockInfo | None = None
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    verification: dict[str, Any] | None = None
    device_states: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"site": self.site, "state": self.state, "hint": self.hint, "running": self.running,
                "operation": self.operation.to_dict() if self.operation else None,
                "lock": self.lock.to_dict() if self.lock else None, "devices": self.devices,
                "device_states": self.device_states, "verification": self.verification}


@dataclass
class SiteOverview:
    """One line of ``egressctl status`` without a site."""

    site: str
    state: str
    devices: int
    exits: list[str]
    locked_by: str | None
    last_operation: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


def operation_message(r: OperationResult) -> str:
    """The one sentence an operation ends with (CLI last line, journal, TUI banner)."""
    bad = [d for d in r.devices if d.outcome not in SUCCESS]
    attention = f"; needs attention: {'; '.join(r.warnings)}" if r.warnings else ""
    if r.outcome == "noop":
        return f"every device already at {r.target}; no change sent" + attention
    if r.outcome == "refused":
        return (f"refused, nothing was changed: unconfirmed change of another controller ({r.detail}); "
                "ask its owner, or re-run with --take-over")
    if r.outcome == "ok":
        return f"{r.site} is {r.state}" + (f" (devices: {', '.join(r.scope)})" if r.scope else "") + attention
    detail = "; ".join(f"{d.device}: {d.outcome}" + (f" at {d.failed_step}" if d.failed_step else "")
                       + (f": {d.error}" if d.error else "") for d in bad)
    if r.outcome == "rolled-back":
        return f"restore failed and every device was rolled back to {r.state} ({detail})"
    if r.outcome == "interrupted":
        return f"interrupted; site is {r.state} ({detail})" + attention
    return f"partial: {detail}" + attention
