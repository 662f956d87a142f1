"""The public driver conformance suite (``egressctl_lab.testing.conformance``) bound to this repository.

The built-in drivers' unit tests subclass :class:`LabDriverContract` or :class:`LabModelContract`: the lab
site of ``inventory/lab.yaml`` and the golden renders in ``tests/golden/<platform>/`` are set here once;
each platform's test sets ``driver_cls``, ``device_name`` and ``baseline`` (and ``model`` or the read-back
methods), as the kit's documentation says a plugin author would.
"""

from __future__ import annotations

from pathlib import Path

from egressctl_lab.testing.conformance import DriverContract, ModelContract
from labkit import LAB_YAML, lab_site

GOLDEN = Path(__file__).resolve().parents[1] / "golden"

__all__ = ["GOLDEN", "LabDriverContract", "LabModelContract", "lab_site"]


class LabDriverContract(DriverContract):
    """The conformance suite on the lab site, with this repository's golden files."""

    inventory = LAB_YAML
    site_name = "lab"
    golden_dir = GOLDEN


class LabModelContract(ModelContract):
    """:class:`LabDriverContract` for a platform whose read-back a pure text model computes."""

    inventory = LAB_YAML
    site_name = "lab"
    golden_dir = GOLDEN
