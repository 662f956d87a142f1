"""ASA connections: kept on an ACL change, ended one by one with ``clear conn``.

The ASA checks an ACL when a connection is set up only, so a cut leaves established connections running
(the vendor reference: "ACL evaluated only at connection setup; ``clear conn``"). ``show conn`` lists them;
:func:`egressctl_drivers.common.sessions.to_end` decides which the new policy denies, and each is cleared
by its own protocol, addresses and ports (``clear conn protocol tcp address A port P address B port Q``),
so no other connection can be hit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from egressctl_drivers.cisco_asa import constants as c
from egressctl_drivers.common import sessions as S

from egressctl.driver import SessionHandling, SessionReport
from egressctl.inventory.models import Device, Network
from egressctl.policy import Policy

#: Runs one exec command and returns its output.
Op = Callable[[str], str]


def _split(ep: str) -> tuple[str, str]:
    addr, _, port = ep.rpartition(":")
    return addr, port


def parse_conns(text: str, device: Device, inside: Sequence[Network]) -> list[S.Session]:
    """Connections of ``show conn``; the side whose address is inside is the initiator (egress)."""
    out: list[S.Session] = []
    for m in c.CONN_ROW_RE.finditer(text.replace("\r", "")):
        (a, pa), (b, pb) = _split(m.group("ep1")), _split(m.group("ep2"))
        if S.within(S.address(b), inside) and not S.within(S.address(a), inside):
            (a, pa), (b, pb) = (b, pb), (a, pa)
        egress = S.within(S.address(a), inside) and not S.within(S.address(b), inside)
        proto = m.group("proto").lower()
        ports = (pa, pb) if proto in ("tcp", "udp") else (None, None)
        out.append(S.make(f"{proto} {a} {pa} {b} {pb}", proto, a, b, ports[0], ports[1], live=True,
                          egress=egress))
    return out


def clear(op: Op, device: Device, policy: Policy, inside: Sequence[Network]) -> SessionReport:
    """End the connections from ``inside`` that ``policy`` denies, one ``clear conn`` each."""
    watch = S.Stopwatch()
    ended = S.to_end(policy, inside, parse_conns(op(c.CONN_CMD), device, inside))
    cleared = 0
    for s in ended:
        proto, src, sport, dst, dport = s.ref.split()
        if proto not in ("tcp", "udp"):
            cmd = f"clear conn address {src} address {dst}"
        else:
            cmd = c.CLEAR_CMD.format(proto=proto, src=src, sport=sport, dst=dst, dport=dport)
        cleared += bool(c.CLEARED_RE.search(op(cmd)))
    return S.report(SessionHandling.KEPT, ended, cleared, watch)
