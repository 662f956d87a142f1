"""``show security flow session [FILTERS]`` and ``clear security flow session all | FILTERS``.

Filters (Junos CLI reference): ``source-prefix P``, ``destination-prefix P``, ``source-port N``,
``destination-port N``, ``protocol NAME|N``, ``session-identifier N``, ``family inet|inet6``; several may be
combined and all must match. ``clear`` answers ``N active sessions cleared``.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from egressctl_lab.emu.juniper_junos import constants as c
from egressctl_lab.emu.juniper_junos.flows import lookup
from egressctl_lab.emu.juniper_junos.tree import JunosError, Tok, match_keyword
from egressctl_lab.emu.sessions import Crossing, Flow, crossings, delete_all

if TYPE_CHECKING:
    from egressctl_lab.emu.juniper_junos.device import JunosDevice

NAMES = {"icmpv6": "icmp6", "ipv6-icmp": "icmp6"}
NUMBERS = {"tcp": "6", "udp": "17", "icmp": "1", "icmp6": "58"}


def _filters(toks: list[Tok], end: int) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 0
    while i < len(toks):
        key = match_keyword(toks[i], c.SESSION_FILTERS)
        if i + 1 >= len(toks):
            raise JunosError(c.SYNTAX_EXPECTING.format(what="<data>"), end)
        out[key] = toks[i + 1].text
        i += 2
    return out


def _in_prefix(addr: str, prefix: str) -> bool:
    try:
        return ipaddress.ip_address(addr) in ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        raise JunosError(c.SYNTAX_ERROR, None) from None


def _matches(sid: int, flow: Flow, f: dict[str, str]) -> bool:
    proto = NAMES.get(flow.proto, flow.proto)
    plain = {"source-port": {str(flow.sport)}, "destination-port": {str(flow.dport)},
             "protocol": {proto, NUMBERS.get(proto, proto)}, "session-identifier": {str(sid)},
             "family": {"inet" if flow.family == 4 else "inet6"}}
    for key, value in f.items():
        if key in ("source-prefix", "destination-prefix"):
            if not _in_prefix(flow.src if key == "source-prefix" else flow.dst, value):
                return False
        elif value not in plain[key]:
            return False
    return True


def _chosen(dev: JunosDevice, toks: list[Tok], end: int) -> list[tuple[int, Crossing]]:
    wanted = _filters(toks, end)
    now = dev.clock.now()
    rows = [(dev.session_ids.of(x.flow, now), x) for x in crossings(dev.dataplane.sessions)]
    return [(sid, x) for sid, x in rows if _matches(sid, x.flow, wanted)]


def _entry(dev: JunosDevice, sid: int, x: Crossing) -> str:
    f = x.flow
    vendor = {kernel: name for name, kernel in dev.spec.interfaces.items()}
    if x.forwarded:
        assert x.iif is not None and x.oif is not None
        v = dev.bound.get(f) or lookup(dev.active, dev.spec.interfaces, f, x.iif, x.oif)
        policy, index = (v.policy, v.index) if v.policy else (c.DEFAULT_POLICY, 2)
    else:
        policy, index = c.SELF_POLICY, 1
    proto = NAMES.get(f.proto, f.proto)
    return c.SESSION_ENTRY.format(
        id=sid, policy=policy, index=index, timeout=min(f.timeout, c.SESSION_TIMEOUTS.get(proto, 60)),
        src=f.src, sport=f.sport or 0, dst=f.dst, dport=f.dport or 0, proto=proto,
        inif=vendor.get(x.iif or "", c.LOCAL_IF), outif=vendor.get(x.oif or "", c.LOCAL_IF),
    )


def show(dev: JunosDevice, toks: list[Tok], end: int) -> str:
    """``show security flow session [FILTERS]``."""
    chosen = _chosen(dev, toks, end)
    blocks = [_entry(dev, sid, x) for sid, x in chosen]
    return "".join(b + "\n\n" for b in blocks) + c.TOTAL_SESSIONS.format(n=len(chosen)) + "\n"


def clear(dev: JunosDevice, toks: list[Tok], end: int) -> str:
    """``clear security flow session all | FILTERS``."""
    if toks and toks[0].text.lower() == "all":
        if len(toks) > 1:
            raise JunosError(c.SYNTAX_ERROR, toks[1].pos)
        toks = []
    elif not toks:
        raise JunosError(c.SYNTAX_EXPECTING.format(what="<command>"), end)
    gone = delete_all(dev.dataplane.sessions, [x.flow for _, x in _chosen(dev, toks, end)])
    return c.SESSIONS_CLEARED.format(n=gone) + "\n"
