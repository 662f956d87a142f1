"""``egressctl tui``: the incident TUI over the same engine as the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from egressctl.cli import complete
from egressctl.cli.common import globals_of


def tui(
    ctx: typer.Context,
    site: Annotated[str | None, typer.Argument(help="Open this site's screen directly.",
                                               autocompletion=complete.sites)] = None,
    inventory: Annotated[
        Path | None, typer.Option("--inventory", "-i", help="Inventory file (default: the global one).")
    ] = None,
    state_dir: Annotated[Path | None, typer.Option("--state-dir", help="Journal/state directory.")] = None,
) -> None:
    """Start the incident TUI: sites, isolate, watch the proof, restore stage by stage.

    Keys are shown in the footer; Ctrl+P opens the command palette. Every operation shows its plan and
    asks for the site's name typed exactly before anything is sent.
    """
    from egressctl.tui.app import make_app

    g = globals_of(ctx)
    make_app(inventory=inventory or g.inventory, state_dir=state_dir or g.state_dir, site=site).run()
