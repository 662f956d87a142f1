"""Site inventories: typed models, the YAML loader and credential references."""

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
