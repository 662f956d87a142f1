"""``egressctl verify`` (prove a site's state with packets) and ``egressctl probe`` (the vantage-point side).

``verify SITE`` runs the active probe matrix against the site's current state as the journal records it
(and journals the verdict through the engine), or against ``--stage`` when given (not journaled).
``--watch SECONDS`` watches every capture point live, ``--pcap FILE`` checks a capture offline, and
``--junit FILE`` also writes the result as a JUnit report (:mod:`egressctl.cli.junit`). Exit codes: 0
proven (cut confirmed / normal ok / clean watch or capture), 3 not proven (a leak, an allowed path blocked,
or a watch/capture that dropped or could not verify packets), 2 usage or input error (including a
``--pcap`` file that is missing or not a capture, and unresolvable vantage-point credentials).

Imported to build every command line (``--help`` included), so the inventory loader (pydantic), rich,
numpy and each room of :mod:`egressctl.verify` are imported by the code path that needs them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from egressctl.cli import complete, jsonout, junit
from egressctl.cli.common import globals_of, make_engine, out_console, reported_errors
from egressctl.errors import InputError, PolicyError, VerificationError
from egressctl.exitcodes import ExitCode

if TYPE_CHECKING:
    from egressctl.engine import Engine
    from egressctl.inventory.models import CapturePoint, Site


@dataclass
class Outcome:
    """A finished verification: whether it proved the state, and its JUnit suite."""

    ok: bool
    suite: junit.Suite


def _current_target(engine: Engine, site: str) -> str:
    """The target the journal says the site is at (``stage:X`` -> ``X``)."""
    state = engine.journal_state(site)
    target = state.removeprefix("stage:")
    if target in ("isolated", "normal") or state.startswith("stage:"):
        return target
    raise PolicyError(f"site {site!r} is {state}: give --stage isolated|STAGE|normal to verify against")


def _captures(site: Site, extra: list[str]) -> list[CapturePoint]:
    from egressctl.inventory.models import CapturePoint

    points = list(site.captures)
    for spec in extra:
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise typer.BadParameter(f"--capture {spec!r}: expected NETNS:IFACE or NETNS:IFACE:LABEL")
        points.append(CapturePoint(exit=parts[2] if len(parts) == 3 else "inside", netns=parts[0] or None,
                                   interface=parts[1]))
    return points


def _print(text: str, style: str = "") -> None:
    from rich.text import Text

    out_console().print(Text(text, style=style))


def _beacons_csv(beacons: Any, path: Path | None) -> None:
    if path is None:
        return
    try:
        beacons.to_csv(path)
    except OSError as exc:
        raise InputError(f"--beacons-csv {path}: cannot write it: {exc.strerror or exc}") from exc


def _watch(site: Site, target: str, seconds: float, json_out: bool, captures: list[CapturePoint],
           beacons_csv: Path | None) -> Outcome:
    from egressctl.verify.beacon import BeaconReport
    from egressctl.verify.report import watch_line
    from egressctl.verify.watch.session import watch_site

    def on_event(event: dict[str, Any]) -> None:
        if json_out:
            jsonout.emit(jsonout.WATCH_EVENT, event, indent=None)
        elif (text := watch_line(event)) is not None:
            _print(text, "bold red" if event.get("event") == "leak" else "")

    report = watch_site(site, target, seconds, captures=captures, on_event=on_event)
    beacons = BeaconReport.from_flows(report.flows, target)
    _beacons_csv(beacons, beacons_csv)
    doc = report.to_dict()
    if json_out:
        jsonout.emit(jsonout.VERIFY_WATCH, {**doc, "beacons": beacons.to_dict()}, indent=None)
    else:
        _print(report.summary, "bold green" if report.ok else "bold red")
        if report.flows:
            _print(beacons.text())
    return Outcome(report.ok, junit.watch_suite(doc))


def _pcap(site: Site, target: str, path: Path, json_out: bool, beacons_csv: Path | None) -> Outcome:
    from egressctl.verify.beacon import BeaconReport
    from egressctl.verify.capture.offline import analyze
    from egressctl.verify.report import print_capture

    try:
        rep = analyze(path, site, target)
    except VerificationError as exc:  # the file cannot be read as a capture at all: the operator's input
        raise InputError(f"--pcap {path}: {exc}") from exc
    beacons = BeaconReport.from_capture(rep)
    _beacons_csv(beacons, beacons_csv)
    doc = rep.to_dict()
    if json_out:
        jsonout.emit(jsonout.VERIFY_CAPTURE, doc, indent=None)
    else:
        print_capture(out_console(), doc)
        if rep.leak_flows:
            _print(beacons.text())
    return Outcome(rep.ok, junit.capture_suite(doc))


def _active(engine: Engine | None, site: Site, stage: str | None, timeout: float, json_out: bool) -> Outcome:
    from egressctl.preflight import check_vantage_credentials
    from egressctl.verify.report import print_active

    if stage is None:  # the journal's state, verified and journaled by the engine
        assert engine is not None  # verify() builds one whenever --stage is not given
        _current_target(engine, site.name)
        res = engine.verify(site.name)
        doc = res.details or {"site": site.name, "target": res.target, "verdict": res.verdict,
                              "ok": res.ok, "summary": res.summary}
    else:
        from egressctl.verify.probe.active import verify_active

        check_vantage_credentials(site)
        doc = verify_active(site, stage, timeout=timeout).to_dict()
    if json_out:
        jsonout.emit(jsonout.VERIFY_ACTIVE, doc, indent=None)
    else:
        print_active(out_console(), doc)
    return Outcome(bool(doc.get("ok")), junit.active_suite(doc))


def _site(ctx: typer.Context, engine: Engine | None, inventory: Path | None, name: str) -> Site:
    """The site to verify: from ``--inventory`` when given, else from the global inventory.

    When the journal is read (no ``--stage``) the engine has loaded the global inventory already, so the
    site is its: the file is parsed once per command. An unknown site is a usage error, as in the engine.
    """
    if inventory is None and engine is not None:
        return engine.site(name)
    from egressctl.inventory.loader import load_inventory

    try:
        return load_inventory(inventory or globals_of(ctx).inventory).site(name)
    except KeyError as exc:
        raise PolicyError(str(exc.args[0])) from None


def _run(engine: Engine | None, s: Site, watch: float | None, pcap: Path | None, stage: str | None,
         opts: dict[str, Any]) -> Outcome:
    if watch is not None and pcap is not None:
        raise typer.BadParameter("--watch and --pcap are exclusive")
    if watch is None and pcap is None:
        return _active(engine, s, stage, opts["timeout"], opts["json_out"])
    target = _current_target(engine, s.name) if engine is not None else str(stage)
    if pcap is not None:
        return _pcap(s, target, pcap, opts["json_out"], opts["beacons_csv"])
    assert watch is not None
    if not 0 < watch <= 86400:
        raise typer.BadParameter("--watch takes 1 to 86400 seconds")
    return _watch(s, target, watch, opts["json_out"], _captures(s, opts["capture"] or []),
                  opts["beacons_csv"])


def verify(
    ctx: typer.Context,
    site: Annotated[str, typer.Argument(help="Site name from the inventory.",
                                        autocompletion=complete.sites)],
    watch: Annotated[float | None, typer.Option("--watch", metavar="SECONDS",
                                                help="Live leak watch on every capture point.")] = None,
    pcap: Annotated[Path | None, typer.Option(
        "--pcap", help="Check a pcap/pcapng capture offline.", exists=True, dir_okay=False,
        readable=True)] = None,
    stage: Annotated[str | None, typer.Option(
        "--stage", help="Verify against isolated|STAGE|normal instead of the journal's state.",
        autocompletion=complete.targets)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON (streaming lines for --watch).")] = False,
    junit_xml: Annotated[Path | None, typer.Option(
        "--junit", metavar="FILE", help="Also write the result as a JUnit XML report (for CI).")] = None,
    inventory: Annotated[Path | None, typer.Option("--inventory", help="Inventory file.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Probe reply timeout (s).")] = 1.0,
    beacons_csv: Annotated[Path | None, typer.Option(
        "--beacons-csv", help="Write the beacon report (inside hosts trying blocked places) as CSV.")] = None,
    capture: Annotated[list[str] | None, typer.Option(
        "--capture", help="Extra --watch capture point NETNS:IFACE[:LABEL] (e.g. inside).")] = None,
) -> None:
    """Prove the site's state with packets: active probes (default), live watch, or a capture.

    Examples: egressctl verify lab; egressctl verify lab --watch 30 --json;
    egressctl verify lab --pcap uplink.pcapng --stage ministry --beacons-csv beacons.csv;
    egressctl verify lab --junit verify.xml
    """
    opts = {"timeout": timeout, "json_out": json_out, "beacons_csv": beacons_csv, "capture": capture}
    with reported_errors():
        if not site:
            raise typer.BadParameter("a site name is required")
        engine = make_engine(ctx) if stage is None else None  # only the journal's state needs it
        try:
            outcome = _run(engine, _site(ctx, engine, inventory, site), watch, pcap, stage, opts)
        finally:
            if engine is not None:
                engine.close()
        if junit_xml is not None:
            junit.write(junit_xml, [outcome.suite])
    raise typer.Exit(ExitCode.OK if outcome.ok else ExitCode.VERIFY_FAILED)


def _read_plan(plan: str, read: Callable[[], str]) -> str:
    if plan == "-":
        return read()
    try:
        return Path(plan).read_text()
    except OSError as exc:
        raise InputError(f"--plan {plan}: cannot read it: {exc.strerror or exc}") from exc


def probe(
    plan: Annotated[str, typer.Option("--plan", help="Probe plan JSON file, or - for stdin.")] = "-",
    json_out: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
    hold: Annotated[bool, typer.Option(
        "--hold", help="Hold sessions open across a change instead (the controller's job on stdin; "
                       "JSON lines out).")] = False,
) -> None:
    """Run a probe plan from this host (what a vantage point runs; needs raw sockets).

    Reads the plan egressctl's verification sends (JSON: timeout, probes) and prints one result per probe:
    answered, refused (and by whom) or silent. With --hold, runs the held-open session agent instead (no
    raw sockets needed): the flows an isolate or restore must end or keep.
    """
    if hold:
        from egressctl.verify.held.agent import main as hold_sessions

        raise typer.Exit(hold_sessions())
    from egressctl.verify.probe.engine import run_probes
    from egressctl.verify.probe.records import plan_from_json

    with reported_errors():
        try:
            probes, seconds, retries = plan_from_json(_read_plan(plan, sys.stdin.read))
        except VerificationError as exc:  # a malformed plan is the caller's input, not a failed proof
            raise InputError(f"--plan {plan}: {exc}") from exc
        doc = run_probes(probes, seconds, retries).to_dict()
        if json_out:
            jsonout.emit(jsonout.PROBE, doc, indent=None)
        else:
            for r in doc["results"]:
                _print(f"{r['id']}: {r['outcome']} ({r['detail']})")
