"""MikroTik RouterOS router personality (RouterOS 7 console).

Menus and their items (``/ip firewall filter add ...``, ``print``, ``export``, ``[find where ...]``), every
change live and saved at once (there is no commit and no save command), the firewall filter compiled to
nftables with FastTrack (a fasttracked connection skips the filter until its entry is removed), the
connection table (``/ip firewall connection print|remove``) over the namespace's conntrack, scripts and the
scheduler (interval events, ``start-time=startup`` events after a reboot) and ``/system reboot``.
"""

from __future__ import annotations

from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec
from egressctl_lab.emu.mikrotik_routeros.device import RosDevice


def create(spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> RosDevice:
    """Factory registered for platform ``mikrotik_routeros``."""
    return RosDevice(spec, clock, dataplane)


__all__ = ["RosDevice", "create"]
