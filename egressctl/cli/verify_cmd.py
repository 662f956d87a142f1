"""``egressctl verify`` (prove a site's state with packets) and ``egressctl probe`` (the vantage-point side).

``verify SITE`` runs the active probe matrix against the site's current state as the journal records it
(and journals the verdict through the engine), or against ``--stage`` when given (not journaled).
``--watch SECONDS`` watches every capture point live, ``--pcap FILE`` checks a capture offline. Exit codes:
0 proven (cut confirmed / normal ok / clean watch or capture), 3 not proven (a leak, an allowed path
blocked, or a watch/capture that dropped or could not verify packets), 2 usage or inventory error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from egressctl.cli.common import globals_of, reported_errors
from egressctl.errors import PolicyError
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import CapturePoint, Site

EXIT_OK, EXIT_USAGE, EXIT_VERIFY = 0, 2, 3
console = Console(highlight=False, soft_wrap=True)


def _emit_json(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc, default=str) + "\n")
    sys.stdout.flush()


def _current_target(ctx: typer.Context, site: str) -> str:
    """The target the journal says the site is at (``stage:X`` -> ``X``)."""
    from egressctl.cli.common import make_engine

    state = make_engine(ctx).status(site).state
    target = state.removeprefix("stage:")
    if target in ("isolated", "normal") or state.startswith("stage:"):
        return target
    raise PolicyError(f"site {site!r} is {state}: give --stage isolated|STAGE|normal to verify against")


def _captures(site: Site, extra: list[str]) -> list[CapturePoint]:
    points = list(site.captures)
    for spec in extra:
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise typer.BadParameter(f"--capture {spec!r}: expected NETNS:IFACE or NETNS:IFACE:LABEL")
        points.append(CapturePoint(exit=parts[2] if len(parts) == 3 else "inside", netns=parts[0] or None,
                                   interface=parts[1]))
    return points


def _watch(site: Site, target: str, seconds: float, json_out: bool, captures: list[CapturePoint],
           beacons_csv: Path | None) -> int:
    from egressctl.verify.beacon import BeaconReport
    from egressctl.verify.report import watch_line
    from egressctl.verify.watch.session import watch_site

    def on_event(event: dict[str, Any]) -> None:
        if json_out:
            _emit_json(event)
        elif (line := watch_line(event)) is not None:
            console.print(line, style="bold red" if event.get("event") == "leak" else "", markup=False)

    report = watch_site(site, target, seconds, captures=captures, on_event=on_event)
    beacons = BeaconReport.from_flows(report.flows, target)
    if beacons_csv is not None:
        beacons.to_csv(beacons_csv)
    if json_out:
        _emit_json({**report.to_dict(), "beacons": beacons.to_dict()})
    else:
        console.print(report.summary, style="bold green" if report.ok else "bold red", markup=False)
        if report.flows:
            console.print(beacons.text(), markup=False)
    return EXIT_OK if report.ok else EXIT_VERIFY


def _pcap(site: Site, target: str, path: Path, json_out: bool, beacons_csv: Path | None) -> int:
    from egressctl.verify.beacon import BeaconReport
    from egressctl.verify.capture.offline import analyze
    from egressctl.verify.report import print_capture

    rep = analyze(path, site, target)
    beacons = BeaconReport.from_capture(rep)
    if beacons_csv is not None:
        beacons.to_csv(beacons_csv)
    if json_out:
        _emit_json(rep.to_dict())
    else:
        print_capture(console, rep.to_dict())
        if rep.leak_flows:
            console.print(beacons.text(), markup=False)
    return EXIT_OK if rep.ok else EXIT_VERIFY


def _active(ctx: typer.Context, site: Site, stage: str | None, timeout: float, json_out: bool) -> int:
    from egressctl.verify.report import print_active

    if stage is None:  # the journal's state, verified and journaled by the engine
        from egressctl.cli.common import make_engine

        _current_target(ctx, site.name)
        res = make_engine(ctx).verify(site.name)
        doc = res.details or {"site": site.name, "target": res.target, "verdict": res.verdict,
                              "ok": res.ok, "summary": res.summary}
    else:
        from egressctl.verify.probe.active import verify_active

        doc = verify_active(site, stage, timeout=timeout).to_dict()
    if json_out:
        _emit_json(doc)
    else:
        print_active(console, doc)
    return EXIT_OK if doc.get("ok") else EXIT_VERIFY


def verify(
    ctx: typer.Context,
    site: Annotated[str, typer.Argument(help="Site name from the inventory.")],
    watch: Annotated[float | None, typer.Option("--watch", metavar="SECONDS",
                                                help="Live leak watch on every capture point.")] = None,
    pcap: Annotated[Path | None, typer.Option("--pcap", help="Check a pcap/pcapng capture offline.")] = None,
    stage: Annotated[str | None, typer.Option(
        "--stage", help="Verify against isolated|STAGE|normal instead of the journal's state.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON (streaming lines for --watch).")] = False,
    inventory: Annotated[Path | None, typer.Option("--inventory", help="Inventory file.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Probe reply timeout (s).")] = 1.0,
    beacons_csv: Annotated[Path | None, typer.Option(
        "--beacons-csv", help="Write the beacon report (inside hosts trying blocked places) as CSV.")] = None,
    capture: Annotated[list[str] | None, typer.Option(
        "--capture", help="Extra --watch capture point NETNS:IFACE[:LABEL] (e.g. inside).")] = None,
) -> None:
    """Prove the site's state with packets: active probes (default), live watch, or a capture.

    Examples: egressctl verify lab; egressctl verify lab --watch 30 --json;
    egressctl verify lab --pcap uplink.pcapng --stage ministry --beacons-csv beacons.csv
    """
    with reported_errors():
        inv_path = inventory or globals_of(ctx).inventory
        s = load_inventory(inv_path).site(site) if site else None
        if s is None:
            raise typer.BadParameter("a site name is required")
        if watch is not None and pcap is not None:
            raise typer.BadParameter("--watch and --pcap are exclusive")
        if watch is not None or pcap is not None:
            target = stage or _current_target(ctx, s.name)
            if watch is not None:
                if not 0 < watch <= 86400:
                    raise typer.BadParameter("--watch takes 1 to 86400 seconds")
                code = _watch(s, target, watch, json_out, _captures(s, capture or []), beacons_csv)
            else:
                assert pcap is not None
                code = _pcap(s, target, pcap, json_out, beacons_csv)
        else:
            code = _active(ctx, s, stage, timeout, json_out)
    raise typer.Exit(code)


def probe(
    plan: Annotated[str, typer.Option("--plan", help="Probe plan JSON file, or - for stdin.")] = "-",
    json_out: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Run a probe plan from this host (what a vantage point runs; needs raw sockets).

    Reads the plan egressctl's verification sends (JSON: timeout, probes) and prints one result per probe:
    answered, refused (and by whom) or silent.
    """
    from egressctl.verify.probe.engine import main_probe

    with reported_errors():
        text = sys.stdin.read() if plan == "-" else Path(plan).read_text()
        doc = main_probe(text)
        if json_out:
            _emit_json(doc)
        else:
            for r in doc["results"]:
                console.print(f"{r['id']}: {r['outcome']} ({r['detail']})", markup=False)
