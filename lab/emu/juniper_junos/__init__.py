"""Juniper Junos (SRX) personality: zones, address book, applications, security policies, commit model."""

from __future__ import annotations

from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec
from egressctl_lab.emu.juniper_junos.device import JunosDevice


def create(spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> JunosDevice:
    """Factory registered for platform ``juniper_junos``."""
    return JunosDevice(spec, clock, dataplane)


__all__ = ["JunosDevice", "create"]
