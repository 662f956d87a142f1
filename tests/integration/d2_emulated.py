"""Serve one of EMU2's emulated devices on 127.0.0.1 for DRV2's driver tests (no data plane).

Like DRV1's ``d1_emulated`` but with a slower device clock: FortiOS and PAN-OS sessions take more round
trips per step, and the shared lifecycle suite's 60 s dead-man must outlast its own checks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from egressctl.inventory.models import Device
from tests.integration.d1_emulated import Emulated, emulated

#: Device seconds per real second: the suite's 60 s dead-man lasts 15 s, long enough for its checks.
TIME_SCALE = 0.25


@contextlib.contextmanager
def d2_emulated(device: Device, port: int, spec_kw: dict[str, Any]) -> Iterator[Emulated]:
    """Serve ``device``'s platform on 127.0.0.1:``port`` with the lab's pinned host key (no data plane)."""
    with emulated(device, port, spec_kw, time_scale=TIME_SCALE, tag="d2") as emu:
        yield emu
