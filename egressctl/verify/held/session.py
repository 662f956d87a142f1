"""The controller side of held-open sessions: start before the change, mark after it, collect, judge.

``HeldSessions.start`` runs one agent per vantage point (in parallel) and waits until every flow has
answered or failed, so the sessions exist *before* the first device is touched. ``mark`` tells the
agents the change is done (the last device's confirm and ``sessions`` step are behind us); ``collect``
waits out the settle window, asks for the reports, asks again about flows whose silence is not yet a
verdict (:mod:`recheck`: a starved agent or peer) and judges them (:mod:`verdict`). ``close`` ends the
agents however the operation went; they also end by themselves at their deadline or when the
controller's end of the pipe closes.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from egressctl.errors import EgressError
from egressctl.inventory.credentials import redact
from egressctl.inventory.models import Site, VantagePoint
from egressctl.policy import Policy
from egressctl.verify.held.link import ExecPrefix, Link, open_local, open_remote
from egressctl.verify.held.plan import HeldFlow, plan_flows
from egressctl.verify.held.recheck import RECHECK, STEP, drop_unproven, unsettled
from egressctl.verify.held.verdict import HeldReport, judge

INTERVAL = 0.2  # one line per flow this often: a dead flow is told from a live one within a few
ESTABLISH = 1.0  # how long a flow may take to answer before the change; silent ones are not held
STARTUP = 20.0  # process start or SSH login, on top of ESTABLISH
GRACE = 0.5  # answers this soon after the mark may have been in flight at the change
WINDOW = 1.5  # the report comes at least this long after the mark (~5 exchanges after the grace)


def _default_prefix(netns: str) -> list[str]:
    from egressctl.registry import netns_exec

    return netns_exec()(netns)


@dataclass
class HeldSessions:
    """The held flows of one operation and the agents holding them."""

    site: Site
    flows: dict[str, list[HeldFlow]]
    links: dict[str, Link] = field(default_factory=dict)
    ready: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    start_s: float = 0.0
    marked: float | None = None
    marked_wall: float | None = None

    @classmethod
    def start(cls, site: Site, policy: Policy, *, before: Policy | None = None,
              exec_prefix: ExecPrefix | None = None, seconds: float = 900.0) -> HeldSessions:
        """Open every vantage point's flows for ``policy``'s target; never raises for a vantage point.

        A vantage point whose agent cannot start or answer is in ``errors`` (its flows judge ``unknown``).
        """
        return cls.hold(site, plan_flows(site, policy, before), exec_prefix=exec_prefix, seconds=seconds)

    @classmethod
    def hold(cls, site: Site, flows: dict[str, list[HeldFlow]], *, exec_prefix: ExecPrefix | None = None,
             seconds: float = 900.0) -> HeldSessions:
        """Open ``flows`` (per vantage point of ``site``) and wait until each has answered or failed."""
        t0 = time.monotonic()
        held = cls(site, flows)
        vps = {vp.name: vp for vp in site.vantage_points if vp.name in held.flows}
        if vps:
            with ThreadPoolExecutor(max_workers=min(8, len(vps))) as pool:
                done = {n: pool.submit(held._start_one, vp, exec_prefix, seconds) for n, vp in vps.items()}
                for name, fut in done.items():
                    try:
                        held.links[name], held.ready[name] = fut.result()
                    except (EgressError, OSError) as exc:
                        held.errors[name] = redact(str(exc))
        held.start_s = time.monotonic() - t0
        return held

    def _start_one(self, vp: VantagePoint, prefix: ExecPrefix | None,
                   seconds: float) -> tuple[Link, dict[str, dict[str, Any]]]:
        link = open_local((prefix or _default_prefix)(vp.netns)) if vp.netns is not None else open_remote(vp)
        job = {"flows": [f.job() for f in self.flows[vp.name]], "interval": INTERVAL,
               "establish": ESTABLISH, "seconds": seconds}
        link.send(json.dumps(job))
        ready = link.next_event("ready", time.monotonic() + ESTABLISH + STARTUP)
        if ready is None:
            link.close()
            raise EgressError(f"held-session agent on {vp.name} did not start: {link.end or 'no answer'}")
        return link, {str(f["id"]): f for f in ready.get("flows", [])}

    def mark(self) -> None:
        """The change is done: from now on, an answer on a denied flow is a surviving session."""
        self.marked, self.marked_wall = time.monotonic(), time.time()
        for link in self.links.values():
            link.send("mark")

    def collect(self, grace: float = GRACE, window: float = WINDOW, recheck: float = RECHECK) -> HeldReport:
        """Wait until ``window`` after the mark, ask every agent for its report, and judge it.

        Agents with a flow whose silence is not yet a verdict are asked again for up to ``recheck`` seconds.
        """
        if self.marked is None:
            self.mark()
        assert self.marked is not None and self.marked_wall is not None
        t0 = time.monotonic()
        time.sleep(max(0.0, self.marked + window - t0))
        until, looks = time.monotonic() + recheck, 1
        errors = dict(self.errors)
        reports = self._ask(list(self.links), errors)
        while (again := unsettled(self.flows, self.ready, reports, grace)) and time.monotonic() < until:
            time.sleep(min(STEP, max(0.0, until - time.monotonic())))
            reports.update(self._ask(again, errors))
            reports = {k: v for k, v in reports.items() if k not in errors}
            looks += 1
        drop_unproven(self.flows, self.ready, reports, errors, grace)
        report = judge(self.flows, self.ready, reports, errors, grace, self.marked_wall)
        report.cost_s = {"start": round(self.start_s, 3), "collect": round(time.monotonic() - t0, 3),
                         "looks": looks}
        return report

    def _ask(self, names: list[str], errors: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Each named agent's report so far (``check``; ``report`` for an agent that does not know it)."""
        for name in names:
            self.links[name].send("check")
        reports: dict[str, dict[str, Any]] = {}
        for name in names:
            link = self.links[name]
            rep = link.next_event("report", time.monotonic() + 10.0)
            if rep is None and link.end is None:
                link.send("report")
                rep = link.next_event("report", time.monotonic() + 10.0)
            if rep is None or not rep.get("marked"):
                errors[name] = f"no report from the held-session agent: {link.end or 'it never got the mark'}"
            else:
                reports[name] = rep
        return reports

    def close(self) -> None:
        """End every agent (idempotent)."""
        for link in self.links.values():
            link.close()
        self.links.clear()
