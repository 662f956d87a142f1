"""Persistence on EOS: a confirmed change is written to the startup-config, an unconfirmed one never is.

EOS runs its running-config and boots from its startup-config, so a cut that was only confirmed lasts until
the switch reloads and the site silently reconnects (issue 14, kind B). The driver therefore saves with
``copy running-config startup-config`` right after ``configure session egressctl commit``, never before:
while the commit timer runs, the startup-config keeps the last confirmed state, so a reload then drops the
unconfirmed change exactly as the timer would.

The copy saves the *whole* running configuration (EOS has no partial save): :func:`owned_view` keeps the
driver from saving when egressctl's own objects already match, so a re-run that changes nothing writes
nothing. Pure: what to compare and how to read the switch's answer; the driver sends the commands.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from egressctl_drivers.arista_eos import constants as c
from egressctl_drivers.arista_eos.parse import acl_blocks, bindings
from egressctl_drivers.common.persist import save_problem as save_problem_in

#: The same section of both configurations (every ACL and every interface binding one).
SECTION = "show {which} | section access-"
RUNNING, STARTUP = "running-config", "startup-config"
SAVE_CMD = "copy running-config startup-config"
#: EOS answers a successful copy with ``Copy completed successfully.`` (netmiko ``arista_eos`` relies on it).
SAVED_RE = re.compile(r"Copy completed successfully\.", re.M)
SAVE_FAILED_RE = re.compile(r"^\s*%.*$|^.*(?:[Ee]rror|[Nn]o space|failed).*$", re.M)
OWNED = frozenset({(4, c.ACL4), (6, c.ACL6)})

View = tuple[tuple[tuple[tuple[int, str], tuple[str, ...]], ...], tuple[tuple[str, tuple[str, ...]], ...]]


def owned_view(section: str) -> View:
    """What egressctl owns in one configuration: its ACLs (entries, remarks) and where they are bound."""
    blocks = tuple(sorted((k, tuple(v)) for k, v in acl_blocks(section).items() if k in OWNED))
    names = {name for _, name in OWNED}
    bound = tuple(sorted((i, tuple(sorted(f"{k} {v}" for k, v in g.items() if v in names)))
                         for i, g in bindings(section).items() if set(g.values()) & names))
    return blocks, bound


def differs(send: Callable[[str], str]) -> bool:
    """True when egressctl's objects in the startup-config are not those running (``send`` runs a show)."""
    return owned_view(send(SECTION.format(which=RUNNING))) != owned_view(send(SECTION.format(which=STARTUP)))


def save_problem(output: str) -> str:
    """Why the copy's ``output`` is not a successful save ("" when it is)."""
    return save_problem_in(output, failed=SAVE_FAILED_RE, saved=SAVED_RE,
                           unconfirmed="the switch did not confirm the copy: ")


#: The note for the journal when a save happened, and the one the plan shows.
SAVED_NOTE = f"saved to the startup-config ({SAVE_CMD})"
PLAN_NOTE = (f"persists on confirm: a confirmed change is saved with `{SAVE_CMD}` (the whole running-config, "
             "EOS has no partial save); an unconfirmed one never is, so a reload while the timer runs also "
             "undoes it")
