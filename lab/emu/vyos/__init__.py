"""VyOS router personality (1.4 firewall syntax).

Operational and configuration modes, a generic tree for every ``set`` line, the firewall compiled to nft
(state policy before the rules: established connections survive a change), ``commit-confirm`` reverting
by reboot (the default, the only one before 1.5) or by reload, conntrack listing and clearing.
"""

from __future__ import annotations

from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec
from egressctl_lab.emu.vyos.device import VyosDevice


def create(spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> VyosDevice:
    """Factory registered for platform ``vyos``."""
    return VyosDevice(spec, clock, dataplane)


__all__ = ["VyosDevice", "create"]
