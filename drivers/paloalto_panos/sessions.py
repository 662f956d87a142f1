"""PAN-OS established sessions: the Rematch Sessions setting, and ending the sessions a cut denies.

With Rematch Sessions on (the default) a commit re-applies the new rulebase to existing sessions, so a cut
ends them by itself; with it off they stay. Either way the sessions crossing from each inside zone to each
outside zone are listed (``show session all filter from A to B``) and decided on by
:func:`egressctl_drivers.common.sessions.to_end`. The denied ones are ended a destination at a time
(``clear session all filter from A to B destination IP [protocol N destination-port N]``; the documented
``destination`` takes an address, so no prefixes) wherever :mod:`egressctl_drivers.common.session_batch`
finds that safe, else each by its own id (``clear session id N``). The listing afterwards says how many
went and that the allowed ones are still there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from egressctl_drivers.common import session_batch as B
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


#: One clear per destination address within one zone pair (the protocol by number).
CMD_CLEAR_FILTER = "clear session all filter from {inside} to {outside} destination {dst}{more}"
NUMBERS = {"tcp": 6, "udp": 17}


def filter_command(zones: tuple[str, str], f: B.Filter) -> str:
    """The PAN-OS clear of one batch filter (one destination address) within a zone pair."""
    more = ""
    if f.protocol is not None:
        more += f" protocol {NUMBERS.get(f.protocol, 58 if f.dst.version == 6 else 1)}"
    more += f" destination-port {f.dport}" if f.dport is not None else ""
    return CMD_CLEAR_FILTER.format(inside=zones[0], outside=zones[1], dst=f.dst.network_address, more=more)


def _listed(op: Op, device: Device) -> dict[tuple[str, str], list[S.Session]]:
    return {(zin, zout): parse_sessions(op(C.CMD_SESSIONS.format(inside=zin, outside=zout)), device)
            for zin in device.inside for zout in device.outside}


def clear(op: Op, device: Device, policy: Policy, inside: Sequence[Network]) -> SessionReport:
    """End the sessions from ``inside`` that ``policy`` denies: batch filters where safe, else by id."""
    watch = S.Stopwatch()
    how = handling(op)
    listed = _listed(op, device)
    every = [s for rows in listed.values() for s in rows]
    ended = S.to_end(policy, inside, every)
    if not ended:
        return S.report(how, ended, 0, watch)
    batch = B.Batcher(policy, B.avoided(inside, device.mgmt_address), widen=False)
    for zones, rows in listed.items():
        p = batch.plan([], rows, ended)
        for f in p.filters:
            op(filter_command(zones, f))
        for s in p.singles:
            op(C.CMD_CLEAR.format(id=s.ref))
    after = [s for rows in _listed(op, device).values() for s in rows]
    left = B.still_listed(ended, after)
    if left:
        for s in left:
            op(C.CMD_CLEAR.format(id=s.ref))
        after = [s for rows in _listed(op, device).values() for s in rows]
    cleared, note = B.outcome(ended, B.allowed_live(policy, inside, every), after, batch.total(), len(left))
    return S.report(how, ended, cleared, watch, note)
