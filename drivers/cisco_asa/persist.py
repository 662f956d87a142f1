"""Persistence on the ASA: a confirmed change is written with ``write memory``, an unconfirmed one never is.

The ASA runs its running configuration and boots from the startup configuration, so a cut that was only
confirmed would last until the next reload (issue 14, kind B). The driver saves right after the confirm,
never before: while the revert job waits, the startup configuration keeps the last confirmed state, so a
reload then drops the unconfirmed change exactly as the job would. ``write memory`` saves the whole running
configuration: :func:`differs` keeps the driver from saving when egressctl's own objects already match.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from egressctl_drivers.cisco_asa.parse import owned
from egressctl_drivers.common.persist import save_problem as save_problem_in

SAVE_CMD = "write memory"
RUNNING, STARTUP = "show running-config", "show startup-config"
#: ``write memory`` ends with ``[OK]`` (Command Reference; netmiko ``cisco_asa`` ``save_config``).
SAVED_RE = re.compile(r"^\s*\[OK\]\s*$", re.M)
SAVE_FAILED_RE = re.compile(r"^\s*(?:ERROR:|%).*$|^.*(?:[Ee]rror|[Nn]o space|failed).*$", re.M)


def view(text: str) -> tuple[object, ...]:
    """What egressctl owns in one configuration (groups, ACL lines, bindings)."""
    found = owned(text)
    return (sorted(found.groups.items()), sorted(found.acls.items()), sorted(found.bindings.items()))


def differs(send: Callable[[str], str]) -> bool:
    """True when egressctl's objects in the startup configuration are not those running."""
    return view(send(RUNNING)) != view(send(STARTUP))


def save_problem(output: str) -> str:
    """Why ``write memory``'s ``output`` is not a successful save ("" when it is)."""
    return save_problem_in(output, failed=SAVE_FAILED_RE, saved=SAVED_RE,
                           unconfirmed="the ASA did not confirm the save: ")


SAVED_NOTE = f"saved to the startup configuration ({SAVE_CMD})"
PLAN_NOTE = (f"persists on confirm: a confirmed change is saved with `{SAVE_CMD}` (the whole running "
             "configuration); an unconfirmed one never is, so a reload while the revert waits also undoes it")
