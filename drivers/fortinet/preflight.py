"""What a FortiGate must offer before egressctl can cut it, checked read-only (``egressctl check``).

* **VDOM mode**: the driver drives a single-VDOM unit (``config firewall policy`` at the top level). With
  VDOMs enabled those commands need ``config vdom`` / ``edit NAME`` first, so every change would fail.
* **Save mode**: the dead-man switch is ``cfg-save revert``, set *for the whole unit* during a change and
  put back after ``execute cfg save``. With ``manual`` saving, other people's unsaved changes are saved by
  egressctl's confirm, or lost if the dead-man fires; a unit already in ``revert`` mode has a change armed
  by someone else (or runs that way), which egressctl's confirm would save and its rollback throw away.
* **What the dead-man does**: on a real FortiGate the revert *reboots* the unit to load its saved
  configuration (Fortinet KB FD30912), every member of an HA cluster included. The check says so, with the
  HA mode read from ``get system status``.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING

from egressctl_drivers.fortinet import constants as C
from egressctl_drivers.fortinet.savemode import RECORD, parse_record

from egressctl.check import CheckResult, Status, fail, ok, warn
from egressctl.errors import DeviceError

if TYPE_CHECKING:
    from egressctl_drivers.fortinet.driver import FortinetDriver

GET_STATUS = "get system status"
VDOM_RE = re.compile(r"^\s*Virtual domain configuration\s*:\s*(\S+)", re.M)
HA_RE = re.compile(r"^\s*Current HA mode\s*:\s*(.+?)\s*$", re.M)
#: ``Virtual domain configuration`` of a unit without VDOMs.
VDOM_DISABLED = "disable"
HA_STANDALONE = "standalone"


def vdom_check(status: str) -> CheckResult:
    """Single-VDOM units only (from ``get system status``)."""
    found = VDOM_RE.search(status)
    mode = found.group(1) if found else "unknown"
    if mode == VDOM_DISABLED:
        return ok("vdom-mode", "VDOMs disabled: policies are configured at the top level")
    return fail("vdom-mode", f"virtual domain configuration is {mode}: the driver drives a single-VDOM unit "
                "(its `config firewall ...` commands need `config vdom` / `edit NAME` here), so every change "
                "would fail; VDOM support is not implemented")


def save_mode_check(global_settings: str) -> CheckResult:
    """``cfg-save`` (from ``get system global``): the dead-man switch borrows it for the whole unit."""
    mode = C.CFG_SAVE_RE.search(global_settings)
    tmo = C.CFG_TIMEOUT_RE.search(global_settings)
    save = mode.group(1) if mode else C.CFG_SAVE_DEFAULT
    timeout = tmo.group(1) if tmo else C.CFG_TIMEOUT_DEFAULT
    if save == C.CFG_SAVE_DEFAULT:
        return ok("cfg-save", f"cfg-save {save}: egressctl sets `cfg-save revert` (timeout = --revert-in) "
                              "for the whole unit during a change, and puts it back after `execute cfg save`")
    if save == C.CFG_SAVE_REVERT:
        return fail("cfg-save", f"cfg-save is already revert (timeout {timeout} s): a change armed by "
                    "someone else, or a unit run that way; egressctl's confirm (`execute cfg save`) would "
                    "save it and its rollback (`execute cfg reload`) throw it away; save or reload it first")
    return warn("cfg-save", f"cfg-save {save}: unsaved changes made by others are saved by egressctl's "
                "confirm (`execute cfg save`), or lost if its dead-man fires; save them before a cut")


def left_by_egressctl(global_settings: str, autoscripts: str) -> CheckResult | None:
    """Revert mode that an interrupted egressctl change left (its record is on the unit), if so."""
    mode = C.CFG_SAVE_RE.search(global_settings)
    original = parse_record(autoscripts)
    if original is None or mode is None or mode.group(1) != C.CFG_SAVE_REVERT:
        return None
    return warn("cfg-save", f"cfg-save revert left by an interrupted egressctl change (auto-script {RECORD} "
                f"records cfg-save {original.mode}, cfg-revert-timeout {original.timeout}): the next "
                "isolate or restore confirms or rolls back that change and gives the save mode back")


def effect(status: str) -> str:
    """What the dead-man switch does when it fires, for this unit's HA mode."""
    found = HA_RE.search(status)
    ha = found.group(1) if found else "unknown"
    who = "the unit" if ha == HA_STANDALONE else f"every member of the HA cluster (HA mode {ha})"
    return (f"reboots {who} to load the saved configuration (FortiOS cfg-save revert, KB FD30912): "
            "traffic stops during the reboot and unsaved changes of anyone are lost")


def safety_net_check(status: str) -> CheckResult:
    """How the dead-man switch works on FortiOS and what it does when it fires."""
    return ok("safety-net", "`cfg-save revert` with `cfg-revert-timeout`; confirmed with `execute cfg save`",
              effect(status))


def preflight(drv: FortinetDriver) -> list[CheckResult]:
    """FortiOS prerequisites, read-only: no VDOMs, the save mode, and what the revert does (HA)."""
    status = drv.send(GET_STATUS)
    found = [vdom_check(status)]
    if found[0].status == Status.OK:  # with VDOMs, `get system global` needs `config global` first
        settings = drv.send(C.GET_GLOBAL)
        left = None
        if C.CFG_SAVE_RE.search(settings) and C.CFG_SAVE_REVERT in settings:
            left = left_by_egressctl(settings, drv.send(C.SHOW_AUTOSCRIPT, check=False))
        found.append(left or save_mode_check(settings))
    described = getattr(drv, "net_description", None)  # a driver that picks its net per unit says which
    if described is not None:
        with contextlib.suppress(DeviceError):
            net = described()
            return [*found, ok("safety-net", str(net.net.value), str(net.on_fire))]
    return [*found, safety_net_check(status)]
