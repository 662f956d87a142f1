"""Arista EOS distribution-switch personality.

IPv4/IPv6 ACLs on interfaces, configuration sessions with ``commit timer`` (the dead-man switch: rollback
without reboot), a generic tree for every other line.
"""

from __future__ import annotations

from egressctl_lab.emu.arista_eos.device import EosDevice
from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec


def create(spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> EosDevice:
    """Factory registered for platform ``arista_eos``."""
    return EosDevice(spec, clock, dataplane)


__all__ = ["EosDevice", "create"]
