"""Linux established sessions: connection-tracking entries, listed and deleted with conntrack-tools.

Whether there is anything to end depends on the box (:mod:`.constants`): without connection tracking in
the namespace every packet is judged by egressctl's chain and nothing outlives the cut (``stateless``);
with it, the entries survive (``kept``) and the site's own stateful rules keep honouring them. The entries
from each inside prefix are listed (``conntrack -L -s P``); conntrack records no interfaces, so the box's
routes say which ones cross it from an inside interface to an outside one (a lookup toward the source
gives the interface it arrives on, toward the destination the one it leaves by, and a local address means
the session is the box's own). The denied ones are deleted a destination at a time (``conntrack -D -s P
--mask-src M -d D --mask-dst M [-p PROTO --dport N]``, several per shell command) wherever
:mod:`egressctl_drivers.common.session_batch` finds that safe, any other by its exact original tuple; the
listing afterwards says how many went and that the allowed ones stay.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterable, Sequence

from egressctl_drivers.common import session_batch as B
from egressctl_drivers.common import sessions as S
from egressctl_drivers.common.conntrack import parse_entries
from egressctl_drivers.linux_nftables import constants as c

from egressctl.driver import SessionHandling, SessionReport
from egressctl.errors import CommandRejected
from egressctl.inventory.models import Device, Network
from egressctl.policy import Policy

#: Runs one shell command as root on the box and returns its output (the driver's ``run``).
Run = Callable[[str], str]
#: Route lookup result per address: (interface, is one of the box's own addresses).
Routes = dict[str, tuple[str, bool]]


def handling(run: Run) -> SessionHandling:
    """Kept when the namespace tracks connections (a ruleset that needs it, or entries), else stateless."""
    if c.TRACKING_RE.search(run(c.CMD_RULESET)):
        return SessionHandling.KEPT
    count = run(c.CMD_TRACKED).strip().splitlines()
    return SessionHandling.KEPT if count and count[-1].strip() not in ("", "0") else SessionHandling.STATELESS


def parse_routes(text: str) -> Routes:
    """``{address: (interface, local)}`` from the JSON lines ``ip -j -batch`` prints."""
    out: Routes = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("["):
            continue
        try:
            answers = json.loads(line)
        except ValueError:
            continue
        for answer in answers:
            if isinstance(answer, dict) and "dst" in answer:
                out[str(answer["dst"])] = (str(answer.get("dev", "")), answer.get("type") == "local")
    return out


def chunks(parts: Iterable[str], joiner: str, limit: int = c.COMMAND_MAX) -> list[str]:
    """Join ``parts`` into commands no longer than ``limit`` (one part may stand alone beyond it)."""
    out: list[str] = []
    for part in parts:
        if out and len(out[-1]) + len(joiner) + len(part) <= limit:
            out[-1] += joiner + part
        else:
            out.append(part)
    return out


def routes(run: Run, addresses: Iterable[str]) -> Routes:
    """Look every address up in the box's routing table, a few per command."""
    found: Routes = {}
    for group in chunks(sorted(set(addresses)), " ", c.COMMAND_MAX - len(c.CMD_ROUTES)):
        found.update(parse_routes(run(c.CMD_ROUTES.format(addresses=group))))
    return found


def with_egress(sessions: list[S.Session], table: Routes, device: Device) -> list[S.Session]:
    """Mark the sessions that arrive on an inside interface and leave by an outside one."""
    out = []
    for s in sessions:
        src_if, src_local = table.get(str(s.src), ("", True))
        dst_if, dst_local = table.get(str(s.dst), ("", True))
        egress = not (src_local or dst_local) and src_if in device.inside and dst_if in device.outside
        out.append(S.Session(s.ref, s.protocol, s.src, s.dst, s.sport, s.dport, s.live, egress))
    return out


def delete_command(s: S.Session) -> str:
    """``conntrack -D`` naming the whole original tuple of ``s``."""
    ports = f" --sport {s.sport} --dport {s.dport}" if s.sport is not None and s.dport is not None else ""
    return c.CMD_DELETE.format(family=c.CT_FAMILY[s.family], proto=shlex.quote(s.protocol), src=s.src,
                               dst=s.dst, ports=ports)


#: One batch deletion: every entry from an inside prefix to a destination prefix (protocol, port).
CMD_DELETE_FILTER = ("conntrack -D -f {family} -s {src} --mask-src {smask} -d {dst} --mask-dst {dmask}"
                     "{more} 2>&1")


def filter_command(scope: Network, f: B.Filter) -> str:
    """``conntrack -D`` of one batch filter, restricted to the inside prefix ``scope``."""
    more = f" -p {shlex.quote(f.protocol)}" if f.protocol is not None else ""
    more += f" --dport {f.dport}" if f.protocol is not None and f.dport is not None else ""
    return CMD_DELETE_FILTER.format(family=c.CT_FAMILY[scope.version], src=scope.network_address,
                                    smask=scope.netmask, dst=f.dst.network_address, dmask=f.dst.netmask,
                                    more=more)


def _per_prefix(run: Run, inside: Sequence[Network]) -> dict[Network, list[S.Session]]:
    return {net: parse_entries(run(c.CMD_LIST.format(family=c.CT_FAMILY[net.version], prefix=net)))
            for net in inside}


def listed(run: Run, device: Device, inside: Sequence[Network]) -> dict[Network, list[S.Session]]:
    """Every tracked session per inside prefix, with ``egress`` from the box's routes."""
    found = _per_prefix(run, inside)
    every = [s for rows in found.values() for s in rows]
    table = routes(run, [str(a) for s in every for a in (s.src, s.dst)]) if every else {}
    return {net: with_egress(rows, table, device) for net, rows in found.items()}


def _commands(policy: Policy, device: Device, inside: Sequence[Network],
              found: dict[Network, list[S.Session]], ended: list[S.Session]) -> tuple[list[str], B.Plan]:
    """The deletions ending ``ended`` (batch filters where safe, exact tuples otherwise), and the plan."""
    batch, out = B.Batcher(policy, B.avoided(inside, device.mgmt_address)), []
    for net, rows in found.items():
        p = batch.plan([net], rows, ended)
        out += [filter_command(net, f) for f in p.filters] + [delete_command(s) for s in p.singles]
    return out, batch.total()


def clear(run: Run, device: Device, policy: Policy, inside: Sequence[Network]) -> SessionReport:
    """Delete the conntrack entries from ``inside`` that ``policy`` denies; the listing after counts them."""
    watch = S.Stopwatch()
    how = handling(run)
    if how is SessionHandling.STATELESS:
        return S.report(how, [], 0, watch, "no connection tracking: every packet meets egressctl's chain")
    if c.HAS_CONNTRACK not in run(c.CMD_HAS_CONNTRACK):
        raise CommandRejected(device.name, "conntrack-tools is not installed: the tracked sessions cannot be "
                              "listed or ended")
    found = listed(run, device, inside)
    every = [s for rows in found.values() for s in rows]
    ended = S.to_end(policy, inside, every)
    if not ended:
        return S.report(how, ended, 0, watch)
    commands, p = _commands(policy, device, inside, found, ended)
    for command in chunks(commands, "; "):
        run(command + "; true")
    after = [s for rows in _per_prefix(run, inside).values() for s in rows]
    left = B.still_listed(ended, after)
    if left:
        for command in chunks((delete_command(s) for s in left), "; "):
            run(command + "; true")
        after = [s for rows in _per_prefix(run, inside).values() for s in rows]
    cleared, note = B.outcome(ended, B.allowed_live(policy, inside, every), after, p, len(left))
    return S.report(how, ended, cleared, watch, note)
