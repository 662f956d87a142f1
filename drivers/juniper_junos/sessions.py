"""Junos (SRX) established sessions: kept across a cut, listed and cleared one session id at a time.

An SRX keeps established sessions when policies change; ``policy-rematch`` only re-checks the sessions of
*modified or deleted* policies, and a cut inserts egressctl's policies above the site's untouched ones, so
the site's sessions stay either way (:data:`.constants.CMD_REMATCH`). The sessions of each inside prefix
are listed (``show security flow session source-prefix P``), kept to those entering an inside zone and
leaving by an outside zone (the zones' interfaces come from the configuration), decided on by
:func:`egressctl_drivers.common.sessions.to_end`, and each denied one is cleared by its own session
identifier. ``clear security flow session source-prefix`` alone would also end the operators' own SSH
session and the always-allowed flows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from egressctl_drivers.common import session_batch as B
from egressctl_drivers.common import sessions as S
from egressctl_drivers.juniper_junos import constants as c

from egressctl.driver import SessionHandling, SessionReport
from egressctl.errors import CommandRejected
from egressctl.inventory.models import Device, Network
from egressctl.policy import Policy

#: Runs one operational-mode command and returns its output.
Run = Callable[[str], str]


def rematch(run: Run) -> str:
    """``policy-rematch`` as configured: ``""`` (off), ``"on"`` or ``"extensive"``."""
    out = run(c.CMD_REMATCH)
    if f"{c.REMATCH_SET} extensive" in out:
        return "extensive"
    return "on" if c.REMATCH_SET in out else ""


def handling(run: Run) -> tuple[SessionHandling, str]:
    """Always kept for a cut (see the module docstring); the note says what ``policy-rematch`` would do."""
    mode = rematch(run)
    note = (f"policy-rematch {mode} re-checks only sessions of modified policies, not those of the site's "
            "untouched ones" if mode else "policy-rematch is off")
    return SessionHandling.KEPT, note


def zone_of_interfaces(text: str) -> dict[str, str]:
    """Interface -> zone from ``show configuration security zones | display set | match interfaces``."""
    out: dict[str, str] = {}
    for m in c.ZONE_IF_RE.finditer(text):
        name = m.group("ifname")
        for alias in (name, name.removesuffix(".0"), name if "." in name else f"{name}.0"):
            out[alias] = m.group("zone")
    return out


def parse_sessions(text: str, device: Device, zones: dict[str, str]) -> list[S.Session]:
    """Sessions of ``show security flow session`` output; ``egress`` from their interfaces' zones."""
    out: list[S.Session] = []
    for m in c.SESSION_RE.finditer(text):
        proto = c.PROTO_NAMES.get(m.group("proto").lower(), m.group("proto").lower())
        egress = zones.get(m.group("inif")) in device.inside and zones.get(m.group("outif")) in device.outside
        out.append(S.make(m.group("id"), proto, m.group("src"), m.group("dst"), m.group("sport"),
                          m.group("dport"), egress=egress))
    return out


def cleared_count(text: str) -> int:
    """The count in ``N active sessions cleared`` (summed over cluster nodes)."""
    return sum(int(n) for n in c.CLEARED_RE.findall(text))


#: One clear per destination (prefix), within one inside prefix; the protocol by number (ICMPv6 is 58).
CMD_CLEAR_FILTER = "clear security flow session source-prefix {scope} destination-prefix {dst}{more}"
NUMBERS = {"tcp": 6, "udp": 17}


def filter_command(scope: Network, f: B.Filter) -> str:
    """The Junos clear of one batch filter, restricted to the inside prefix ``scope``."""
    more = ""
    if f.protocol is not None:
        more += f" protocol {NUMBERS.get(f.protocol, 58 if f.dst.version == 6 else 1)}"
    more += f" destination-port {f.dport}" if f.dport is not None else ""
    return CMD_CLEAR_FILTER.format(scope=scope, dst=f.dst, more=more)


def _listed(run: Run, device: Device, inside: Sequence[Network], zones: dict[str, str]) -> dict[
        Network, list[S.Session]]:
    return {net: parse_sessions(run(c.CMD_SESSIONS.format(prefix=net)), device, zones) for net in inside}


def clear(run: Run, device: Device, policy: Policy, inside: Sequence[Network]) -> SessionReport:
    """End the sessions from ``inside`` that ``policy`` denies: batch filters where safe, else by id."""
    watch = S.Stopwatch()
    how, note = handling(run)
    zones = zone_of_interfaces(run(c.CMD_ZONES))
    listed = _listed(run, device, inside, zones)
    every = [s for rows in listed.values() for s in rows]
    ended = S.to_end(policy, inside, every)
    if not ended:
        return S.report(how, ended, 0, watch, note)
    batch = B.Batcher(policy, B.avoided(inside, device.mgmt_address))
    with contextlib.suppress(CommandRejected):  # a refused filter: what it left is cleared by id below
        for net, rows in listed.items():
            p = batch.plan([net], rows, ended)
            for f in p.filters:
                run(filter_command(net, f))
            for s in p.singles:
                run(c.CMD_CLEAR.format(id=s.ref))
    after = [s for rows in _listed(run, device, inside, zones).values() for s in rows]
    left = B.still_listed(ended, after)
    if left:
        for s in left:
            run(c.CMD_CLEAR.format(id=s.ref))
        after = [s for rows in _listed(run, device, inside, zones).values() for s in rows]
    cleared, done = B.outcome(ended, B.allowed_live(policy, inside, every), after, batch.total(), len(left))
    return S.report(how, ended, cleared, watch, f"{done}; {note}")
