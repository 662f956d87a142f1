"""The engine's bridge to packet verification: prove one policy on a site and journal the verdict.

The engine computes the neutral policy once per operation; the same object that was planned and sent is
the one verification judges, so the two can never disagree about what "isolated" means. The probe room
(``egressctl.verify.probe.active``) is imported at first use: a site without vantage points, or an install
without it, gets the verdict ``unavailable`` rather than an import error at start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from egressctl.describe import describe
from egressctl.events import Event, VerificationDone
from egressctl.inventory.credentials import redact
from egressctl.inventory.models import Site
from egressctl.policy import Policy
from egressctl.preflight import check_vantage_credentials
from egressctl.results import VerifyResult

ACTIVE_MODULE = "egressctl.verify.probe.active"


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


def run_verification(site: Site, policy: Policy, op_id: str, emit: Callable[[Event], None],
                     state_dir: Path) -> VerifyResult | None:
    """Prove ``policy`` on ``site`` with packets (``verify_active``) and journal the verdict.

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
        report = verify_active(site, target, exec_prefix=_netns_prefix(state_dir), policy=policy)
        res = VerifyResult(site.name, target, bool(report.ok), str(report.verdict),
                           redact(str(report.summary)), dict(report.to_dict()))
    except Exception as exc:
        res = VerifyResult(site.name, target, False, "error", f"verification could not run: {describe(exc)}")
    emit(VerificationDone(op_id, site.name, verdict=res.verdict, summary=res.summary, details=res.details))
    return res
