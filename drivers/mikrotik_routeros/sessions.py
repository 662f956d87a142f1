r"""RouterOS established sessions: ``/ip firewall connection`` (and ``/ipv6``), listed and removed in batches.

With the default configuration's FastTrack rule a connection that is established and fasttracked skips
the filter altogether, so a cut keeps it (``kept``) until its connection entry is removed; without one every
packet meets egressctl's chain (placed above the ``accept established`` rule) and nothing survives.
Entries are listed with ``print terse without-paging`` (the shape ntc-templates parse: ``protocol=
src-address= src-port= dst-address= dst-port= ...``). The denied ones are removed a few destinations at a
time, ``remove [find where dst-address~"^(A|B)(:|\$)"]`` (a regular expression over the address as
printed, with or without its port), for every destination host :mod:`egressctl_drivers.common.session_batch`
finds safe to clear whole; any other denied entry by its whole tuple (``remove [find where ...]``), never
all at once, which would end the management sessions too. The listing afterwards counts what went, and a
denied entry a batch left is removed by its tuple. A session leaves the site when its destination is
outside every inside prefix and is not the router itself (RouterOS lists no interfaces) [M: on some
versions src-address carries the port as ``A:P``; both read and both matched].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from egressctl_drivers.common import session_batch as B
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


#: Destination hosts named by one regular expression (keeps a line well under the console's length).
HOSTS_PER_FIND = 16


def host_pattern(hosts: Sequence[str], family: int) -> str:
    r"""A quoted RouterOS regex matching a ``dst-address`` of exactly one of ``hosts`` (with or without port).

    Dots are escaped for the regex and the backslash again for the string (``\\.``), ``$`` for the
    string (``\$``); IPv6 addresses may be printed in brackets before their port.
    """
    alts = "|".join(h.replace(".", "\\\\.") for h in hosts)
    if family == 4:
        return f'"^({alts})(:|\\$)"'
    return f'"^\\\\[?({alts})(\\\\]|\\$)"'


def batch_commands(p: B.Plan, ended: Sequence[S.Session]) -> list[str]:
    """The removals of a plan: whole-host filters a few hosts per ``find``, every other session by tuple."""
    out: list[str] = []
    whole = [f for f in p.filters if f.protocol is None and f.dst.num_addresses == 1]
    for fam in (4, 6):
        hosts = [str(f.dst.network_address) for f in whole if f.dst.version == fam]
        for i in range(0, len(hosts), HOSTS_PER_FIND):
            pattern = host_pattern(hosts[i:i + HOSTS_PER_FIND], fam)
            out.append(f"{c.CONN_MENU[fam]} remove [find where dst-address~{pattern}]")
    rest = [s for s in ended if not any(f.covers(s) for f in whole)]
    return out + [single_command(s) for s in rest]


def single_command(s: S.Session) -> str:
    """The removal of one session by its whole tuple."""
    return f"{c.CONN_MENU[s.family]} remove [find where {s.ref}]"


def _listed(run: Run, device: Device, inside: Sequence[Network]) -> list[S.Session]:
    out: list[S.Session] = []
    for fam in sorted(S.by_family(inside)):
        out += parse_listing(run(f"{c.CONN_MENU[fam]} print terse without-paging"), device, inside)
    return out


def clear(run: Run, raw: str, device: Device, policy: Policy, inside: Sequence[Network]) -> SessionReport:
    """Remove the connection entries from ``inside`` that ``policy`` denies; the listing after counts them."""
    watch = S.Stopwatch()
    how = handling(raw)
    note = "" if how is SessionHandling.KEPT else "no FastTrack: every packet met egressctl's chain already"
    listed = _listed(run, device, inside)
    ended = S.to_end(policy, inside, listed)
    if not ended:
        return S.report(how, ended, 0, watch, note)
    batch = B.Batcher(policy, B.avoided(inside, device.mgmt_address), widen=False)
    p = batch.plan([], listed, ended)
    for cmd in batch_commands(p, ended):
        run(cmd)
    after = _listed(run, device, inside)
    left = B.still_listed(ended, after)
    if left:
        for s in left:
            run(single_command(s))
        after = _listed(run, device, inside)
    cleared, text = B.outcome(ended, B.allowed_live(policy, inside, listed), after, p, len(left))
    return S.report(how, ended, cleared, watch, "; ".join(t for t in (text, note) if t))
