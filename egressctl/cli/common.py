"""What every egressctl command shares: global options, building the engine, errors -> exit codes.

Errors print one line per problem on stderr (an inventory problem as ``file:line: field: message``) and no
traceback unless ``EGRESSCTL_DEBUG=1``: an operator in an incident needs the cause, not a stack.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from egressctl.errors import (
    EgressError,
    InventoryError,
    JournalError,
    PlanError,
    PolicyError,
    SiteLocked,
    VerificationError,
)
from egressctl.inventory.credentials import redact

if TYPE_CHECKING:
    from egressctl.engine import Engine

EXIT_CODES = """Exit codes:
  0    success
  1    operation failed and every device was rolled back
  2    usage or inventory error (nothing was changed)
  3    verification failed (a leak, or an allowed path blocked)
  4    site locked by another operation
  5    partial failure needing attention (a device could not be changed or rolled back)
  130  interrupted"""

P = ParamSpec("P")
R = TypeVar("R")
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class Globals:
    """Options given before the command (``egressctl -i FILE --state-dir DIR COMMAND``)."""

    inventory: Path
    state_dir: Path | None = None

    def as_obj(self) -> dict[str, Any]:
        """The ``ctx.obj`` dict other command groups (tui, verify) read."""
        return {"inventory": self.inventory, "state_dir": self.state_dir, "globals": self}


def default_inventory() -> Path:
    """``$EGRESSCTL_INVENTORY`` or ``./inventory/lab.yaml``."""
    return Path(os.environ.get("EGRESSCTL_INVENTORY") or "inventory/lab.yaml")


def globals_of(ctx: typer.Context) -> Globals:
    """The global options of this invocation."""
    obj = ctx.find_root().obj
    found = obj.get("globals") if isinstance(obj, dict) else None
    return found if isinstance(found, Globals) else Globals(default_inventory())


def make_engine(ctx: typer.Context) -> Engine:
    """Build the engine from the global options (a seam tests may patch)."""
    from egressctl.engine import Engine

    g = globals_of(ctx)
    return Engine(g.inventory, state_dir=g.state_dir)


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code of an error."""
    if isinstance(exc, SiteLocked):
        return 4
    if isinstance(exc, InventoryError | PolicyError | PlanError):
        return 2
    if isinstance(exc, VerificationError):
        return 3
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, JournalError):
        return 5
    return 5


def problem_lines(exc: BaseException) -> list[str]:
    """One line per problem, redacted."""
    if isinstance(exc, InventoryError):
        lines = [str(p) for p in exc.problems]
    elif isinstance(exc, PlanError):
        lines = ["plan refused (nothing was touched):", *[f"  {g}" for g in exc.gaps]]
    elif isinstance(exc, EgressError):
        lines = [f"error: {ln}" if i == 0 else ln for i, ln in enumerate(str(exc).splitlines() or [""])]
    else:
        lines = [f"error: {type(exc).__name__}: {exc}"]
    return [redact(ln) for ln in lines]


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn errors into one line per problem and the documented exit code."""
    try:
        yield
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        raise typer.Exit(130) from None
    except Exception as exc:
        if os.environ.get("EGRESSCTL_DEBUG") == "1":
            raise
        for line in problem_lines(exc):
            err_console.print(line, markup=False)
        raise typer.Exit(exit_code_for(exc)) from None


def handles_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of :func:`reported_errors` for command functions."""
    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with reported_errors():
            return fn(*args, **kwargs)

    return wrapper


def is_tty() -> bool:
    """True when stdout is an interactive terminal."""
    return sys.stdout.isatty()


def out_console() -> Console:
    """Stdout console: no hard wrapping, and wide tables when piped (logs and CI read whole lines)."""
    return Console(highlight=False, soft_wrap=True, width=None if is_tty() else 160)
