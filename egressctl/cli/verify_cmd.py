"""`egressctl verify` and `egressctl probe` (placeholder while the verification modules are written)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def verify(
    site: Annotated[str, typer.Argument(help="Site name from the inventory.")],
    watch: Annotated[float | None, typer.Option("--watch", help="Live leak watch for SECONDS.")] = None,
    pcap: Annotated[Path | None, typer.Option("--pcap", help="Check a capture file offline.")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Target to verify against.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    inventory: Annotated[Path | None, typer.Option("--inventory", help="Inventory file.")] = None,
) -> None:
    """Prove the site's current state with packets (not implemented yet)."""
    typer.echo("egressctl verify: not implemented yet", err=True)
    raise typer.Exit(2)


def probe(
    plan: Annotated[str, typer.Option("--plan", help="Probe plan JSON file, or - for stdin.")] = "-",
    json_out: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Run a probe plan from this host (the vantage-point side; not implemented yet)."""
    typer.echo("egressctl probe: not implemented yet", err=True)
    raise typer.Exit(2)
