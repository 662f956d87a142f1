"""A restore is all or nothing, also across a crash: how devices are returned when one fails.

Within one run, devices changed and proven but not confirmed are rolled back by their driver (the pending
commit goes away). A device this run already *confirmed* when another one failed (the confirms run side by
side) is taken back by a change of its own, to the state read from it before the restore: a confirmed
change is no longer a pending one, and not every platform can undo it by a rollback (IOS reverts only
while its timer runs). Across a crash in the confirm phase, some devices were already confirmed by the run
that died: the resumed run finds them at the target (``noop``) and would leave them there if it then
failed. Those are taken back explicitly: a change of their own, to the state the journal recorded for
them before the restore began, under a dead-man switch, proven and confirmed like any change. A device
that cannot be taken back is ``rollback-failed``: an operator must look at it, and so is one the dead run
confirmed that the resumed run cannot even reach (it is at the target, whatever the site state says).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from egressctl.describe import describe
from egressctl.driver import operation_context
from egressctl.events import Step, StepStatus
from egressctl.lifecycle import Lifecycle, Live
from egressctl.policy import Policy, equivalent

WHY = "restore is all-or-nothing: another device failed"


@dataclass(frozen=True)
class UndoPlan:
    """What a resumed restore knows to undo.

    ``policy(device)``: the device's policy before the restore began (None: not known); ``confirmed``: the
    devices the interrupted runs may have confirmed (their ``confirm`` steps in the journal).
    """

    policy: Callable[[str], Policy | None]
    confirmed: frozenset[str] = field(default_factory=frozenset)


def before_restore(live: Live) -> Policy | None:
    """The policy a device held when this run read it (None: unknown or a change was pending then)."""
    st = live.state
    if st is None or st.pending_commit:
        return None
    return Policy(live.plan.policy.site, st.target, st.rules)


def rollback_changed(lc: Lifecycle, live: Live, undo: UndoPlan | None = None) -> Live:
    """Undo a device that changed in this run when another device of the restore failed.

    A resumed restore takes a device it confirmed back to where the journal says the chain began.
    """
    before = (undo.policy(live.device.name) if undo is not None else None) or before_restore(live)
    if live.result.outcome == "changed" and live.drv is not None and before is not None:
        if before.target != live.plan.policy.target or not equivalent(before.rules, live.plan.policy.rules):
            with operation_context(lc.context):
                _return(lc, live, before, "confirmed by this run")
        return live
    if live.committed or live.result.outcome in ("pending", "changed"):
        live.committed = True
        live.result.error = live.result.error or WHY
        lc.undo(live, WHY)
    return live


def return_confirmed(lc: Lifecycle, live: Live, undo: UndoPlan) -> Live:
    """Take a device an interrupted run of this restore already confirmed back to its state before it."""
    if live.state is None and live.device.name in undo.confirmed:
        live.result.outcome = "rollback-failed"
        live.result.error = (f"{live.result.error}; confirmed by the interrupted run and unreachable now: "
                             "it may still be at the restore's target").strip("; ")
        return live
    reached = live.result.outcome == "noop" and live.state is not None
    policy = undo.policy(live.device.name) if reached else None
    if policy is None or policy.target == live.plan.policy.target:
        return live
    with operation_context(lc.context):
        _return(lc, live, policy, "confirmed by an interrupted run")
    return live


def _return(lc: Lifecycle, live: Live, policy: Policy, confirmed_by: str) -> None:
    """A change of its own, under a dead-man switch, proven and confirmed, back to ``policy``.

    The device's last journaled step says it did not reach the restore's target (``done`` failed, with
    where it is now), whatever the steps of the change back said on the way.
    """
    name, why = live.device.name, f"{WHY}; returning it to {policy.target} ({confirmed_by})"
    lc.event(name, Step.READ_STATE, StepStatus.OK, why)
    live.plan = replace(live.plan, policy=policy)
    try:
        assert live.drv is not None
        state = lc._read(live)
        returned = live.plan.noop
        if not returned:
            lc._change(live, live.drv, state)
            returned = lc.confirm(live).result.outcome == "changed"
    except Exception as exc:
        returned, live.result.error = False, describe(exc)
        lc.undo(live, live.result.error)
    if returned:
        live.result.outcome, live.result.error, live.result.after = "rolled-back", WHY, policy.target
        lc.event(name, Step.DONE, StepStatus.FAILED, f"{WHY}; back at {policy.target} by a change of its own")
    else:
        live.result.outcome = "rollback-failed"
        live.result.error = f"could not return to {policy.target}: {live.result.error}"
