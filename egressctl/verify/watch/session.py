"""Live leak watch over every capture point of a site: ``egressctl verify SITE --watch SECONDS``.

One agent (:mod:`agent`) per capture point runs where the link is visible (in the lab: inside the
provider namespace on ``ce0``, through ``exec_prefix``), each streaming JSON lines; this side compiles
the target's policy once and sends it to every agent as plain data (:func:`agent_job`), merges the
streams, hands every event to ``on_event`` as it arrives (the CLI prints leak flows as they happen) and
builds the :class:`~egressctl.verify.watch.report.WatchReport`.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from egressctl.errors import EgressError, VerificationError
from egressctl.inventory.models import CapturePoint, Site
from egressctl.verify.watch.report import WatchReport, capture_name

ExecPrefix = Callable[[str], list[str]]
OnEvent = Callable[[dict[str, Any]], None]


def site_document(site: Site) -> dict[str, Any]:
    """JSON of ``site`` that :class:`Site` validates again (port ranges back to their ``"a-b"`` form)."""
    def fix(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"first", "last"}:
                return f"{value['first']}-{value['last']}"
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    doc: dict[str, Any] = fix(site.model_dump(mode="json"))
    return doc


def agent_job(site: Site, target: str, seconds: float, python_walker: bool = False) -> dict[str, Any]:
    """The job every agent of ``site`` gets: ``target``'s policy compiled here, once, as plain data.

    The agents then import no inventory models and no policy code (see :mod:`egressctl.verify.plain`).

    Raises:
        PolicyError: ``target`` is not a target of the site.
    """
    from egressctl.policy import compute_policy
    from egressctl.verify.matcher import CompiledPolicy
    from egressctl.verify.plain import policy_doc

    cp = CompiledPolicy.compile(compute_policy(site, target), site)
    return {"policy": policy_doc(cp), "inside": [str(n) for n in site.inside], "target": target,
            "seconds": seconds, "python_walker": python_walker}


def _agent(cp: CapturePoint, job: dict[str, Any], prefix: ExecPrefix | None,
           out: queue.Queue[tuple[str, dict[str, Any] | None]]) -> None:
    name = capture_name(cp)
    argv = [sys.executable, "-m", "egressctl.verify.watch.agent"]
    if cp.netns is not None:
        if prefix is None:
            from egressctl.registry import netns_exec

            argv = [*netns_exec()(cp.netns), *argv]
        else:
            argv = [*prefix(cp.netns), *argv]
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    except OSError as exc:
        out.put((name, {"event": "error", "error": str(exc)}))
        out.put((name, None))
        return
    assert proc.stdin and proc.stdout and proc.stderr
    proc.stdin.write(json.dumps({**job, "iface": cp.interface, "exit": cp.exit}))
    proc.stdin.close()
    for line in proc.stdout:
        try:
            out.put((name, json.loads(line)))
        except json.JSONDecodeError:
            continue
    err = proc.stderr.read()
    if proc.wait() != 0:
        out.put((name, {"event": "error", "error": f"agent exited {proc.returncode}: {err.strip()[-300:]}"}))
    out.put((name, None))


def watch_site(site: Site, target: str, seconds: float, *, exec_prefix: ExecPrefix | None = None,
               captures: list[CapturePoint] | None = None, on_event: OnEvent | None = None,
               python_walker: bool = False) -> WatchReport:
    """Watch every capture point of ``site`` for ``seconds`` against ``target``'s policy.

    Raises:
        VerificationError: the site has no capture point.
    """
    points = captures if captures is not None else list(site.captures)
    if not points:
        raise VerificationError(f"site {site.name!r} has no capture points (captures: in the inventory)")
    report = WatchReport(site.name, target, seconds)
    try:
        job = agent_job(site, target, seconds, python_walker)
    except EgressError as exc:
        return _not_started(report, points, exc, on_event)
    q: queue.Queue[tuple[str, dict[str, Any] | None]] = queue.Queue()
    threads = [threading.Thread(target=_agent, args=(cp, job, exec_prefix, q), daemon=True) for cp in points]
    for t in threads:
        t.start()
    running, deadline = len(threads), time.monotonic() + seconds + 60
    while running and time.monotonic() < deadline:
        try:
            name, event = q.get(timeout=1.0)
        except queue.Empty:
            continue
        if event is None:
            running -= 1
            if name not in report.captures and name not in report.errors:
                report.errors[name] = "agent ended without a report"
            continue
        _merge(report, name, event)
        if on_event is not None:
            on_event({**event, "capture": name})
    if running:
        report.errors["(watch)"] = f"{running} agent(s) did not finish in time"
    return report


def _not_started(report: WatchReport, points: list[CapturePoint], exc: EgressError,
                 on_event: OnEvent | None) -> WatchReport:
    """Every capture point failed as its agent used to report it: a watch that could not run, never clean."""
    for cp in points:
        event: dict[str, Any] = {"event": "error", "exit": cp.exit, "iface": cp.interface,
                                 "error": f"{type(exc).__name__}: {exc}"}
        _merge(report, capture_name(cp), event)
        if on_event is not None:
            on_event({**event, "capture": capture_name(cp)})
    return report


def _merge(report: WatchReport, name: str, event: dict[str, Any]) -> None:
    kind = event.get("event")
    if kind == "error":
        report.errors[name] = str(event.get("error"))
    elif kind == "end":
        flows = event.pop("flows", [])
        report.captures[name] = event
        report.flows += [{**f, "exit": event.get("exit"), "capture": name} for f in flows]
