"""Serve one of EMU2's emulated devices on 127.0.0.1 for DRV2's driver tests (no data plane).

Like DRV1's ``d1_emulated`` but with a slower device clock: FortiOS and PAN-OS sessions take more round
trips per step, and the shared lifecycle suite's 60 s dead-man must outlast its own checks.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from egressctl.inventory.credentials import Secret, remember
from egressctl.inventory.models import Device
from egressctl.lab import hostkeys
from tests.integration.d1_emulated import Emulated

#: Device seconds per real second: the suite's 60 s dead-man lasts 15 s, long enough for its checks.
TIME_SCALE = 0.25


@contextlib.contextmanager
def d2_emulated(device: Device, port: int, spec_kw: dict[str, Any]) -> Iterator[Emulated]:
    """Serve ``device``'s platform on 127.0.0.1:``port`` with the lab's pinned host key (no data plane)."""
    from egressctl.lab.emu.base import DeviceSpec
    from egressctl.lab.emu.server import serve_in_thread

    tmp = Path(tempfile.mkdtemp(prefix="d2-emu-"))
    password = "d2-" + secrets.token_urlsafe(12)
    remember(password)
    key = hostkeys.write_private(device.name, tmp / "host_key")
    spec = DeviceSpec(name=device.name, hostname=device.name, username=device.username, password=password,
                      **spec_kw)
    handle = serve_in_thread(device.platform, spec, port=port, host_key_path=key, time_scale=TIME_SCALE)
    try:
        reach = device.model_copy(update={"port": port, "host": "127.0.0.1"})
        yield Emulated(reach, Secret(password=password), handle)
    finally:
        handle.stop()
        shutil.rmtree(tmp, ignore_errors=True)
