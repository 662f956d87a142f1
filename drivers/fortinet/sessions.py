"""FortiOS established sessions: what a policy change does to them, and ending the ones a cut denies.

FortiOS has no session identifier a clear command accepts: ``diagnose sys session clear`` ends every
session matching the CLI session's *filter*. So the sessions crossing the unit from an inside interface to
an outside one are listed per inside prefix (``filter sintf`` / ``dintf`` / ``src FROM TO``), decided on
by :func:`egressctl_drivers.common.sessions.to_end`. The denied ones are ended a destination at a time: one
filter per destination (prefix) within the listing's own scope (``sintf``, ``dintf``, ``src``; the criteria
AND together), then ``clear``, all in one batch of lines, wherever :mod:`egressctl_drivers.common.
session_batch` finds that safe; any other with a filter naming its whole 5-tuple, so nothing else can match.
The same listing afterwards says how many are gone (FortiOS prints no count) and that the allowed ones
stay. The filter is always cleared again before returning: an empty filter is what
turns ``diagnose sys session clear`` into "end every session".
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence

from egressctl_drivers.common import session_batch as B
from egressctl_drivers.common import sessions as S
from egressctl_drivers.common.session import NetmikoDriverBase
from egressctl_drivers.fortinet import constants as C

from egressctl.driver import SessionHandling, SessionReport
from egressctl.errors import CommandRejected
from egressctl.inventory.models import Network
from egressctl.policy import Policy


def handling(drv: NetmikoDriverBase) -> SessionHandling:
    """Read ``firewall-session-dirty`` (and, when it delegates, the policies' own setting)."""
    found = C.SESSION_DIRTY_RE.search(drv.send(C.GET_SETTINGS))
    mode = found.group(1) if found else C.SESSION_DIRTY_DEFAULT
    if mode == C.DIRTY_CHECK_NEW:
        return SessionHandling.KEPT
    if mode == C.DIRTY_POLICY_OPTION:
        policies = drv.send(C.SHOW_POLICY_DIRTY, check=False)
        return SessionHandling.KEPT if C.POLICY_CHECK_NEW_RE.search(policies) else SessionHandling.RECHECKED
    return SessionHandling.RECHECKED


def parse_list(text: str) -> list[S.Session]:
    """Sessions of ``diagnose sys session list`` / ``session6 list`` output (entries in any order)."""
    out: list[S.Session] = []
    for entry in re.split(r"(?m)^(?=session6? info:)", text):
        head, org = C.SESSION_HEAD_RE.search(entry), C.SESSION_ORG_RE.search(entry)
        if head is None or org is None:
            continue
        proto = C.PROTO_NAMES.get(head.group("proto"), head.group("proto"))
        state = re.search(r"^state=(.*)$", entry, re.M)
        local = state is not None and "local" in state.group(1).split()
        over = proto == "tcp" and head.group("state")[-1] in C.TCP_OVER
        src, dst, sport, dport = org.group("src", "dst", "sport", "dport")
        out.append(S.make("", proto, src, dst, sport, dport, live=not over, egress=not local))
    return out


def _span(net: Network) -> str:
    """``FROM TO`` of a prefix, as the ``src`` filter takes a range."""
    return f"{net.network_address} {net.broadcast_address}"


#: One listing scope: (family, inside prefix, inside interface, outside interface).
Scope = tuple[int, Network, str, str]


def scopes(drv: NetmikoDriverBase, families: dict[int, list[Network]]) -> list[Scope]:
    """Every (family, inside prefix, inside interface, outside interface) the sessions are listed by."""
    return [(family, net, sintf, dintf) for family, nets in families.items() for net in nets
            for sintf in drv.device.inside for dintf in drv.device.outside]


def scope_filter(scope: Scope) -> list[str]:
    """The filter of one listing scope, starting from clear."""
    cmd = C.SESSION_CMD[scope[0]]
    return [f"{cmd} filter clear", f"{cmd} filter sintf {scope[2]}", f"{cmd} filter dintf {scope[3]}",
            f"{cmd} filter src {_span(scope[1])}"]


def batch_filter(scope: Scope, f: B.Filter) -> list[str]:
    """The scope's filter narrowed to one batch filter's destination (protocol, port), then ``clear``."""
    cmd = C.SESSION_CMD[scope[0]]
    lines = [*scope_filter(scope), f"{cmd} filter dst {_span(f.dst)}"]
    if f.protocol is not None:
        lines.append(f"{cmd} filter proto {C.PROTO_NUMBERS.get(f.protocol, 58 if scope[0] == 6 else 1)}")
    lines += [f"{cmd} filter dport {f.dport}"] if f.dport is not None else []
    return [*lines, f"{cmd} clear"]


def exact_filter(session: S.Session) -> list[str]:
    """The filter naming one session's whole 5-tuple (then ``clear`` ends that session only)."""
    cmd = C.SESSION_CMD[session.family]
    number = C.PROTO_NUMBERS.get(session.protocol, 58 if session.family == 6 else 1)
    lines = [f"{cmd} filter clear", f"{cmd} filter proto {number}",
             f"{cmd} filter src {session.src}", f"{cmd} filter dst {session.dst}"]
    lines += [f"{cmd} filter sport {session.sport}"] if session.sport is not None else []
    lines += [f"{cmd} filter dport {session.dport}"] if session.dport is not None else []
    return lines


def _listed(drv: NetmikoDriverBase, every: list[Scope]) -> dict[Scope, list[S.Session]]:
    found: dict[Scope, list[S.Session]] = {}
    for scope in every:
        drv.send_config(scope_filter(scope))
        found[scope] = parse_list(drv.send(f"{C.SESSION_CMD[scope[0]]} list", check=False))
    return found


def _clears(drv: NetmikoDriverBase, policy: Policy, inside: Sequence[Network],
            listed: dict[Scope, list[S.Session]], ended: list[S.Session]) -> tuple[list[str], B.Plan]:
    """The lines ending ``ended`` (batch filters where safe, exact 5-tuples otherwise), and the plan."""
    batch, lines = B.Batcher(policy, B.avoided(inside, drv.device.mgmt_address)), []
    for scope, rows in listed.items():
        p = batch.plan([scope[1]], rows, ended)
        for f in p.filters:
            lines += batch_filter(scope, f)
        for s in p.singles:
            lines += [*exact_filter(s), f"{C.SESSION_CMD[s.family]} clear"]
    return lines, batch.total()


def clear(drv: NetmikoDriverBase, policy: Policy, inside: Sequence[Network]) -> SessionReport:
    """End the sessions from ``inside`` that ``policy`` denies; report how many the listing lost."""
    watch = S.Stopwatch()
    how = handling(drv)
    families = S.by_family(inside)
    every = scopes(drv, families)
    try:
        listed = _listed(drv, every)
        rows = [s for found in listed.values() for s in found]
        ended = S.to_end(policy, inside, rows)
        if not ended:
            return S.report(how, ended, 0, watch)
        lines, p = _clears(drv, policy, inside, listed, ended)
        with contextlib.suppress(CommandRejected):  # a refused filter: what it left goes by 5-tuple below
            drv.send_config(lines)
        used = [x for x in every if x[0] in {s.family for s in ended}]
        after = [s for found in _listed(drv, used).values() for s in found]
        left = B.still_listed(ended, after)
        if left:
            drv.send_config([x for s in left for x in (*exact_filter(s), f"{C.SESSION_CMD[s.family]} clear")])
            after = [s for found in _listed(drv, used).values() for s in found]
    finally:
        drv.send_config([f"{C.SESSION_CMD[f]} filter clear" for f in families])
    cleared, note = B.outcome(ended, B.allowed_live(policy, inside, rows), after, p, len(left))
    return S.report(how, ended, cleared, watch, note)
