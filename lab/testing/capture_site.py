"""The capture generator's site and its independent judge.

The site has 200+ overlapping allowed destinations (IPv4 /8../32 and IPv6, nested and duplicated, with
protocols and port ranges) over three stages. :class:`Reference` is a naive first-match walk of the rule
list written here, independent of ``egressctl.verify.matcher``, so the ground truth does not share the code
under test.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

from egressctl.inventory.models import Site
from egressctl.policy import Policy

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHoR2vS8mK8Q0DAZU864neT/yRls23XrEDy7IrLAeu2"
MGMT_SRC, MGMT_DST = "10.255.0.0/24", "192.0.2.0/24"
V4_OCTETS = [o for o in range(11, 100) if o != 10]  # allowed destinations live here
LEAK_OCTETS = list(range(100, 127))                  # and random leak destinations here
PORTS = [22, 25, 53, 80, 123, 443, 587, 993, 1194, 3389, 5060, 8080, 8443]
PNUM = {"tcp": 6, "udp": 17}


def _v4_prefixes(rng: random.Random, n: int) -> list[str]:
    nets: list[ipaddress.IPv4Network] = []
    while len(nets) < n:
        if nets and rng.random() < 0.55:  # nested inside (or equal to) an earlier prefix: overlaps
            parent = rng.choice(nets)
            plen = min(32, parent.prefixlen + rng.choice([0, 1, 4, 8, 8, 12]))
            host = int(parent.network_address) + rng.randrange(parent.num_addresses)
        else:
            plen = rng.choice([8, 12, 16, 16, 20, 24, 24, 24, 28, 32])
            host = (rng.choice(V4_OCTETS) << 24) | rng.getrandbits(24)
        nets.append(ipaddress.ip_network((host, plen), strict=False))  # type: ignore[arg-type]
    return [str(x) for x in nets]


def _v6_prefixes(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        plen = rng.choice([32, 40, 48, 48, 56, 64, 64, 96, 112, 127, 128])
        host = (0x20010DB8 << 96) | rng.getrandbits(96)
        out.append(str(ipaddress.IPv6Network((host, plen), strict=False)))
    return out


def _flow(rng: random.Random, i: int, dests: list[str]) -> dict[str, Any]:
    proto = rng.choices(["tcp", "udp", "any", "icmp"], [50, 25, 15, 10])[0]
    f: dict[str, Any] = {"name": f"f{i:03d}", "destinations": dests, "protocol": proto}
    if proto in ("tcp", "udp") and rng.random() < 0.75:
        ports: list[Any] = []
        for _ in range(rng.choice([1, 1, 2, 3])):
            if rng.random() < 0.7:
                ports.append(rng.choice(PORTS))
            else:
                lo = rng.randrange(1024, 60000)
                ports.append(f"{lo}-{lo + rng.randrange(1, 3000)}")
        f["ports"] = ports
    return f


def build_site(seed: int = 1, flows: int = 210) -> Site:
    """The generator's site: inside 10/8, 172.16/12, fd00::/16; ``flows`` allowed flows over 3 stages."""
    rng = random.Random(seed)
    n6 = max(1, flows // 6)
    v4 = _v4_prefixes(rng, flows - n6)
    v6 = _v6_prefixes(rng, n6)
    dests = [[p] for p in v4] + [[p] for p in v6]
    for d in rng.sample(range(len(dests)), len(dests) // 10):  # some flows carry both families
        dests[d] = dests[d] + [rng.choice(v6 if ":" not in dests[d][0] else v4)]
    all_flows = [_flow(rng, i, d) for i, d in enumerate(dests)]
    rng.shuffle(all_flows)
    a, b = len(all_flows) // 4, (len(all_flows) * 7) // 8
    return Site.model_validate({
        "name": "gen", "inside": ["10.0.0.0/8", "172.16.0.0/12", "fd00::/16"],
        "management": [{"name": "ops", "sources": [MGMT_SRC, "fd00:ff::/64"], "destinations": [MGMT_DST],
                        "ports": [22, 830]}],
        "always_allowed": all_flows[:a],
        "stages": [{"name": "s1", "allow": all_flows[a:b]}, {"name": "s2", "allow": all_flows[b:]}],
        "devices": [{"name": "fw", "platform": "linux_nftables", "host": "127.0.0.1", "username": "u",
                     "credential": "env:EGRESSCTL_GEN", "host_key": KEY, "inside": ["in0"],
                     "outside": ["out0"], "exit": "main", "mgmt_address": "192.0.2.1"}],
    })


# -- naive reference --------------------------------------------------------------------------------------
class Reference:
    """First-match walk of the rule list with integer ranges: the ground truth's own judge."""

    def __init__(self, site: Site, policy: Policy) -> None:
        def rng(nets: Any, fam: int) -> list[tuple[int, int]]:
            return [(int(n.network_address), int(n.broadcast_address)) for n in nets if n.version == fam]

        self.inside = {f: rng(site.inside, f) for f in (4, 6)}
        self.rules: list[tuple[Any, ...]] = []
        for r in policy.rules:
            for fam in r.families():
                proto = None if r.protocol == "any" else ({"icmp": 1 if fam == 4 else 58} | PNUM)[r.protocol]
                self.rules.append((fam, proto, rng(r.sources, fam) if r.sources else None,
                                   rng(r.destinations, fam) if r.destinations else None,
                                   [(p.first, p.last) for p in r.src_ports] or None,
                                   [(p.first, p.last) for p in r.dst_ports] or None, r.action == "permit"))

    def verdict(self, fam: int, proto: int, src: int, dst: int, sp: int, dp: int) -> str:
        """``not-subject``, ``permit`` or ``leak``."""
        def within(x: int, ranges: list[tuple[int, int]] | None) -> bool:
            return ranges is None or any(lo <= x <= hi for lo, hi in ranges)

        if not within(src, self.inside[fam]) or within(dst, self.inside[fam]):
            return "not-subject"
        if proto not in (6, 17):
            sp = dp = 0
        for rf, rp, rs, rd, rsp, rdp, permit in self.rules:
            if rf == fam and (rp is None or rp == proto) and within(src, rs) and within(dst, rd) \
                    and within(sp, rsp) and within(dp, rdp):
                return "permit" if permit else "leak"
        return "leak"
