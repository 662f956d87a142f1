"""PAN-OS established sessions: the Rematch Sessions setting, and ending the sessions a cut denies.

With Rematch Sessions on (the default) a commit re-applies the new rulebase to existing sessions, so a cut
ends them by itself; with it off they stay. Either way the sessions crossing from each inside zone to each
outside zone are listed (``show session all filter from A to B``), decided on by
:func:`egressctl_drivers.common.sessions.to_end`, and each denied one is cleared by its own id (``clear
session id N``), so no other session can be hit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from egressctl_drivers.common import sessions as S
from egressctl_drivers.paloalto_panos import constants as C

from egressctl.driver import SessionHandling, SessionReport
from egressctl.inventory.models import Device, Network
from egressctl.policy import Policy

#: Runs one operational command and returns its output (the driver's ``_op``: ``run ...`` from configure).
Op = Callable[[str], str]


def handling(op: Op) -> SessionHandling:
    """Rematch Sessions: re-checked unless ``rematch-sessions no`` is configured."""
    return SessionHandling.KEPT if C.REMATCH_OFF_RE.search(op(C.CMD_REMATCH)) else SessionHandling.RECHECKED


def parse_sessions(text: str, device: Device) -> list[S.Session]:
    """Sessions of ``show session all`` output; ``egress`` from the zones printed on each row."""
    out: list[S.Session] = []
    for m in C.SESSION_ROW_RE.finditer(text):
        proto = C.PROTO_NAMES.get(m.group("proto"), m.group("proto"))
        out.append(S.make(m.group("id"), proto, m.group("src"), m.group("dst"), m.group("sport"),
                          m.group("dport"), live=m.group("state") not in C.STATES_OVER,
                          egress=m.group("szone") in device.inside and m.group("dzone") in device.outside))
    return out


def clear(op: Op, device: Device, policy: Policy, inside: Sequence[Network]) -> SessionReport:
    """End the sessions from ``inside`` that ``policy`` denies, one ``clear session id`` each."""
    watch = S.Stopwatch()
    how = handling(op)
    listed: list[S.Session] = []
    for zin in device.inside:
        for zout in device.outside:
            listed += parse_sessions(op(C.CMD_SESSIONS.format(inside=zin, outside=zout)), device)
    ended = S.to_end(policy, inside, listed)
    cleared = sum(1 for s in ended if C.CLEARED_RE.search(op(C.CMD_CLEAR.format(id=s.ref))))
    return S.report(how, ended, cleared, watch)
