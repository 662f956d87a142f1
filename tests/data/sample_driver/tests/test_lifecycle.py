"""The sample driver over real SSH against its emulator, through egressctl's public lifecycle suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_lab.testing.emulator import Emulated, available, serve_emulated
from egressctl_lab.testing.lifecycle import EmulatedLifecycleSuite

from egressctl.inventory.loader import load_inventory

SITE = Path(__file__).resolve().parent / "site.yaml"
#: Real seconds per device second: the suite's unconfirmed 3 s commit reverts after 0.15 s.
TIME_SCALE = 0.05

pytestmark = pytest.mark.skipif(not available("sample_acl"), reason="sample_acl emulator not installed")


@pytest.fixture(scope="module")
def emulated() -> Iterator[Emulated]:
    device = load_inventory(SITE).site("example").device("edge-1")
    with serve_emulated(device, time_scale=TIME_SCALE, tag="sample") as emu:  # port 0: any free port
        yield emu


class TestSampleAclLifecycle(EmulatedLifecycleSuite):
    inventory = SITE
    site_name = "example"
    revert_wait = 3 * TIME_SCALE  # the box counts its timer in device seconds

    def rejected_line(self, drv: Any) -> None:
        try:
            drv.configure(["acl egressctl", " permit tcp 10.0.0.300/32 any any any bad"])
        finally:
            drv.discard()
