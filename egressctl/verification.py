"""The engine's bridge to packet verification: prove one policy on a site and journal the verdict.

The engine computes the neutral policy once per operation; the same object that was planned and sent is
the one verification judges, so the two can never disagree about what "isolated" means. The probe room
(``egressctl.verify.probe.active``) is imported at first use: a site without vantage points, or an install
without it, gets the verdict ``unavailable`` rather than an import error at start-up.

An operation proves more than new connections (:mod:`egressctl.verify.proof`): :func:`held_sessions`
opens long-lived flows from every vantage point *before* the first device is touched, and
:func:`run_verification` judges them after the change (denied ones dead, allowed ones alive), with, after
an isolate, a short watch on every capture point while the probes cross the exits (``ProofOptions``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egressctl.describe import describe
from egressctl.events import Event, VerificationDone
from egressctl.inventory.credentials import redact
from egressctl.inventory.models import Site
from egressctl.policy import Policy, compute_policy
from egressctl.preflight import check_vantage_credentials
from egressctl.results import VerifyResult

ACTIVE_MODULE = "egressctl.verify.probe.active"
HELD_MODULE = "egressctl.verify.held.session"


@dataclass(frozen=True)
class ProofOptions:
    """What an operation's verification proves besides the probe matrix.

    ``held_sessions``: hold flows open across the change (``--no-held-sessions`` turns it off);
    ``watch_after``: seconds of passive watch on every capture point after an isolate (``--watch-after``,
    0: none); ``held_seconds``: how long an agent holds its flows at most (it ends by itself after).
    """

    held_sessions: bool = True
    watch_after: float = 3.0
    held_seconds: float = 900.0

    def watch_for(self, target: str) -> float:
        """Seconds of watch after a change to ``target``: only an isolation is watched."""
        return self.watch_after if target == "isolated" else 0.0


def _netns_prefix(state_dir: Path) -> Callable[[str], list[str]]:
    from egressctl.registry import netns_exec

    return netns_exec(state_dir)


def _verify_active() -> Callable[..., Any] | None:
    try:
        active = importlib.import_module(ACTIVE_MODULE)
    except ImportError:
        return None
    found: Callable[..., Any] | None = getattr(active, "verify_active", None)
    return found


def _held_module() -> Any:
    """The held-session room, or None when it is not installed (then nothing is held)."""
    try:
        return importlib.import_module(HELD_MODULE)
    except ImportError:
        return None


def _policy_at(site: Site, state: str) -> Policy | None:
    """The policy of a journaled site state, when it is a target (``stage:X``, ``isolated``, ``normal``)."""
    if state not in ("isolated", "normal") and not state.startswith("stage:"):
        return None
    try:
        return compute_policy(site, state.removeprefix("stage:"))
    except Exception:
        return None


@contextmanager
def held_sessions(site: Site, policy: Policy, from_state: str, state_dir: Path,
                  options: ProofOptions | None) -> Iterator[Any]:
    """Flows held open across the change, for :func:`run_verification` (None when off); always ended.

    Entered after planning and before any device is touched. A start that fails is not raised: the
    verification reports it (its flows are ``unknown``, the verdict ``unverified``).
    """
    held = None
    wanted = options is not None and options.held_sessions and bool(site.vantage_points)
    session = _held_module() if wanted else None
    if session is not None and options is not None:
        try:
            held = session.HeldSessions.start(site, policy, before=_policy_at(site, from_state),
                                              exec_prefix=_netns_prefix(state_dir),
                                              seconds=options.held_seconds)
        except Exception as exc:
            held = session.HeldSessions(site, {}, errors={"(site)": redact(describe(exc))})
    try:
        yield held
    finally:
        if held is not None:
            held.close()


def run_verification(site: Site, policy: Policy, op_id: str, emit: Callable[[Event], None],
                     state_dir: Path, *, held: Any = None, watch_after: float = 0.0) -> VerifyResult | None:
    """Prove ``policy`` on ``site`` with packets and journal the verdict.

    The probe matrix always; ``held``: the operation's :func:`held_sessions` (judged here, right after the
    change); ``watch_after``: seconds of watch on every capture point while the probes run (0: none).
    Returns None (journaled as ``unavailable``) when the site has no vantage point or the active
    verification module is not installed; a verification that cannot run is a failed one (``error``).
    """
    target = policy.target
    verify_active = _verify_active()
    if verify_active is None or not site.vantage_points:
        why = "no vantage points" if verify_active is not None else f"{ACTIVE_MODULE} not installed"
        emit(VerificationDone(op_id, site.name, verdict="unavailable", summary=why))
        return None
    try:
        check_vantage_credentials(site)
        prefix = _netns_prefix(state_dir)
        if held is None and (watch_after <= 0 or not site.captures):  # the matrix alone (``verify``)
            report = verify_active(site, target, exec_prefix=prefix, policy=policy)
        else:
            from egressctl.verify.proof import prove

            report = prove(site, policy, active=verify_active, exec_prefix=prefix, held=held,
                           watch_seconds=watch_after)
        res = VerifyResult(site.name, target, bool(report.ok), str(report.verdict),
                           redact(str(report.summary)), dict(report.to_dict()))
    except Exception as exc:
        res = VerifyResult(site.name, target, False, "error", f"verification could not run: {describe(exc)}")
    emit(VerificationDone(op_id, site.name, verdict=res.verdict, summary=res.summary, details=res.details))
    return res
