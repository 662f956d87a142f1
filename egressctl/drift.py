"""Drift: whether each device still holds what the journal says egressctl left on it.

Someone may edit egressctl's objects by hand between operations (a rule added "just for this one server"
during an incident, a deny removed to test something). The next operation would silently overwrite that,
and until then the site is not in the state the journal and ``status`` claim. So ``check`` and
``status --live`` compare every device's read-back with the journal:

* **expected** (:func:`expected_targets`): the device's state as the journal records it after each
  operation (``Journal.device_states``), unless its last operation stopped half-way on it (a crash, or
  one still running): then nothing is known (``unknown``). A journal from before per-device states is
  read from the device steps instead: the target of the last operation that left the device at its
  target (a ``done`` step that ended ``ok``, or ``skipped`` as already there); a device an operation
  rolled back, refused or never reached keeps what the operation before left; a failed rollback is
  ``unknown``. A device no operation ever touched should hold nothing (``normal``).
* **comparison** (:func:`compare`): the rules read back against the policy of the expected target, by
  rule atoms (never by text), and the marker's target against the expected one. A device whose rules
  still match its own marker fingerprint but not the inventory's current policy was not edited: the
  inventory changed since it was set (``stale``, re-run the operation to apply). Everything else that
  differs is ``drift``, with the rule diff: ``-`` held by the device only, ``+`` missing from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from egressctl.driver import DeviceState
from egressctl.errors import PolicyError
from egressctl.events import Step, StepStatus
from egressctl.inventory.models import Site
from egressctl.journal import Journal, OperationRecord, StepRecord
from egressctl.planner import state_diff
from egressctl.policy import Policy, compute_policy, equivalent, fingerprint
from egressctl.sitestate import target_of

IN_SYNC, DRIFT, STALE, UNKNOWN = "in-sync", "drift", "stale", "unknown"
#: How many of a site's latest operations are searched for a device's last settled one.
OPERATIONS_SEARCHED = 200
#: How the lifecycle's ``done`` step starts when a device was already at the target (``skipped``); other
#: skips (a refused operation, a test fault's skipped exit) left the device untouched.
ALREADY_THERE = "already at "
#: Rule-diff lines kept per device (a device emptied by hand would otherwise list the whole policy).
DIFF_LINES = 40


@dataclass(frozen=True)
class Expected:
    """What the journal says a device should hold: a target, or None when it cannot say (``why``)."""

    target: str | None
    why: str
    op_id: str | None = None


@dataclass(frozen=True)
class Drift:
    """One device's read-back compared with the journal."""

    device: str
    status: str
    """``in-sync``, ``drift`` (edited since), ``stale`` (inventory changed since) or ``unknown``."""
    expected: str | None
    held: str | None
    detail: str
    diff: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"device": self.device, "status": self.status, "expected": self.expected, "held": self.held,
                "detail": self.detail, "diff": list(self.diff)}


def _settled(op: OperationRecord, steps: list[StepRecord]) -> Expected | None:
    """What ``op`` left on one device (its step rows), or None when it left the device as it was."""
    if not steps:
        if op.status == "running":
            return Expected(None, f"operation {op.op_id} ({op.kind} -> {op.target}) has not reached it yet",
                            op.op_id)
        return None
    last = steps[-1]
    if last.step != Step.DONE.value:
        return Expected(None, f"operation {op.op_id} ({op.kind} -> {op.target}) stopped at {last.step} "
                        f"({last.status}) on this device", op.op_id)
    if last.status == StepStatus.OK.value:
        return Expected(op.target, f"operation {op.op_id} ({op.kind}) left it at {op.target}", op.op_id)
    if last.status == StepStatus.SKIPPED.value and last.detail.startswith(ALREADY_THERE):
        return Expected(op.target, f"operation {op.op_id} ({op.kind}) found it at {op.target}", op.op_id)
    if last.status == StepStatus.FAILED.value and last.detail.startswith("rollback failed"):
        return Expected(None, f"operation {op.op_id}: its rollback failed on this device", op.op_id)
    return None  # rolled back, discarded or skipped untouched: as the operation before left it


def expected_targets(journal: Journal, site: str, devices: Iterable[str]) -> dict[str, Expected]:
    """What each device should hold according to the journal (see the module docstring)."""
    names = list(devices)
    from_steps = _from_steps(journal, site, names)
    recorded = journal.device_states(site)
    out: dict[str, Expected] = {}
    for dev in names:
        found, state = from_steps[dev], recorded.get(dev)
        if found.target is None or state is None:
            out[dev] = found  # stopped half-way (or rollback failed), or a journal without device states
        else:
            why = f"the journal records it {state}" + (f" (operation {found.op_id})" if found.op_id else "")
            out[dev] = Expected(target_of(state), why, found.op_id)
    return out


def _from_steps(journal: Journal, site: str, names: list[str]) -> dict[str, Expected]:
    """Each device's expectation read from the device steps of the site's latest operations."""
    out: dict[str, Expected] = {}
    for op in journal.operations(site, limit=OPERATIONS_SEARCHED):
        todo = [d for d in names if d not in out and d in op.devices]
        if not todo:
            continue
        rows = journal.steps(op.op_id)
        for dev in todo:
            found = _settled(op, [r for r in rows if r.device == dev])
            if found is not None:
                out[dev] = found
        if len(out) == len(names):
            break
    for dev in names:
        out.setdefault(dev, Expected("normal", "no operation in the journal touched it"))
    return out


def _diff(state: DeviceState, policy: Policy) -> tuple[str, ...]:
    lines = state_diff(state, policy)
    more = len(lines) - DIFF_LINES
    return lines[:DIFF_LINES] + ((f"... {more} more",) if more > 0 else ())


def _against(device: str, site: Site, target: str, state: DeviceState) -> Drift:
    """Compare a device's read-back with the policy of ``target`` (not ``normal``)."""
    try:
        policy = compute_policy(site, target)
    except PolicyError:
        return Drift(device, UNKNOWN, target, state.target,
                     f"the journal's target {target!r} is no longer one of the inventory's")
    rules_match = equivalent(state.rules, policy.rules)
    if rules_match and state.target == target and state.fingerprint == policy.fingerprint():
        return Drift(device, IN_SYNC, target, state.target, f"holds {target} as journaled "
                     f"({policy.fingerprint()})")
    if rules_match:
        return Drift(device, DRIFT, target, state.target,
                     f"its rules are {target}'s but its marker says {state.target} ({state.fingerprint}, "
                     f"expected {target} {policy.fingerprint()}): the marker was changed outside egressctl")
    consistent = state.fingerprint == fingerprint(state.rules)
    if state.target == target and consistent:
        return Drift(device, STALE, target, state.target,
                     f"holds {target} as the inventory defined it when it was set ({state.fingerprint}); the "
                     f"inventory's {target} is now {policy.fingerprint()}: re-run the operation to apply it",
                     _diff(state, policy))
    if state.is_normal:
        return Drift(device, DRIFT, target, state.target,
                     f"the journal says {target} but the device holds none of egressctl's objects (removed "
                     "by hand, or reverted by its dead-man switch after the journal's confirm)",
                     _diff(state, policy))
    what = "its rules differ from its own marker (edited by hand)" if not consistent else (
        f"it holds {state.target}, not {target}")
    return Drift(device, DRIFT, target, state.target, f"the journal says {target} but {what}",
                 _diff(state, policy))


def compare(device: str, site: Site, expected: Expected, state: DeviceState) -> Drift:
    """``device``'s read-back ``state`` against what the journal expects of it."""
    if expected.target is None:
        return Drift(device, UNKNOWN, None, state.target, f"the journal cannot say: {expected.why}")
    if expected.target != "normal":
        return _against(device, site, expected.target, state)
    if state.is_normal:
        return Drift(device, IN_SYNC, "normal", state.target, "holds none of egressctl's objects, as "
                     "journaled")
    return Drift(device, DRIFT, "normal", state.target,
                 f"the journal says normal ({expected.why}) but the device holds egressctl objects "
                 f"({state.target}): added by hand or by another controller",
                 _diff(state, Policy(site.name, "normal", ())))
