"""Run one of EMU1's emulated devices on 127.0.0.1 for the driver tests (no data plane, DRV1).

The emulator speaks the vendor CLI over real SSH; netmiko's real device classes drive it. Device timers
(revert timer, commit confirmed) run at ``TIME_SCALE`` so a one-minute dead-man switch fires in seconds.
"""

from __future__ import annotations

import contextlib
import importlib.util
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egressctl_lab import hostkeys

from egressctl.inventory.credentials import Secret, remember
from egressctl.inventory.models import Device

TIME_SCALE = 0.05  # one device minute = 3 s


def available(platform: str) -> bool:
    """True when the emulator core and this platform's personality are importable."""
    return all(importlib.util.find_spec(m) is not None
               for m in ("egressctl_lab.emu.server", f"egressctl_lab.emu.{platform}"))


@dataclass
class Emulated:
    """A running emulated device and the inventory entry that reaches it."""

    device: Device
    secret: Secret
    handle: Any


@contextlib.contextmanager
def emulated(device: Device, port: int, spec_kw: dict[str, Any], *, time_scale: float = TIME_SCALE,
             tag: str = "d1") -> Iterator[Emulated]:
    """Serve ``device``'s platform on ``port`` with the lab's pinned host key for that device name.

    ``time_scale`` is the device clock (device seconds per real second); ``tag`` names the temporary
    host-key folder and prefixes the throwaway password, so a leaked one says which suite made it.
    """
    from egressctl_lab.emu.base import DeviceSpec
    from egressctl_lab.emu.server import serve_in_thread

    tmp = Path(tempfile.mkdtemp(prefix=f"{tag}-emu-"))
    password = f"{tag}-" + secrets.token_urlsafe(12)
    remember(password)
    key = hostkeys.write_private(device.name, tmp / "host_key")
    spec = DeviceSpec(name=device.name, hostname=device.name, username=device.username, password=password,
                      **spec_kw)
    handle = serve_in_thread(device.platform, spec, port=port, host_key_path=key, time_scale=time_scale)
    try:
        reach = device.model_copy(update={"port": port, "host": "127.0.0.1"})
        yield Emulated(reach, Secret(password=password), handle)
    finally:
        handle.stop()
        shutil.rmtree(tmp, ignore_errors=True)
