"""Shell completion of site, stage, target and device names, from the inventory the command would use.

The CLI imports this module at start-up only to name the callbacks in its parameter declarations, so it
imports nothing but typer (which the CLI has already loaded); the inventory is read only when the shell
actually asks for a completion. Whatever goes wrong then (no inventory, a broken one, an unknown site)
completes nothing and prints nothing: the output of a completion lands on the operator's command line,
and a traceback there is worse than no suggestion.

Each callback returns ``(value, help)`` pairs: zsh and fish show the help next to the value, bash only the
value. Values already filtered by what was typed, so the callbacks can be called directly too.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from egressctl.inventory.models import Inventory, Site

Item = tuple[str, str]


def _param(ctx: typer.Context, name: str) -> Any:
    """The value of parameter ``name`` given to this command or, failing that, to a parent command."""
    cur: Any = ctx
    while cur is not None:
        value = cur.params.get(name)
        if value is not None:
            return value
        cur = cur.parent
    return None


def _inventory_path(ctx: typer.Context) -> Path:
    """The inventory the command being completed would read: ``-i``, else the CLI's default."""
    given = _param(ctx, "inventory")
    if given is not None:
        return Path(given)
    from egressctl.cli.common import default_inventory

    return default_inventory()


@contextlib.contextmanager
def _silenced() -> Iterator[None]:
    """Keep warnings and stray prints (plugins, libraries) off the shell's completion output."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _site(ctx: typer.Context, inventory: Inventory) -> Site | None:
    """The site named on the command line, or the only site of the inventory when none is named yet.

    While an option's value is being completed (``restore lab --stage <TAB>``), click stops parsing at
    the option that lacks its value before it assigns positional arguments, so the site is then the first
    word left over in ``ctx.args`` rather than a parameter (every command here takes the site first).
    """
    name = ctx.params.get("site") or next(iter(ctx.args), None)
    if name is None:
        return inventory.sites[0] if len(inventory.sites) == 1 else None
    return next((s for s in inventory.sites if s.name == name), None)


def _complete(ctx: typer.Context, incomplete: str, items: Callable[[typer.Context, Inventory], list[Item]],
              ) -> list[Item]:
    """``items`` of the inventory in effect that start with ``incomplete``; nothing on any error."""
    try:
        with _silenced():
            from egressctl.inventory.loader import load_inventory

            found = items(ctx, load_inventory(_inventory_path(ctx)))
    except Exception:  # completion must never print or fail: no suggestion is the only safe answer
        return []
    return [item for item in found if item[0].startswith(incomplete)]


def _sites(ctx: typer.Context, inventory: Inventory) -> list[Item]:
    return [(s.name, s.description) for s in inventory.sites]


def _stages(ctx: typer.Context, inventory: Inventory) -> list[Item]:
    site = _site(ctx, inventory)
    return [(s.name, s.description or "restore stage") for s in site.stages] if site else []


def _targets(ctx: typer.Context, inventory: Inventory) -> list[Item]:
    from egressctl.policy import targets

    site = _site(ctx, inventory)
    if site is None:
        return []
    helps = {"isolated": "cut off: management and always-allowed flows only",
             "normal": "every egressctl rule removed", **dict(_stages(ctx, inventory))}
    return [(name, helps.get(name, "")) for name in targets(site)]


def _devices(ctx: typer.Context, inventory: Inventory) -> list[Item]:
    site = _site(ctx, inventory)
    chosen = set(ctx.params.get("device") or ())
    devices = site.devices if site else []
    return [(d.name, f"{d.platform}, exit {d.exit}") for d in devices if d.name not in chosen]


def sites(ctx: typer.Context, incomplete: str) -> list[Item]:
    """Site names (``egressctl isolate <TAB>``)."""
    return _complete(ctx, incomplete, _sites)


def stages(ctx: typer.Context, incomplete: str) -> list[Item]:
    """Stage names of the site on the command line (``restore SITE --stage <TAB>``)."""
    return _complete(ctx, incomplete, _stages)


def targets(ctx: typer.Context, incomplete: str) -> list[Item]:
    """``isolated``, the stages and ``normal`` (``plan SITE --to <TAB>``, ``verify SITE --stage <TAB>``)."""
    return _complete(ctx, incomplete, _targets)


def devices(ctx: typer.Context, incomplete: str) -> list[Item]:
    """Device names of the site on the command line not given yet (``isolate SITE --device <TAB>``)."""
    return _complete(ctx, incomplete, _devices)
