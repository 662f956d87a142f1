"""The ``egressctl`` typer application: a thin shell over :class:`egressctl.engine.Engine`.

Commands live in small modules (``ops_cmd``: isolate/restore/plan; ``read_cmd``: status/history/unlock)
and other teams' groups are wired here (``lab``, ``verify``/``probe``, ``tui``).

Start-up is part of the interface: the TUI starts a child ``egressctl`` per operation and ``--help`` must
answer at once. The console script (:mod:`egressctl.cli.main`) answers a capture check without this
module (:mod:`egressctl.cli.fastpath`) and imports it for every other command line. Importing it imports
typer and the command modules' signatures only; each command imports what it runs (engine, inventory
loader, rich, numpy, scapy), plugin groups such as ``lab`` are loaded when named
(:mod:`egressctl.cli.plugins`), and ``tests/egressctl/cli/test_startup.py`` holds the heavy modules out
of ``--help`` and ``--version``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from egressctl.cli import stdout
from egressctl.cli.check_cmd import check
from egressctl.cli.common import EXIT_CODES, Globals
from egressctl.cli.ops_cmd import isolate, plan, restore
from egressctl.cli.plugins import ROOT_SETTINGS, PluginGroup
from egressctl.cli.read_cmd import history, status, unlock
from egressctl.cli.tui_cmd import tui
from egressctl.cli.verify_cmd import probe, verify

HELP = """Cut a site off the internet in one action, prove the cut with packets, restore it in stages.

\b
Examples:
  egressctl -i inventory/site.yaml plan hospital --to isolated
  egressctl isolate hospital          (asks you to type the site name)
  egressctl verify hospital
  egressctl restore hospital --stage ministry
  egressctl restore hospital --full
  egressctl status hospital
  egressctl history --verify
"""
EPILOG = "\b\n" + EXIT_CODES

app = typer.Typer(
    name="egressctl", help=HELP, epilog=EPILOG, no_args_is_help=True, cls=PluginGroup,
    context_settings={"max_content_width": 110}, **ROOT_SETTINGS,
)


def _version(value: bool) -> None:
    """``--version``: answered before any inventory, journal or device is touched.

    The number is ``egressctl.__version__``, not the installed metadata: importing ``importlib.metadata``
    to read it would cost more than the rest of ``--version``, and a test holds the two equal.
    """
    if not value:
        return
    from egressctl import __version__

    stdout.write(f"egressctl {__version__}\n")
    raise typer.Exit()


@app.callback()
def _globals(
    ctx: typer.Context,
    inventory: Annotated[Path | None, typer.Option(
        "--inventory", "-i", help="Inventory file [default: $EGRESSCTL_INVENTORY or ./inventory/lab.yaml].",
        show_default=False)] = None,
    state_dir: Annotated[Path | None, typer.Option(
        "--state-dir", help="Journal and state directory [default: $EGRESSCTL_STATE_DIR or "
        "~/.local/state/egressctl].", show_default=False)] = None,
    _show_version: Annotated[bool, typer.Option(
        "--version", help="Print the version and exit.", is_eager=True, callback=_version)] = False,
) -> None:
    g = Globals(inventory, state_dir)
    if state_dir is not None:
        # Credential references ({state}/...) and the lab's files follow the same directory.
        os.environ["EGRESSCTL_STATE_DIR"] = str(state_dir)
    if inventory is not None:
        os.environ["EGRESSCTL_INVENTORY"] = str(inventory)
    ctx.obj = g.as_obj()


for _fn in (isolate, restore, plan, check, status, history, unlock, verify, probe, tui):
    app.command(epilog=EPILOG if _fn in (isolate, restore, plan, check, verify) else None)(_fn)
