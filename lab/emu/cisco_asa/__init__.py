"""Cisco ASA personality (9.x): unified IPv4/IPv6 ACLs bound with ``access-group``, object-groups.

A stateful connection table (``show conn``, ``clear conn``), live configuration, ``write memory``.

The ASA has no dead-man switch of its own: a change is live at each line and stays until it is undone.
"""

from __future__ import annotations

from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec
from egressctl_lab.emu.cisco_asa.device import AsaDevice


def create(spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> AsaDevice:
    """Factory registered for platform ``cisco_asa``."""
    return AsaDevice(spec, clock, dataplane)


__all__ = ["AsaDevice", "create"]
