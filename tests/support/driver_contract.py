"""The public driver conformance suite (``egressctl_lab.testing.conformance``) bound to this repository.

The built-in drivers' unit tests subclass :class:`LabDriverContract` or :class:`LabModelContract`: the lab
site of ``inventory/lab.yaml`` and the golden renders in ``tests/golden/<platform>/`` are set here once;
each platform's test sets ``driver_cls``, ``device_name`` and ``baseline`` (and ``model`` or the read-back
methods), as the kit's documentation says a plugin author would.

Every render here runs inside an operation stamped :data:`STAMP` (what the executor publishes), so the golden
files show the marker as devices get it; :class:`StampContract` checks that the stamp reads back and never
makes a device at its target look changed (another controller's, or no, stamp).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_lab.testing.conformance import DriverContract, ModelContract

from egressctl.driver import OperationContext, Stamp, operation_context
from egressctl.inventory.models import Site
from egressctl.policy import compute_policy
from tests.support.labkit import LAB_YAML, lab_site

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
STAMP = Stamp("20250301-093000-a1b2c3", "ops@controller-1")
OTHER = Stamp("20250301-101500-d4e5f6", "cert@laptop-2")

__all__ = ["GOLDEN", "STAMP", "LabDriverContract", "LabModelContract", "lab_site"]


class StampContract(DriverContract):
    """The marker's operation stamp: read back, and ignored when deciding whether a device is there."""

    @pytest.fixture(autouse=True)
    def _stamped(self) -> Iterator[None]:
        with operation_context(OperationContext(stamp=STAMP)):
            yield

    def test_stamp_reads_back(self, drv: Any, site: Site, target: str) -> None:
        """The operation id and owner written with the change are what a second controller reads."""
        state = self.state_at(drv, compute_policy(site, target))
        assert (state.op_id, state.owner) == (STAMP.op_id, STAMP.owner)

    @pytest.mark.parametrize("other", [OTHER, None], ids=["other-stamp", "no-stamp"])
    def test_stamp_never_makes_a_change(self, drv: Any, site: Site, target: str, other: Stamp | None) -> None:
        """A device at its target under another operation's stamp renders nothing (``plan`` has none)."""
        policy = compute_policy(site, target)
        state = self.state_at(drv, policy)
        with operation_context(OperationContext(stamp=other)):
            assert drv.render(policy, state) == []


class LabDriverContract(StampContract):
    """The conformance suite on the lab site, with this repository's golden files."""

    inventory = LAB_YAML
    site_name = "lab"
    golden_dir = GOLDEN


class LabModelContract(StampContract, ModelContract):
    """:class:`LabDriverContract` for a platform whose read-back a pure text model computes."""

    inventory = LAB_YAML
    site_name = "lab"
    golden_dir = GOLDEN
