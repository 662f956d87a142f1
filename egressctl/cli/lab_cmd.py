"""``egressctl lab ...``: build, inspect and tear down the emulated site (placeholder, filled in below)."""

from __future__ import annotations

import typer

lab_app = typer.Typer(help="Build, inspect and tear down the emulated lab site.", no_args_is_help=True)
