"""One registry of plugins: driver platforms, namespace runners and extra command groups.

* ``egressctl.drivers``: the built-in platform table plus third-party drivers. Built-ins are imported
  lazily by dotted path, so listing platforms or validating an inventory does not import netmiko. A name
  clash between a built-in and a plugin is an error, never a silent override.
* ``egressctl.netns_exec``: factories ``f(state_dir) -> (netns -> argv prefix) | None`` that know how to run
  a command inside a network namespace they manage (the lab's namespaces may live in a user namespace). The
  product itself only knows ``ip netns exec``; it never imports the lab.
* ``egressctl.commands``: typer apps added as sub-commands of ``egressctl`` (the lab's ``egressctl lab``).
* ``egressctl.default_inventory``: factories ``f(state_dir) -> Path | None`` naming the inventory to use
  when none is given (the lab offers the effective inventory of the lab that is up), so commands work
  outside the repository without the product knowing the lab.

Nothing is scanned or imported when this module is imported: every ``egressctl`` process (``--help`` and
each child the TUI starts) imports it, and ``importlib.metadata`` alone costs more than a tenth of the
start-up budget. Command groups are named by :func:`command_names` and loaded one by one with
:func:`command_group`, so a command that is not a plugin's never loads one.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from egressctl.errors import EgressError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint, EntryPoints

    from egressctl.driver import Driver

BUILTIN: dict[str, str] = {
    "linux_nftables": "egressctl_drivers.linux_nftables.driver:LinuxNftablesDriver",
    "cisco_ios": "egressctl_drivers.cisco_ios.driver:CiscoIosDriver",
    "juniper_junos": "egressctl_drivers.juniper_junos.driver:JuniperJunosDriver",
    "fortinet": "egressctl_drivers.fortinet.driver:FortinetDriver",
    "paloalto_panos": "egressctl_drivers.paloalto_panos.driver:PaloAltoPanosDriver",
    "arista_eos": "egressctl_drivers.arista_eos.driver:AristaEosDriver",
    "vyos": "egressctl_drivers.vyos.driver:VyosDriver",
    "cisco_asa": "egressctl_drivers.cisco_asa.driver:CiscoAsaDriver",
    "mikrotik_routeros": "egressctl_drivers.mikrotik_routeros.driver:MikrotikRouterosDriver",
}


#: Serialises the lazy driver imports. The executor builds drivers in parallel threads, and two threads
#: importing ``egressctl_drivers.common`` (whose ``__init__`` imports its submodules) and one of those
#: submodules at the same moment make CPython's per-module import locks detect a deadlock and fail one
#: import (seen as ``KeyError: 'egressctl_drivers.common'``, about 1 run in 6 on a fresh process).
_IMPORT_LOCK = threading.Lock()


def _group(name: str) -> EntryPoints:
    """The installed entry points of one group (``importlib.metadata`` is imported on first use only)."""
    from importlib import metadata

    return metadata.entry_points(group=name)


def _entry_points() -> dict[str, str]:
    found: dict[str, str] = {}
    for ep in _group("egressctl.drivers"):
        if ep.name in BUILTIN:
            raise EgressError(f"driver plugin {ep.name!r} ({ep.value}) clashes with a built-in platform")
        found[ep.name] = ep.value
    return found


def platforms() -> dict[str, str]:
    """Every registered platform key and the dotted path of its driver class."""
    return {**BUILTIN, **_entry_points()}


def driver_class(platform: str) -> type[Driver]:
    """Import and return the driver class for ``platform``.

    Raises:
        KeyError: the platform is not registered.
    """
    table = platforms()
    if platform not in table:
        raise KeyError(f"unknown platform {platform!r}; known: {', '.join(sorted(table))}")
    module, _, attr = table[platform].partition(":")
    with _IMPORT_LOCK:
        cls: type[Driver] = getattr(importlib.import_module(module), attr)
    return cls


#: Argv prefix that runs a command inside the named network namespace.
NetnsExec = Callable[[str], list[str]]


def plain_netns_exec(netns: str) -> list[str]:
    """``ip netns exec NETNS``: how a namespace on the controller's host is entered without plugins."""
    return ["ip", "netns", "exec", netns]


def netns_exec(state_dir: Path | None = None) -> NetnsExec:
    """How to run a command inside a network namespace, as the first plugin that manages them says.

    Plugins (group ``egressctl.netns_exec``) are asked in name order with the operation's state directory;
    the first that returns a prefix wins, so a lab that is up in that state directory maps its node names.
    """
    for ep in sorted(_group("egressctl.netns_exec"), key=lambda e: e.name):
        try:
            with _IMPORT_LOCK:
                factory = ep.load()
        except ImportError:  # a plugin that cannot be imported manages no namespace
            continue
        found: NetnsExec | None = factory(state_dir)
        if found is not None:
            return found
    return plain_netns_exec


def command_names() -> list[str]:
    """Names of the registered ``egressctl NAME`` command groups (group ``egressctl.commands``), unloaded.

    Listing costs a metadata scan but imports no plugin: ``egressctl --help`` and completion list the
    names, and only a plugin whose group is run or described is loaded (:func:`command_group`).
    """
    return list(dict.fromkeys(ep.name for ep in _group("egressctl.commands")))


def _load_command(ep: EntryPoint) -> Any:
    try:
        return ep.load()
    except ImportError:  # an optional plugin installed without its own dependencies: leave it out
        return None


def command_group(name: str) -> Any:
    """The typer app registered as ``egressctl NAME``, or None (none registered, or it cannot be imported).

    When several plugins register ``name``, the last that imports wins, as in :func:`command_groups`.
    """
    for ep in reversed(list(_group("egressctl.commands"))):
        if ep.name == name and (group := _load_command(ep)) is not None:
            return group
    return None


def command_groups() -> dict[str, Any]:
    """Typer apps registered as ``egressctl NAME`` sub-commands (group ``egressctl.commands``), all loaded."""
    groups: dict[str, Any] = {}
    for ep in _group("egressctl.commands"):
        if (group := _load_command(ep)) is not None:
            groups[ep.name] = group
    return groups


def default_inventory(state_dir: Path | None = None) -> Path | None:
    """The inventory the first plugin offers (group ``egressctl.default_inventory``, name order), or None.

    A plugin that cannot be imported (installed without its own dependencies) is skipped: a default is a
    convenience and must never break a command that names its inventory anyway.
    """
    for ep in sorted(_group("egressctl.default_inventory"), key=lambda e: e.name):
        try:
            with _IMPORT_LOCK:
                factory = ep.load()
        except ImportError:
            continue
        found: Path | None = factory(state_dir)
        if found is not None:
            return Path(found)
    return None
