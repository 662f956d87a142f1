"""RouterOS established sessions: ``/ip firewall connection`` (and ``/ipv6``), listed and removed one by one.

With the default configuration's FastTrack rule a connection that is established and fasttracked skips
the filter altogether, so a cut keeps it (``kept``) until its connection entry is removed; without one every
packet meets egressctl's chain (placed above the ``accept established`` rule) and nothing survives.
Entries are listed with ``print terse without-paging`` (the shape ntc-templates parse: ``protocol=
src-address= src-port= dst-address= dst-port= ...``) and each denied one is removed by its whole tuple
(``remove [find where ...]``), never all at once, which would end the management sessions too. A session
leaves the site when its destination is outside every inside prefix and is not the router itself
(RouterOS lists no interfaces) [M: on some versions src-address carries the port as ``A:P``; both read].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from egressctl_drivers.common import sessions as S
from egressctl_drivers.mikrotik_routeros import constants as c
from egressctl_drivers.mikrotik_routeros.parse import filters, props
from egressctl_drivers.mikrotik_routeros.render import q

from egressctl.driver import SessionHandling, SessionReport
from egressctl.inventory.models import Device, Network
from egressctl.policy import Policy

Run = Callable[[str], str]
_OVER = frozenset({"time-wait", "close", "fin-wait", "last-ack", "close-wait"})


def handling(raw: str) -> SessionHandling:
    """Kept when an IPv4 FastTrack rule exists; else every packet meets egressctl's chain."""
    fast = any(r.get("action") == "fasttrack-connection" for rules in filters(raw).values() for r in rules)
    return SessionHandling.KEPT if fast else SessionHandling.STATELESS


def _split(addr: str, port: str | None) -> tuple[str, str | None]:
    if port is None and addr.count(":") == 1:  # IPv4 "A:P"
        a, _, p = addr.partition(":")
        return a, p
    if port is None and addr.startswith("["):  # IPv6 "[A]:P"
        a, _, p = addr[1:].partition("]:")
        return a, p
    return addr, port


def parse_listing(text: str, device: Device, inside: Sequence[Network]) -> list[S.Session]:
    """Sessions of a ``print terse`` listing; ``ref`` is the ``find where`` condition naming it."""
    own = {str(device.mgmt_address)} if device.mgmt_address else set()
    out: list[S.Session] = []
    for line in text.replace("\r", "").splitlines():
        if "protocol=" not in line:
            continue
        p = props(line[line.index("protocol="):])
        src, sport = _split(p.get("src-address", ""), p.get("src-port"))
        dst, dport = _split(p.get("dst-address", ""), p.get("dst-port"))
        proto = p.get("protocol", "")
        proto = "icmp" if proto in ("icmpv6", "ipv6-icmp") else proto
        try:
            s = S.make("", proto, src, dst, sport, dport,
                       live=p.get("tcp-state", "established") not in _OVER)
        except ValueError:
            continue
        where = [f"protocol={p.get('protocol', '')}", f"src-address={q(p.get('src-address', ''))}",
                 f"dst-address={q(p.get('dst-address', ''))}"]
        where += [f"src-port={sport}"] if "src-port" in p else []
        where += [f"dst-port={dport}"] if "dst-port" in p else []
        egress = not S.within(s.dst, inside) and str(s.dst) not in own
        out.append(S.Session(" ".join(where), s.protocol, s.src, s.dst, s.sport, s.dport, s.live, egress))
    return out


def clear(run: Run, raw: str, device: Device, policy: Policy, inside: Sequence[Network]) -> SessionReport:
    """Remove the connection entries from ``inside`` that ``policy`` denies; each is counted when it went."""
    watch = S.Stopwatch()
    how = handling(raw)
    listed: list[S.Session] = []
    for fam in sorted(S.by_family(inside)):
        listed += parse_listing(run(f"{c.CONN_MENU[fam]} print terse without-paging"), device, inside)
    ended = S.to_end(policy, inside, listed)
    cleared = 0
    for s in ended:
        menu = c.CONN_MENU[s.family]
        run(f"{menu} remove [find where {s.ref}]")
        if not parse_listing(run(f"{menu} print terse without-paging where {s.ref}"), device, inside):
            cleared += 1
    note = "" if how is SessionHandling.KEPT else "no FastTrack: every packet met egressctl's chain already"
    return S.report(how, ended, cleared, watch, note)
