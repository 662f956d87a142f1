"""Which revert a VyOS router's commit-confirm will use: reload in place, or a reboot (pure).

``system config-management commit-confirm action reload`` exists from VyOS 1.5 on (vyos-1x PR #4128,
documented with "reload ... does not require a reboot"); before it, and by default after it, the timer
reboots the router. The driver sets ``reload`` before its first change when the router knows it, so the
plan can say what will happen before any change: ``reload`` when the router has it already or runs a
version that has it (``show version``: ``Version: VyOS 1.5-rolling-...``, ``1.5-stream-...``, or a rolling
release named by its date, ``2025.01.14-...`` [M]), ``reboot`` otherwise.
"""

from __future__ import annotations

import re

from egressctl_drivers.common.session import whole_minutes
from egressctl_drivers.vyos import constants as c
from egressctl_drivers.vyos.preflight import REBOOT_FIRES, RELOAD_FIRES

from egressctl.driver import NetDescription, SafetyNet

_VERSION_RE = re.compile(r"^Version:\s+VyOS\s+(\S+)", re.M)
_ACTION_RE = re.compile(r"commit-confirm action '?(\w+)'?")


def action_of(config_management: str) -> str:
    """The configured action (from ``show configuration commands | match config-management``), else reboot."""
    m = _ACTION_RE.search(config_management)
    return m.group(1) if m else "reboot"


def version_of(show_version: str) -> tuple[int, int] | None:
    """(major, minor) of ``show version``; a date-named rolling release is 1.5; None when unreadable."""
    m = _VERSION_RE.search(show_version)
    if m is None:
        return None
    head = re.split(r"[-.]", m.group(1))
    if not head[0].isdigit():
        return None
    if int(head[0]) >= 2000:
        return (1, 5)
    return (int(head[0]), int(head[1]) if len(head) > 1 and head[1].isdigit() else 0)


def knows_reload(version: tuple[int, int] | None) -> bool:
    """True when the version has ``commit-confirm action reload`` (1.5 and later)."""
    return version is not None and version >= (1, 5)


def planned(action: str, version: tuple[int, int] | None) -> str:
    """What the next commit-confirm does: ``reload`` (set already, or by egressctl first) or ``reboot``."""
    return c.RELOAD if action == c.RELOAD or knows_reload(version) else "reboot"


def describe(action: str, version: tuple[int, int] | None) -> NetDescription:
    """The safety net ``plan`` and ``check`` show for the router."""
    if planned(action, version) == c.RELOAD:
        note = "" if action == c.RELOAD else " (egressctl sets commit-confirm action reload first)"
        return NetDescription(SafetyNet.NATIVE_CONFIRM, RELOAD_FIRES + note)
    return NetDescription(SafetyNet.REBOOT_REVERT, REBOOT_FIRES)


def confirm_minutes(seconds: int) -> int:
    """``commit-confirm`` counts whole minutes: ``seconds`` rounded up, at least one."""
    return whole_minutes(seconds, c.CONFIRM_MIN_MINUTES, c.CONFIRM_MAX_MINUTES)
