"""Command groups that installed plugins add (``egressctl lab``), loaded only when a command line needs them.

Importing a plugin's typer app costs its own imports (the lab's pulls in rich tables and its package):
adding every group at start-up made ``egressctl --version`` and each child ``egressctl`` the TUI starts pay
for a lab they never use. :class:`PluginGroup` is the root group instead: it lists the registered names
(``--help``, completion, "did you mean") and loads a plugin's app the first time that name is resolved,
so ``--help`` still shows ``lab`` with its own help line, and ``egressctl lab up`` behaves exactly as when
the group was added with ``add_typer``. A plugin that cannot be imported (installed without its own
dependencies) is left out, as before.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup
from typer.main import get_group

from egressctl import registry

#: Settings of the root ``typer.Typer`` that ``add_typer`` passes down to a sub-group; a plugin's group is
#: built with the same ones, so its help and errors look as they did when it was added eagerly.
ROOT_SETTINGS: dict[str, Any] = {"rich_markup_mode": None, "pretty_exceptions_enable": False}


def plugin_command(name: str) -> Any:
    """The click group of plugin ``name`` (built by typer as ``add_typer`` would), or None."""
    app = registry.command_group(name)
    if app is None:
        return None
    holder = typer.Typer(**ROOT_SETTINGS)
    holder.add_typer(app, name=name)
    return get_group(holder).commands.get(name)


class PluginGroup(TyperGroup):
    """The root group: the built-in commands, then each plugin's group under its registered name.

    Contexts and commands are typed ``Any``: they are click's classes, which the pinned typer vendors
    privately (``typer._click``) and older typers take from ``click``.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        """Built-in commands in their order, then plugin names not taken by a built-in (not loaded)."""
        names = super().list_commands(ctx)
        return names + [n for n in registry.command_names() if n not in self.commands]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """A built-in command, else the plugin group registered under ``cmd_name`` (loaded once)."""
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        plugin = plugin_command(cmd_name)
        if plugin is not None:
            self.add_command(plugin, cmd_name)
        return plugin

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """Resolve as typer does; an unknown name is also matched against plugins ("Did you mean 'lab'?").

        typer suggests from the groups it holds, so on that error path every plugin is loaded and the
        name resolved again, which raises the same error with the plugins among the suggestions.
        """
        try:
            return super().resolve_command(ctx, args)
        except Exception:
            if not self._load_plugins(ctx):
                raise
        return super().resolve_command(ctx, args)

    def _load_plugins(self, ctx: Any) -> bool:
        """Load every plugin group not loaded yet; True when one was added."""
        before = len(self.commands)
        for name in self.list_commands(ctx):
            self.get_command(ctx, name)
        return len(self.commands) > before
