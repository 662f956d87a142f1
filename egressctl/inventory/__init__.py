"""Site inventories: typed models, the YAML loader and credential references.

The names below are imported from their modules on first use (PEP 562), not when the package is: importing
any submodule runs this file first, and :mod:`egressctl.inventory.credentials` (which every command needs
for redaction) must not drag in pydantic and the YAML loader, a third of ``egressctl --help``'s time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from egressctl.inventory.credentials import Secret, redact, resolve, state_dir
    from egressctl.inventory.loader import load_inventory, parse_inventory
    from egressctl.inventory.models import (
        Canary,
        CapturePoint,
        Device,
        Flow,
        Inventory,
        ManagementPath,
        PortRange,
        Site,
        Stage,
        VantagePoint,
    )

__all__ = [
    "Canary",
    "CapturePoint",
    "Device",
    "Flow",
    "Inventory",
    "ManagementPath",
    "PortRange",
    "Secret",
    "Site",
    "Stage",
    "VantagePoint",
    "load_inventory",
    "parse_inventory",
    "redact",
    "resolve",
    "state_dir",
]

#: The submodule that defines each exported name.
_HOME = {
    **dict.fromkeys(("Secret", "redact", "resolve", "state_dir"), "credentials"),
    **dict.fromkeys(("load_inventory", "parse_inventory"), "loader"),
    **dict.fromkeys(("Canary", "CapturePoint", "Device", "Flow", "Inventory", "ManagementPath", "PortRange",
                     "Site", "Stage", "VantagePoint"), "models"),
}

if not TYPE_CHECKING:  # type checkers see the imports above, and an unknown name stays an error for them

    def __getattr__(name: str) -> Any:
        """Import an exported name's submodule when the name is first read, and keep the name here."""
        home = _HOME.get(name)
        if home is None:  # also how ``from egressctl.inventory import loader`` finds a submodule
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
        globals()[name] = value
        return value
