"""VyOS established sessions: conntrack entries, listed and deleted with conntrack-tools.

VyOS's state policy (``firewall global-options state-policy established action accept``) accepts an
established connection before any rule, so a cut keeps it (``kept``) until its conntrack entry goes. The
entries from each inside prefix are listed (``sudo conntrack -L -f F -s P -o extended``, the same output as
on any Linux box, parsed by the Linux driver's parser). The denied ones are deleted a destination at a
time (``sudo conntrack -D -f F -s P --mask-src M -d D --mask-dst M [-p PROTO --dport N]``, as on Linux)
wherever :mod:`egressctl_drivers.common.session_batch` finds that safe, any other by its exact original
tuple, never ``reset conntrack``, which would end the management sessions too. The listing afterwards
says how many went; a denied entry a batch left (masks ignored or refused) is then deleted by its tuple.
A session leaves the site when its destination is outside every inside prefix and is not the router
itself (conntrack records no interfaces).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence

from egressctl_drivers.common import session_batch as B
from egressctl_drivers.common import sessions as S
from egressctl_drivers.common.conntrack import parse_entries
from egressctl_drivers.vyos import constants as c

from egressctl.driver import SessionHandling, SessionReport
from egressctl.inventory.models import Device, Network
from egressctl.policy import Policy

Run = Callable[[str], str]
#: One batch deletion: every entry from an inside prefix to a destination prefix (protocol, port).
CMD_DELETE_FILTER = ("sudo conntrack -D -f {family} -s {src} --mask-src {smask} -d {dst} --mask-dst {dmask}"
                     "{more}")


def handling(firewall_lines: str) -> SessionHandling:
    """Kept with the state policy accepting established connections; else every packet meets the rules."""
    return SessionHandling.KEPT if c.STATE_POLICY_RE.search(firewall_lines) else SessionHandling.STATELESS


def delete_command(s: S.Session) -> str:
    """``sudo conntrack -D`` naming the whole original tuple of ``s``."""
    ports = f" --sport {s.sport} --dport {s.dport}" if s.sport is not None and s.dport is not None else ""
    return c.CMD_DELETE.format(family=c.FAMILY_WORD[s.family], proto=shlex.quote(s.protocol), src=s.src,
                               dst=s.dst, ports=ports)


def filter_command(scope: Network, f: B.Filter) -> str:
    """``sudo conntrack -D`` of one batch filter, restricted to the inside prefix ``scope``."""
    more = f" -p {shlex.quote(f.protocol)}" if f.protocol is not None else ""
    more += f" --dport {f.dport}" if f.protocol is not None and f.dport is not None else ""
    return CMD_DELETE_FILTER.format(family=c.FAMILY_WORD[scope.version], src=scope.network_address,
                                    smask=scope.netmask, dst=f.dst.network_address, dmask=f.dst.netmask,
                                    more=more)


def per_prefix(run: Run, device: Device, inside: Sequence[Network]) -> dict[Network, list[S.Session]]:
    """Every tracked session per inside prefix, ``egress`` when it leaves the site."""
    own = {str(device.mgmt_address)} if device.mgmt_address else set()
    found: dict[Network, list[S.Session]] = {}
    for net in inside:
        rows = parse_entries(run(c.CMD_LIST.format(family=c.FAMILY_WORD[net.version], prefix=net)))
        found[net] = [S.Session(s.ref, s.protocol, s.src, s.dst, s.sport, s.dport, s.live,
                                not S.within(s.dst, inside) and str(s.dst) not in own) for s in rows]
    return found


def listed(run: Run, device: Device, inside: Sequence[Network]) -> list[S.Session]:
    """Every tracked session from the inside prefixes, ``egress`` when it leaves the site."""
    return [s for rows in per_prefix(run, device, inside).values() for s in rows]


def _delete(run: Run, commands: Sequence[str]) -> int:
    return sum(int(n) for cmd in commands for n in c.DELETED_RE.findall(run(cmd)))


def clear(run: Run, firewall_lines: str, device: Device, policy: Policy,
          inside: Sequence[Network]) -> SessionReport:
    """Delete the conntrack entries from ``inside`` that ``policy`` denies; the listing after counts them."""
    watch = S.Stopwatch()
    how = handling(firewall_lines)
    if how is SessionHandling.STATELESS:
        return S.report(how, [], 0, watch, "no state policy: every packet meets egressctl's chain")
    found = per_prefix(run, device, inside)
    every = [s for rows in found.values() for s in rows]
    ended = S.to_end(policy, inside, every)
    if not ended:
        return S.report(how, ended, 0, watch)
    batch = B.Batcher(policy, B.avoided(inside, device.mgmt_address))
    for net, rows in found.items():
        p = batch.plan([net], rows, ended)
        _delete(run, [filter_command(net, f) for f in p.filters] + [delete_command(s) for s in p.singles])
    after = listed(run, device, inside)
    left = B.still_listed(ended, after)
    if left:
        _delete(run, [delete_command(s) for s in left])
        after = listed(run, device, inside)
    cleared, note = B.outcome(ended, B.allowed_live(policy, inside, every), after, batch.total(), len(left))
    return S.report(how, ended, cleared, watch, note)
