"""The sample driver against egressctl's public conformance suite (no device, no SSH).

Everything the suite needs is set here: the driver, the inventory and device, the box's read-back before
egressctl touched it, the golden folder and a model that computes the read-back after lines are applied
(the emulator's own configuration model: it knows the box, not the driver).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from egressctl_lab.testing.conformance import ModelContract
from sample_acl.acl import parse_state
from sample_acl.driver import SampleAclDriver
from sample_acl_emu import AclConfig

from egressctl.driver import DeviceState

HERE = Path(__file__).resolve().parent


class TestSampleAclContract(ModelContract):
    driver_cls = SampleAclDriver
    inventory = HERE / "site.yaml"
    site_name = "example"
    device_name = "edge-1"
    baseline = "hostname edge-1\n!"
    golden_dir = HERE / "golden"
    model = AclConfig.parse

    def parse(self, drv: Any, raw: str) -> DeviceState:
        return parse_state(raw, pending=False)
