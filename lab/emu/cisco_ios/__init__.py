"""Cisco IOS router personality: extended/IPv6 ACLs on interfaces, live config, confirmed-change timer."""

from __future__ import annotations

from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec
from egressctl_lab.emu.cisco_ios.device import IosDevice


def create(spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> IosDevice:
    """Factory registered for platform ``cisco_ios``."""
    return IosDevice(spec, clock, dataplane)


__all__ = ["IosDevice", "create"]
