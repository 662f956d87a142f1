"""FortiOS established sessions: what a policy change does to them, and ending the ones a cut denies.

FortiOS has no session identifier a clear command accepts: ``diagnose sys session clear`` ends every
session matching the CLI session's *filter*. So the sessions crossing the unit from an inside interface to
an outside one are listed per inside prefix (``filter sintf`` / ``dintf`` / ``src FROM TO``), decided on
by :func:`egressctl_drivers.common.sessions.to_end`, and each denied one is cleared with a filter that
names its whole 5-tuple, so nothing else can match. The same listing afterwards says how many are gone
(FortiOS prints no count). The filter is always cleared again before returning: an empty filter is what
turns ``diagnose sys session clear`` into "end every session".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from egressctl_drivers.common import sessions as S
from egressctl_drivers.common.session import NetmikoDriverBase
from egressctl_drivers.fortinet import constants as C

from egressctl.driver import SessionHandling, SessionReport
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


def listing_filters(drv: NetmikoDriverBase, family: int, nets: Sequence[Network]) -> list[list[str]]:
    """One filter per (inside prefix, inside interface, outside interface), each starting from clear."""
    cmd = C.SESSION_CMD[family]
    out: list[list[str]] = []
    for net in nets:
        for sintf in drv.device.inside:
            for dintf in drv.device.outside:
                out.append([f"{cmd} filter clear", f"{cmd} filter sintf {sintf}",
                            f"{cmd} filter dintf {dintf}", f"{cmd} filter src {_span(net)}"])
    return out


def exact_filter(session: S.Session) -> list[str]:
    """The filter naming one session's whole 5-tuple (then ``clear`` ends that session only)."""
    cmd = C.SESSION_CMD[session.family]
    number = C.PROTO_NUMBERS.get(session.protocol, 58 if session.family == 6 else 1)
    lines = [f"{cmd} filter clear", f"{cmd} filter proto {number}",
             f"{cmd} filter src {session.src}", f"{cmd} filter dst {session.dst}"]
    lines += [f"{cmd} filter sport {session.sport}"] if session.sport is not None else []
    lines += [f"{cmd} filter dport {session.dport}"] if session.dport is not None else []
    return lines


def _listed(drv: NetmikoDriverBase, inside: dict[int, list[Network]]) -> list[S.Session]:
    found: list[S.Session] = []
    for family, nets in inside.items():
        for lines in listing_filters(drv, family, nets):
            drv.send_config(lines)
            found += parse_list(drv.send(f"{C.SESSION_CMD[family]} list", check=False))
    return found


def clear(drv: NetmikoDriverBase, policy: Policy, inside: Sequence[Network]) -> SessionReport:
    """End the sessions from ``inside`` that ``policy`` denies; report how many the listing lost."""
    watch = S.Stopwatch()
    how = handling(drv)
    families = S.by_family(inside)
    try:
        ended = S.to_end(policy, inside, _listed(drv, families))
        for session in ended:
            drv.send_config([*exact_filter(session), f"{C.SESSION_CMD[session.family]} clear"])
        remaining: set[tuple[str, str, str, int | None, int | None]] = set()
        if ended:
            left = _listed(drv, {f: n for f, n in families.items() if any(s.family == f for s in ended)})
            remaining = {s.tuple_key() for s in left}
    finally:
        drv.send_config([f"{C.SESSION_CMD[f]} filter clear" for f in families])
    cleared = sum(1 for s in ended if s.tuple_key() not in remaining)
    return S.report(how, ended, cleared, watch)

