"""ASA connections: kept on an ACL change, ended a destination at a time with ``clear conn``.

The ASA checks an ACL when a connection is set up only, so a cut leaves established connections running
(the vendor reference: "ACL evaluated only at connection setup; ``clear conn``"). ``show conn`` lists them;
:func:`egressctl_drivers.common.sessions.to_end` decides which the new policy denies. They are ended in
batches wherever :mod:`egressctl_drivers.common.session_batch` finds that safe: one ``clear conn [protocol
P] address N netmask M address D netmask M2 [port Q]`` per destination prefix (the first address/port pair
names the initiator's side, restricted to one IPv4 inside prefix; the second the responder's). Any other,
and every connection of an IPv6 inside prefix (``netmask`` is IPv4-only), is cleared by its own protocol,
addresses and ports as before, so no other connection can be hit. ``show conn`` afterwards says how many
went; a denied connection a batch left (an ASA reading the filter otherwise) is then cleared by its tuple.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from egressctl_drivers.cisco_asa import constants as c
from egressctl_drivers.common import session_batch as B
from egressctl_drivers.common import sessions as S

from egressctl.driver import SessionHandling, SessionReport
from egressctl.inventory.models import Device, Network
from egressctl.policy import Policy

#: Runs one exec command and returns its output.
Op = Callable[[str], str]
#: One batch clear: connections from an IPv4 inside prefix to a destination prefix (protocol, port).
CMD_CLEAR_FILTER = "clear conn{proto} address {src} netmask {smask} address {dst} netmask {dmask}{port}"


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


def single_command(s: S.Session) -> str:
    """``clear conn`` naming the whole tuple of ``s`` (both addresses only for a portless protocol)."""
    proto, src, sport, dst, dport = s.ref.split()
    if proto not in ("tcp", "udp"):
        return f"clear conn address {src} address {dst}"
    return c.CLEAR_CMD.format(proto=proto, src=src, sport=sport, dst=dst, dport=dport)


def filter_command(scope: Network, f: B.Filter) -> str:
    """The ``clear conn`` of one batch filter, its initiators restricted to the IPv4 prefix ``scope``."""
    return CMD_CLEAR_FILTER.format(
        proto=f" protocol {f.protocol}" if f.protocol is not None else "", src=scope.network_address,
        smask=scope.netmask, dst=f.dst.network_address, dmask=f.dst.netmask,
        port=f" port {f.dport}" if f.protocol is not None and f.dport is not None else "")


def commands(policy: Policy, device: Device, inside: Sequence[Network], listed: Sequence[S.Session],
             ended: Sequence[S.Session]) -> tuple[list[str], B.Plan]:
    """The clears ending ``ended``: batch filters per IPv4 inside prefix where safe, tuples otherwise.

    ``show conn`` lists every connection, so each prefix's guard holds every listed connection that is not
    to be ended (kept ones from other prefixes included), which only makes it stricter.
    """
    batch, out = B.Batcher(policy, B.avoided(inside, device.mgmt_address)), []
    for net in inside:
        mine = [s for s in ended if S.within(s.src, [net])]
        if net.version != 4 or not mine:
            continue
        p = batch.plan([net], [*mine, *B.kept_in(listed, ended)], mine)
        out += [filter_command(net, f) for f in p.filters] + [single_command(s) for s in p.singles]
    planned = batch.total()
    rest = [s for s in ended if s.tuple_key() not in batch.done]
    planned.singles += rest
    return out + [single_command(s) for s in rest], planned


def clear(op: Op, device: Device, policy: Policy, inside: Sequence[Network]) -> SessionReport:
    """End the connections from ``inside`` that ``policy`` denies; ``show conn`` afterwards counts them."""
    watch = S.Stopwatch()
    listed = parse_conns(op(c.CONN_CMD), device, inside)
    ended = S.to_end(policy, inside, listed)
    if not ended:
        return S.report(SessionHandling.KEPT, ended, 0, watch)
    todo, p = commands(policy, device, inside, listed, ended)
    for cmd in todo:
        op(cmd)
    after = parse_conns(op(c.CONN_CMD), device, inside)
    left = B.still_listed(ended, after)
    if left:
        for s in left:
            op(single_command(s))
        after = parse_conns(op(c.CONN_CMD), device, inside)
    cleared, note = B.outcome(ended, B.allowed_live(policy, inside, listed), after, p, len(left))
    return S.report(SessionHandling.KEPT, ended, cleared, watch, note)
