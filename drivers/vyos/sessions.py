"""VyOS established sessions: conntrack entries, listed and deleted with conntrack-tools.

VyOS's state policy (``firewall global-options state-policy established action accept``) accepts an
established connection before any rule, so a cut keeps it (``kept``) until its conntrack entry goes. The
entries from each inside prefix are listed (``sudo conntrack -L -f F -s P -o extended``, the same output as
on any Linux box, parsed by the Linux driver's parser) and each denied one is deleted by its exact original
tuple (``sudo conntrack -D``), never ``reset conntrack``, which would end the management sessions too.
A session leaves the site when its destination is outside every inside prefix and is not the router
itself (conntrack records no interfaces).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence

from egressctl_drivers.common import sessions as S
from egressctl_drivers.linux_nftables.sessions import parse_entries
from egressctl_drivers.vyos import constants as c

from egressctl.driver import SessionHandling, SessionReport
from egressctl.inventory.models import Device, Network
from egressctl.policy import Policy

Run = Callable[[str], str]


def handling(firewall_lines: str) -> SessionHandling:
    """Kept with the state policy accepting established connections; else every packet meets the rules."""
    return SessionHandling.KEPT if c.STATE_POLICY_RE.search(firewall_lines) else SessionHandling.STATELESS


def delete_command(s: S.Session) -> str:
    """``sudo conntrack -D`` naming the whole original tuple of ``s``."""
    ports = f" --sport {s.sport} --dport {s.dport}" if s.sport is not None and s.dport is not None else ""
    return c.CMD_DELETE.format(family=c.FAMILY_WORD[s.family], proto=shlex.quote(s.protocol), src=s.src,
                               dst=s.dst, ports=ports)


def listed(run: Run, device: Device, inside: Sequence[Network]) -> list[S.Session]:
    """Every tracked session from the inside prefixes, ``egress`` when it leaves the site."""
    own = {str(device.mgmt_address)} if device.mgmt_address else set()
    out: list[S.Session] = []
    for net in inside:
        for s in parse_entries(run(c.CMD_LIST.format(family=c.FAMILY_WORD[net.version], prefix=net))):
            egress = not S.within(s.dst, inside) and str(s.dst) not in own
            out.append(S.Session(s.ref, s.protocol, s.src, s.dst, s.sport, s.dport, s.live, egress))
    return out


def clear(run: Run, firewall_lines: str, device: Device, policy: Policy,
          inside: Sequence[Network]) -> SessionReport:
    """Delete the conntrack entries from ``inside`` that ``policy`` denies; conntrack counts the deletions."""
    watch = S.Stopwatch()
    how = handling(firewall_lines)
    if how is SessionHandling.STATELESS:
        return S.report(how, [], 0, watch, "no state policy: every packet meets egressctl's chain")
    ended = S.to_end(policy, inside, listed(run, device, inside))
    cleared = 0
    for s in ended:
        cleared += sum(int(n) for n in c.DELETED_RE.findall(run(delete_command(s))))
    return S.report(how, ended, cleared, watch)
