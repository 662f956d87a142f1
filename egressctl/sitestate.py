"""The site state machine, per device and per site (pure: the journal stores what this decides).

A site is ``normal``, ``isolated``, ``stage:<name>`` when every device stands there; ``isolating`` or
``restoring`` while an operation runs; ``failed-partial`` after an isolation that did not reach every
device; and ``mixed`` when devices were deliberately taken to different places (``--device X``), in which
case each device's own state is what counts. Each device's state is recorded after every operation, so
``status`` can say which device stands where, and a restore interrupted by a crash knows where each
device stood before it began (what "all or nothing" returns them to).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from egressctl.results import DeviceResult

MIXED = "mixed"
UNKNOWN = "unknown"
FAILED_PARTIAL = "failed-partial"
#: States a device can be taken back to (a policy can be computed for them).
_FIXED = ("isolated", "normal")


def state_of(target: str) -> str:
    """The state of a device (or site) that holds ``target`` (``ministry`` -> ``stage:ministry``)."""
    return target if target in (*_FIXED, UNKNOWN) else f"stage:{target}"


def target_of(state: str) -> str | None:
    """The target a state stands for (``stage:ministry`` -> ``ministry``), or None (``mixed``...)."""
    if state in _FIXED:
        return state
    return state.removeprefix("stage:") if state.startswith("stage:") else None


def uniform(states: Iterable[str]) -> str:
    """The one state every device shares, else ``mixed``."""
    found = set(states)
    return found.pop() if len(found) == 1 else MIXED


def next_state(kind: str, target: str, from_state: str, outcome: str, before: str | None = None) -> str:
    """The site state after an operation on every device of the site.

    ``before`` is the site state when this operation began (``from_state`` is where the chain of resumed
    operations began): a refused operation changed nothing, so the site is back where it was.
    """
    if outcome in ("ok", "noop"):
        return state_of(target)
    if outcome == "refused":
        return before if before is not None else from_state
    if kind == "restore" and outcome in ("rolled-back", "interrupted"):
        return from_state
    return FAILED_PARTIAL


def device_states_after(devices: Sequence[str], recorded: Mapping[str, str], fallback: str,
                        results: Iterable[DeviceResult]) -> dict[str, str]:
    """Every device's state after an operation: what it reached, else what was recorded before.

    A device never recorded stands where the site stood (``fallback``); one rolled back is where it was
    recorded (a rollback returns to the last confirmed state); one whose rollback failed is ``unknown``:
    an operator must look at it.
    """
    out = {d: recorded.get(d, fallback) for d in devices}
    for r in results:
        if r.outcome in ("changed", "noop") and r.after:
            out[r.device] = state_of(r.after)
        elif r.outcome == "rollback-failed":
            out[r.device] = UNKNOWN
    return out


def scoped_state(kind: str, target: str, from_state: str, outcome: str, before: str,
                 states: Mapping[str, str]) -> str:
    """The site state after an operation on some devices only (``--device``): ``mixed`` when they differ."""
    if outcome in ("ok", "noop"):
        return uniform(states.values())
    return next_state(kind, target, from_state, outcome, before)


def describe_mixed(states: Mapping[str, str]) -> str:
    """``ce-a isolated; fw-a, fw-b normal`` (devices grouped by state, for ``status``)."""
    groups: dict[str, list[str]] = {}
    for dev, st in sorted(states.items()):
        groups.setdefault(st, []).append(dev)
    return "; ".join(f"{', '.join(devs)} {st}" for st, devs in sorted(groups.items()))
