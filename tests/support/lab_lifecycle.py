"""The public lifecycle suite (``egressctl_lab.testing.lifecycle``) bound to this repository's lab site.

Each built-in platform's live test subclasses :class:`LabEmulatedLifecycleSuite` (the device is an
emulator served by :mod:`tests.support.emulated_device`) or :class:`LabLifecycleSuite` (the real Linux
box of :mod:`tests.support.linux_box`): the policies come from ``inventory/lab.yaml``, set here once.
``at`` and ``make`` are the kit's, re-exported for the platform-specific tests.
"""

from __future__ import annotations

from egressctl_lab.testing.lifecycle import EmulatedLifecycleSuite, LifecycleSuite, at, make

from tests.support.labkit import LAB_YAML, lab_site

__all__ = ["LabEmulatedLifecycleSuite", "LabLifecycleSuite", "at", "lab_site", "make"]


class LabLifecycleSuite(LifecycleSuite):
    """The lifecycle on the lab site; a subclass provides ``device`` and ``secret``."""

    inventory = LAB_YAML
    site_name = "lab"


class LabEmulatedLifecycleSuite(EmulatedLifecycleSuite):
    """The lifecycle on the lab site against an emulator; a module provides the ``emulated`` fixture."""

    inventory = LAB_YAML
    site_name = "lab"
