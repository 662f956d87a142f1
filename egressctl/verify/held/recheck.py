"""Silence is a verdict only with evidence: held flows silent at the first report are looked at again.

A held flow is judged by whether it answered after the change. Silence is what a cut looks like, but also
what an agent starved of CPU looks like (it sent nothing, so nothing could answer) and, for an allowed
flow, what a starved peer looks like (its answers come late). Ten sites proving at once on two cores
starve both. So, after the first report (:func:`unsettled`):

* an *allowed* flow that is silent is asked about again, every :data:`STEP` seconds up to :data:`RECHECK`
  seconds: a late answer proves it alive, a path really cut stays silent (then it is dropped, as before);
* a *denied* flow that is silent counts as dead only when its agent really sent at least :data:`MIN_SENDS`
  times after the grace, each early enough to have been answered before the report; otherwise it is asked
  about again too.

What is still silent on too little evidence at the end is ``unknown`` (:func:`drop_unproven`), never a
pass and never a dropped session. Nothing here makes an answer count less: a denied flow answering after
the grace is a leak in any report, and a later report only adds answers.
"""

from __future__ import annotations

from typing import Any

from egressctl.verify.held.plan import HeldFlow

RECHECK = 8.0  # seconds after the first report during which silent flows are looked at again
STEP = 1.0  # between two looks
MIN_SENDS = 3  # sends after the grace before a denied flow's silence counts
REPLY = 0.3  # a send later than this before the report may not have been answered yet

Report = dict[str, Any]


def evidence(report: Report, grace: float) -> int:
    """How many times the agent sent after the grace, early enough to be answered before its report.

    An agent that does not list its sends (an older one) counts as enough: it is judged as before.
    """
    sends = report.get("sends_s")
    if sends is None:
        return MIN_SENDS
    window = float(report.get("window_s") or 0.0)
    return sum(1 for t in sends if t is not None and grace <= float(t) <= window - REPLY)


def _silent(seen: Report | None, ready: Report, grace: float) -> bool:
    """Established before the change, not ended since (a reset is an answer of sorts), no answer after."""
    if seen is None or not ready.get("established") or seen.get("ended"):
        return False
    last = seen.get("last_answer_s")
    return last is None or float(last) <= grace


def _suspect(flows: list[HeldFlow], report: Report, ready: dict[str, Report], grace: float,
             starved: bool) -> list[str]:
    """Ids of the flows whose silence is not yet a verdict."""
    seen = {str(r["id"]): r for r in report.get("flows", [])}
    return [f.id for f in flows if _silent(seen.get(f.id), ready.get(f.id, {}), grace)
            and (f.expect == "alive" or starved)]


def unsettled(flows: dict[str, list[HeldFlow]], ready: dict[str, dict[str, Report]],
              reports: dict[str, Report], grace: float) -> list[str]:
    """Vantage points to ask again: an allowed flow silent, or a denied one silent on too little evidence."""
    return [vp for vp, planned in flows.items() if vp in reports and _suspect(
        planned, reports[vp], ready.get(vp, {}), grace, evidence(reports[vp], grace) < MIN_SENDS)]


def drop_unproven(flows: dict[str, list[HeldFlow]], ready: dict[str, dict[str, Report]],
                  reports: dict[str, Report], errors: dict[str, str], grace: float) -> None:
    """Take the silent flows of starved agents out of ``reports`` (judged ``unknown``); why in ``errors``."""
    for vp, report in reports.items():
        count = evidence(report, grace)
        if count >= MIN_SENDS:
            continue
        drop = set(_suspect(flows.get(vp, []), report, ready.get(vp, {}), grace, True))
        if drop:
            report["flows"] = [r for r in report.get("flows", []) if str(r["id"]) not in drop]
            window = float(report.get("window_s") or 0.0)
            errors[vp] = (f"agent starved of CPU: {count} sends after the grace in {window:.1f} s; "
                          f"{len(drop)} silent flow(s) prove nothing")
