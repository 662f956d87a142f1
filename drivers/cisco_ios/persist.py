"""Persistence on IOS: a confirmed change is written to the startup-config, an unconfirmed one never is.

IOS runs its running-config and boots from its startup-config: a line typed is live at once and lost at
the next reload unless ``write memory`` (``copy running-config startup-config``) saves it. So a cut that
was only confirmed lasts until the router reboots (a power cut, a crash, an upgrade) and the site silently
reconnects. egressctl therefore saves right after ``configure confirm`` (and after removing its own archive
path on the way back to normal), never before: while the revert timer is armed, the startup-config keeps
the last confirmed state, so a reboot then drops the unconfirmed change exactly as the timer would.

``write memory`` saves the *whole* running configuration: lines someone else typed and did not save are
saved with egressctl's. That is IOS's own model (there is no partial save); :func:`owned_view` keeps
egressctl from saving when its own objects already match, so a re-run that changes nothing writes nothing.

This module is pure (what to compare, how to read the router's answer); the driver sends the commands.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from egressctl_drivers.cisco_ios import constants as c
from egressctl_drivers.cisco_ios.parse import acl_blocks, bindings, owned_names, shut
from egressctl_drivers.common.persist import save_problem as save_problem_in

#: Sections read from both configurations to compare what egressctl owns (same filters, same order).
ACLS = "show {which} | section access-list"
BINDINGS = "show {which} | include ^interface |access-group|traffic-filter|^ shutdown"
RUNNING, STARTUP = "running-config", "startup-config"
SAVE_CMD = "write memory"
#: IOS ends a successful save with ``[OK]`` on a line of its own ("Building configuration...", "[OK]").
SAVED_RE = re.compile(r"^\s*\[OK\]\s*$", re.M)
#: What IOS prints when it cannot write NVRAM (Cisco IOS Configuration Fundamentals: "copy", "write").
SAVE_FAILED_RE = re.compile(r"^\s*%.*$|^.*(?:[Ee]rror|NVRAM|[Nn]ot enough space|failed).*$", re.M)
OWNED = frozenset((*owned_names(4), *owned_names(6)))

View = tuple[tuple[tuple[str, tuple[str, ...]], ...], tuple[tuple[tuple[str, str], tuple[str, ...]], ...],
             tuple[str, ...]]


def owned_view(acls: str, binds: str, uplinks: tuple[str, ...] = ()) -> View:
    """What egressctl owns in one configuration: its ACLs, where they are bound, which uplinks are shut.

    ``uplinks`` are those of a switch in mode shutdown-uplink, where the shut is the cut.

    Two configurations with equal views hold the same egressctl state, whatever else differs between them
    (site lines nobody saved are none of egressctl's business).
    """
    blocks = tuple(sorted((n, tuple(lines)) for n, lines in acl_blocks(acls).items() if n in OWNED))
    bound = tuple(sorted((i, tuple(sorted(names & OWNED))) for i, names in bindings(binds).items()
                         if names & OWNED))
    return blocks, bound, tuple(sorted(shut(binds) & set(uplinks)))


def differs(send: Callable[[str], str], uplinks: tuple[str, ...] = ()) -> bool:
    """True when egressctl's objects in the startup-config are not those running (``send`` runs a show)."""
    def view(which: str) -> View:
        return owned_view(send(ACLS.format(which=which)), send(BINDINGS.format(which=which)), uplinks)

    return view(RUNNING) != view(STARTUP)


def save_problem(output: str) -> str:
    """Why ``write memory``'s ``output`` is not a successful save ("" when it is)."""
    return save_problem_in(output, failed=SAVE_FAILED_RE, saved=SAVED_RE,
                           unconfirmed="the router did not answer [OK]: ")


#: The note a driver adds to the step that saved (for the journal), and the one the plan shows.
SAVED_NOTE = f"saved to the startup-config ({SAVE_CMD})"
PLAN_NOTE = (f"persists on confirm: a confirmed change is saved with `{SAVE_CMD}` (the whole running-config, "
             "IOS has no partial save); an unconfirmed one never is, so a reboot while the timer runs also "
             "undoes it")
ARCHIVE_NOTE = f"egressctl's archive path ({c.ARCHIVE_PATH}) is saved with it until the full restore"
