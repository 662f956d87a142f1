"""Saving a confirmed change to the startup configuration: the steps the IOS-like drivers share.

IOS, EOS and the ASA run their running configuration and boot from the startup one, so a cut that was only
confirmed would be lost at the next reload and the site would silently reconnect (issue 14, kind B). Each
of these drivers saves right after its confirm, never before, and reads the device's answer to the save.
What differs per platform is data (the save command, the regexes of a good and a failed answer, the words
of the message) and what egressctl owns in a configuration: both stay in each platform's ``persist.py``.
What is the same (reading the answer, sending the save with errors translated, a confirm that must not
fail because the save did) lives here, as plain functions each driver calls by name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from egressctl_drivers.common.errors import map_netmiko_errors

from egressctl.errors import DeviceError
from egressctl.inventory.credentials import redact

if TYPE_CHECKING:
    from egressctl_drivers.common.session import NetmikoDriverBase


def save_problem(output: str, *, failed: re.Pattern[str], saved: re.Pattern[str], unconfirmed: str) -> str:
    """Why a save's ``output`` is not a successful save ("" when it is).

    A line matching ``failed`` is the device's own complaint and is returned as it is; otherwise an answer
    without the ``saved`` confirmation is a failure too (``unconfirmed`` then the tail of the output), so a
    save is only ever believed when the device said it was done.
    """
    bad = failed.search(output)
    if bad is not None:
        return bad.group(0).strip()
    if saved.search(output) is None:
        return unconfirmed + (" ".join(output.split())[-160:] or "(no output)")
    return ""


def write_startup(drv: NetmikoDriverBase, command: str, problem: Callable[[str], str]) -> None:
    """Send the save ``command`` (netmiko's ``save_config``); ``DeviceError`` unless ``problem`` says ""."""
    with map_netmiko_errors(drv.device.name, command):
        out = redact(str(drv.conn.save_config(cmd=command)))
    found = problem(out)
    if found:
        raise DeviceError(drv.device.name, f"{command} failed", device_output=found)


def save_confirmed(save: Callable[[], None], device: str, log: logging.Logger) -> None:
    """Run ``save`` right after a confirm; a failure is logged, never raised.

    The change is confirmed and live whatever the save does, so a failure must not undo it (rolling back a
    confirmed cut would reopen the site): it is left to the driver's ``ensure_saved``, which retries once
    and reports it, and the operation ends as needing attention.
    """
    try:
        save()
    except DeviceError as exc:
        log.warning("%s: confirmed but not saved: %s", device, exc)


def slow_show(drv: NetmikoDriverBase) -> Callable[[str], str]:
    """A ``send`` for reading whole configurations (at least 60 s: a large startup-config is slow)."""
    return lambda command: drv.send(command, read_timeout=max(drv.timeout, 60))
