"""``egressctl tui``: the incident TUI over the same engine as the CLI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from egressctl.cli import complete


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

    obj = ctx.obj if isinstance(ctx.obj, dict) else {}
    inv = inventory or obj.get("inventory") or os.environ.get("EGRESSCTL_INVENTORY") or "inventory/lab.yaml"
    sdir = state_dir or obj.get("state_dir")
    make_app(inventory=inv, state_dir=sdir, site=site).run()
