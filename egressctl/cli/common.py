"""What every egressctl command shares: global options, building the engine, errors -> exit codes, consoles.

Errors print one line per problem on stderr (an inventory problem as ``file:line: field: message``) and no
traceback unless ``EGRESSCTL_DEBUG=1``: an operator in an incident needs the cause, not a stack. Exit codes
come from :mod:`egressctl.exitcodes`, the one table the engine and ``--help`` use too.

Consoles never interpret markup or emoji codes: everything printed is data from devices, inventories and
the journal, where ``[bold]`` is text and ``:100:`` is part of an IPv6 address. Styling is applied with
:class:`rich.text.Text` spans instead.

This module is imported by every command, ``--help`` and ``--version`` included, so rich is imported by the
functions that print, never here (it is a tenth of ``--help``'s time); the consoles themselves live in
:mod:`egressctl.cli.consoles`, which the fast path of ``verify --pcap`` shares without typer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

from egressctl.cli.consoles import err_console, is_tty, out_console
from egressctl.errors import (
    EgressError,
    InputError,
    InventoryError,
    PlanError,
    PolicyError,
    SiteLocked,
    VerificationError,
)
from egressctl.exitcodes import ExitCode, help_text
from egressctl.inventory.credentials import redact

if TYPE_CHECKING:
    from egressctl.engine import Engine

EXIT_CODES = help_text()

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Globals:
    """Options given before the command (``egressctl -i FILE --state-dir DIR COMMAND``).

    Without ``-i`` the inventory is looked up when a command first asks for it: the lookup may ask the
    registry's plugins (a metadata scan and the lab's import), which ``isolate --help`` and the other
    commands that never read an inventory must not pay for.
    """

    given_inventory: Path | None = None
    state_dir: Path | None = None
    _inventory: Path | None = field(default=None, init=False, repr=False)

    @property
    def inventory(self) -> Path:
        """``-i``, else :func:`default_inventory` (looked up once)."""
        if self._inventory is None:
            self._inventory = self.given_inventory or default_inventory(self.state_dir)
        return self._inventory

    def as_obj(self) -> dict[str, Any]:
        """The ``ctx.obj`` dict other command groups (tui, verify) read."""
        return {"state_dir": self.state_dir, "globals": self}


def default_inventory(state_dir: Path | None = None) -> Path:
    """The inventory when ``-i`` is not given, so an installed egressctl works outside the repository.

    ``$EGRESSCTL_INVENTORY``; else ``./inventory/lab.yaml`` when it exists (a checkout); else the inventory a
    registry plugin offers (the lab that is up in ``state_dir`` records its effective one: the product
    never imports the lab); else ``./inventory/lab.yaml`` anyway, so the error names the documented path.
    """
    env = os.environ.get("EGRESSCTL_INVENTORY")
    if env:
        return Path(env)
    local = Path("inventory/lab.yaml")
    if local.is_file():
        return local
    from egressctl.registry import default_inventory as offered

    return offered(state_dir) or local


def globals_of(ctx: typer.Context) -> Globals:
    """The global options of this invocation."""
    obj = ctx.find_root().obj
    found = obj.get("globals") if isinstance(obj, dict) else None
    return found if isinstance(found, Globals) else Globals()


def make_engine(ctx: typer.Context) -> Engine:
    """Build the engine from the global options (a seam tests may patch)."""
    from egressctl.engine import Engine

    g = globals_of(ctx)
    return Engine(g.inventory, state_dir=g.state_dir)


def exit_code_for(exc: BaseException) -> ExitCode:
    """The documented exit code of an error that ended a command."""
    if isinstance(exc, SiteLocked):
        return ExitCode.LOCKED
    if isinstance(exc, InventoryError | InputError | PolicyError | PlanError):
        return ExitCode.USAGE
    if isinstance(exc, VerificationError):
        return ExitCode.VERIFY_FAILED
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    return ExitCode.PARTIAL  # the journal failed, or an unexpected error: someone must look


def problem_lines(exc: BaseException) -> list[str]:
    """One line per problem, redacted."""
    if isinstance(exc, InventoryError):
        lines = [str(p) for p in exc.problems]
    elif isinstance(exc, PlanError):
        lines = ["plan refused (nothing was touched):", *[f"  {g}" for g in exc.gaps]]
    elif isinstance(exc, EgressError):
        text = str(exc).splitlines() or [""]
        lines = [f"error: {ln}" if i == 0 else f"  {ln}" for i, ln in enumerate(text)]
    else:  # a bug: say so, with the type, rather than pass it off as an operational failure
        lines = [f"error: internal error ({type(exc).__name__}: {exc}); "
                 "EGRESSCTL_DEBUG=1 shows the traceback"]
    return [redact(ln) for ln in lines]


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn errors into one line per problem and the documented exit code."""
    try:
        yield
    except (typer.Exit, typer.Abort, typer.BadParameter, SystemExit):
        raise
    except KeyboardInterrupt:
        err_console().print("interrupted")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except Exception as exc:
        if os.environ.get("EGRESSCTL_DEBUG") == "1":
            raise
        from rich.text import Text

        console = err_console()
        for line in problem_lines(exc):
            console.print(Text(line))
        raise typer.Exit(exit_code_for(exc)) from None


def handles_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of :func:`reported_errors` for command functions."""
    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with reported_errors():
            return fn(*args, **kwargs)

    return wrapper


__all__ = ["EXIT_CODES", "Globals", "err_console", "exit_code_for", "globals_of", "handles_errors", "is_tty",
           "make_engine", "out_console", "problem_lines", "reported_errors"]
