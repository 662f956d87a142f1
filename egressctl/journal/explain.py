"""Turn what the journal holds into a sentence an operator can act on (``egressctl status``).

After a crash the journal shows an operation still ``running`` whose owner is gone; this module says which
operation, which device was at which step, and what to do (re-run the same command: it resumes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from egressctl.journal.lock import LockInfo
from egressctl.journal.store import OperationRecord, StepRecord


def command_for(site: str, kind: str, target: str) -> str:
    """The CLI command that runs (or resumes) an operation."""
    if target == "isolated":
        return f"egressctl isolate {site}"
    if target == "normal":
        return f"egressctl restore {site} --full"
    return f"egressctl restore {site} --stage {target}"


def _where(steps: dict[str, StepRecord]) -> str:
    parts = []
    for dev, rec in sorted(steps.items()):
        if rec.step == "done" and rec.status in ("ok", "skipped"):
            continue
        parts.append(f"{dev} at {rec.step} ({rec.status})")
    return ", ".join(parts) or "no device had started"


def sessions_not_ended(steps: Sequence[StepRecord]) -> list[str]:
    """Devices whose ``sessions`` step failed in these steps (their cut stands; open sessions may not)."""
    return sorted({r.device for r in steps if r.step == "sessions" and r.status == "failed"})


def _mixed(site: str, devices: Mapping[str, str]) -> str:
    groups: dict[str, list[str]] = {}
    for dev, st in sorted(devices.items()):
        groups.setdefault(st, []).append(dev)
    where = "; ".join(f"{', '.join(devs)}: {st}" for st, devs in sorted(groups.items()))
    return (f"site is mixed (devices were changed one by one with --device): {where}. "
            f"`egressctl isolate {site}` cuts every device; `egressctl restore {site} --stage NAME|--full` "
            "takes every device to one state.")


def hint(site: str, state: str, op: OperationRecord | None, running: bool, lock: LockInfo | None,
         steps: dict[str, StepRecord], sessions_failed: Sequence[str] = (),
         devices: Mapping[str, str] | None = None) -> str:
    """What the operator should know and do about ``site`` now.

    ``sessions_failed``: devices of the last operation whose established sessions could not be ended
    (:func:`sessions_not_ended`); the site is isolated, but an intruder's open connection may survive.
    ``devices``: each device's journaled state (what a ``mixed`` site is made of).
    """
    if op is not None and running:
        cmd = command_for(site, op.kind, op.target)
        if lock is not None and not lock.stale:
            return (f"operation {op.op_id} ({op.kind} to {op.target}) is running, owned by {lock.owner}; "
                    f"devices: {_where(steps)}")
        return (f"operation {op.op_id} ({op.kind} to {op.target}) was interrupted; {_where(steps)}. "
                f"Re-run `{cmd}` to resume: it re-reads every device, skips those already at target and "
                "confirms or rolls back pending commits (an unconfirmed commit also reverts by itself when "
                "its dead-man timer fires).")
    if state == "failed-partial" and op is not None:
        failed = [d for d, r in sorted(steps.items())
                  if not (r.step == "done" and r.status in ("ok", "skipped"))]
        return (f"last {op.kind} ({op.op_id}) did not reach {op.target} on: "
                f"{', '.join(failed) or 'some devices'}. "
                f"Fix the cause shown by `egressctl history {site}`, then re-run "
                f"`{command_for(site, op.kind, op.target)}`.")
    if op is not None and op.outcome == "refused":
        return (f"the last {op.kind} ({op.op_id}) was refused before any change: {op.message}. Re-running "
                f"`{command_for(site, op.kind, op.target)}` carries on from it.")
    if state == "mixed":
        return _mixed(site, devices or {})
    if state == "isolated" and sessions_failed:
        return (f"site is isolated, but established sessions could not be ended on "
                f"{', '.join(sessions_failed)}: an open connection may survive the cut. Re-run "
                f"`egressctl isolate {site}` (it ends denied sessions again) or clear them on the device, "
                f"then prove it with `egressctl verify {site}`.")
    if state == "isolated":
        return (f"site is isolated. Prove it with `egressctl verify {site}`; "
                f"restore with `egressctl restore {site} --stage NAME`.")
    if state.startswith("stage:"):
        return (f"site is restored to stage {state[6:]}. "
                f"Next: another --stage, or `egressctl restore {site} --full`.")
    return "site is in normal operation (no egressctl rules)."
