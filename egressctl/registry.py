"""One registry of driver platforms: the built-in table plus the ``egressctl.drivers`` entry-point group.

Built-ins are imported lazily by dotted path, so listing platforms or validating an inventory does not
import netmiko. A name clash between a built-in and a plugin is an error, never a silent override.
"""

from __future__ import annotations

import importlib
import threading
from importlib import metadata

from egressctl.driver import Driver
from egressctl.errors import EgressError

BUILTIN: dict[str, str] = {
    "linux_nftables": "egressctl_drivers.linux_nftables.driver:LinuxNftablesDriver",
    "cisco_ios": "egressctl_drivers.cisco_ios.driver:CiscoIosDriver",
    "juniper_junos": "egressctl_drivers.juniper_junos.driver:JuniperJunosDriver",
    "fortinet": "egressctl_drivers.fortinet.driver:FortinetDriver",
    "paloalto_panos": "egressctl_drivers.paloalto_panos.driver:PaloAltoPanosDriver",
}


#: Serialises the lazy driver imports. The executor builds drivers in parallel threads, and two threads
#: importing ``egressctl_drivers.common`` (whose ``__init__`` imports its submodules) and one of those
#: submodules at the same moment make CPython's per-module import locks detect a deadlock and fail one
#: import (seen as ``KeyError: 'egressctl_drivers.common'``, about 1 run in 6 on a fresh process).
_IMPORT_LOCK = threading.Lock()


def _entry_points() -> dict[str, str]:
    found: dict[str, str] = {}
    for ep in metadata.entry_points(group="egressctl.drivers"):
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
