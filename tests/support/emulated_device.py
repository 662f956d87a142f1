"""Serve one of the lab's emulated devices on loopback for the built-in drivers' live tests (no data plane).

A binding of :func:`egressctl_lab.testing.emulator.serve_emulated` to this repository: the device is the
lab site's, and the device clock is the platform's :data:`TIME_SCALE`. Each test module passes its own port
(modules never share one) and spec (the vendor interface and zone names the inventory refers to).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from egressctl_lab.testing.emulator import Emulated, available, serve_emulated

from tests.support.labkit import lab_site

__all__ = ["TIME_SCALE", "Emulated", "available", "serve_lab_device"]

#: Real seconds per device second, per platform. IOS and Junos count their dead-man in whole minutes: at
#: 0.05 one minute lasts 3 s. FortiOS and PAN-OS sessions take more round trips per step, so their clock is
#: slower: the suite's 60 s dead-man lasts 15 s there, long enough for the suite's own checks.
TIME_SCALE: dict[str, float] = {"cisco_ios": 0.05, "juniper_junos": 0.05, "fortinet": 0.25,
                                "paloalto_panos": 0.25}


@contextlib.contextmanager
def serve_lab_device(name: str, port: int, spec_kw: dict[str, Any], *, tag: str) -> Iterator[Emulated]:
    """Serve lab device ``name`` on 127.0.0.1:``port`` at its platform's clock, stopped however it ends."""
    device = lab_site().device(name)
    with serve_emulated(device, port=port, spec_kw=spec_kw, time_scale=TIME_SCALE[device.platform],
                        tag=tag) as emu:
        yield emu
