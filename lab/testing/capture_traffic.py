"""The generator's background traffic: permitted or not subject by construction, in the reference mix.

70% IPv4 TCP, 15% UDP, 5% ICMP, 8% IPv6, some ARP and GRE, ~10% 802.1Q-tagged, in four directions
(egress, ingress, internal, management); every packet is drawn from the allowed destinations of the
policy (the :class:`Model`'s pools), so only the planted packets (:mod:`capture_leaks`) can be leaks.
Columns are numpy arrays, one row per packet, so a chunk of 200k packets is drawn at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from egressctl_lab.testing.capture_site import LEAK_OCTETS, PNUM, Reference, build_site
from egressctl_lab.testing.capture_truth import TARGET, GenOptions

from egressctl.policy import compute_policy

Arr = np.ndarray[Any, Any]
U64 = (1 << 64) - 1


@dataclass
class _Pool:
    """Allowed (permit, non-management) destinations of one family and protocol, as numpy columns."""

    lo: list[int] = field(default_factory=list)
    hi: list[int] = field(default_factory=list)
    plo: list[int] = field(default_factory=list)
    phi: list[int] = field(default_factory=list)
    proto: list[int] = field(default_factory=list)  # rule protocol number, 0 = any


class Model:
    """Site, policy, reference judge and the pools traffic is drawn from."""

    def __init__(self, seed: int, flows: int) -> None:
        self.site = build_site(seed, flows)
        self.policy = compute_policy(self.site, TARGET)
        self.ref = Reference(self.site, self.policy)
        self.pools: dict[tuple[int, int], _Pool] = {}
        for r in self.policy.rules:
            if r.kind not in ("always", "stage"):
                continue
            for n in r.destinations:
                rproto = 0 if r.protocol == "any" else (1 if r.protocol == "icmp" else PNUM[r.protocol])
                protos = {0: [6, 17, 1, 47], 1: [1], 6: [6], 17: [17]}[rproto]
                for p in protos:
                    pnum = 58 if (p == 1 and n.version == 6) else p
                    for pr in ([(x.first, x.last) for x in r.dst_ports] or [(1, 65535)]):
                        pool = self.pools.setdefault((n.version, pnum), _Pool())
                        pool.lo.append(int(n.network_address))
                        pool.hi.append(int(n.broadcast_address))
                        pool.plo.append(pr[0])
                        pool.phi.append(pr[1])
                        pool.proto.append(0 if rproto == 0 else pnum)
        hr = random.Random(seed + 7)
        self.hosts4 = sorted({(10 << 24) | (hr.randrange(1, 255) << 16) | hr.getrandbits(16)
                              for _ in range(2500)}
                             | {(172 << 24) | (hr.randrange(16, 32) << 16) | hr.getrandbits(16)
                                for _ in range(500)})
        self.hosts6 = sorted({(0xFD00 << 112) | (hr.randrange(1, 0xFF) << 96) | hr.getrandbits(64)
                              for _ in range(500)})
        self.infected4 = self.hosts4[::600][:5]
        self.c2 = [(hr.choice(LEAK_OCTETS) << 24) | hr.getrandbits(24) for _ in range(4)]


COLS: dict[str, Any] = {"fam": np.uint8, "proto": np.uint8, "s4": np.uint32, "d4": np.uint32, "sh": np.uint64,
                        "sl": np.uint64, "dh": np.uint64, "dl": np.uint64, "sp": np.int64, "dp": np.int64,
                        "tags": np.uint8, "opt": np.int64, "ext": np.uint8, "frag": np.uint8,
                        "size": np.int64, "cut": np.int64, "badver": np.bool_, "iface": np.uint8,
                        # ICMP errors (capture_icmp_errors): type (0: none), the quoted datagram's protocol,
                        # ports and destination; its source is the error's destination
                        "qtype": np.uint8, "qcode": np.uint8, "qproto": np.uint8, "qsp": np.int64,
                        "qdp": np.int64, "qd4": np.uint32, "qdh": np.uint64, "qdl": np.uint64}


def _draw(rng: np.random.Generator, pool: _Pool, n: int, fam: int) -> tuple[Arr, Arr, Arr]:
    """``n`` permitted destinations (as Python-int object array for v6) and destination ports."""
    i = rng.integers(0, len(pool.lo), n)
    lo = np.array(pool.lo, dtype=object)[i]
    size = np.array([h - low + 1 for h, low in zip(pool.hi, pool.lo, strict=True)], dtype=object)[i]
    if fam == 4:
        dst = (lo + rng.integers(0, 1 << 62, n).astype(object) % size)
    else:
        r = [int(x) << 64 | int(y) for x, y in zip(rng.integers(0, 1 << 62, n), rng.integers(0, 1 << 62, n),
                                                   strict=True)]
        dst = lo + np.array(r, dtype=object) % size
    dp = rng.integers(np.array(pool.plo)[i], np.array(pool.phi)[i] + 1)
    return dst, dp, i


def background(model: Model, rng: np.random.Generator, m: int, opts: GenOptions) -> dict[str, Arr]:
    """``m`` rows of background traffic as columns (see :data:`COLS`); permitted or not subject."""
    f = {k: np.zeros(m, dtype=t) for k, t in COLS.items()}
    f["cut"][:] = -1
    cat = rng.choice(6, m, p=[0.70, 0.15, 0.05, 0.08, 0.01, 0.01])  # tcp4 udp4 icmp4 ip6 arp gre4
    v6proto = rng.choice([6, 17, 58], m, p=[0.6, 0.3, 0.1])
    for c, fam, proto in ((0, 4, 6), (1, 4, 17), (2, 4, 1), (5, 4, 47), (3, 6, 6), (3, 6, 17), (3, 6, 58)):
        rows = np.nonzero((cat == c) & ((v6proto == proto) if fam == 6 else True))[0]
        if not rows.size:
            continue
        dst, dp, _ = _draw(rng, model.pools[(fam, proto)], rows.size, fam)
        f["fam"][rows], f["proto"][rows] = fam, proto
        f["dp"][rows] = dp if proto in (6, 17) else 0
        f["sp"][rows] = rng.integers(1024, 65536, rows.size) if proto in (6, 17) else 0
        if fam == 4:
            f["d4"][rows] = dst.astype(np.uint32)
            hosts = np.array(model.hosts4, dtype=np.uint32)
            f["s4"][rows] = hosts[rng.integers(0, len(hosts), rows.size)]
        else:
            src = np.array(model.hosts6, dtype=object)[rng.integers(0, len(model.hosts6), rows.size)]
            f["dh"][rows], f["dl"][rows] = _halves(dst)
            f["sh"][rows], f["sl"][rows] = _halves(src)
    ip = f["fam"] != 0
    direction = rng.choice(4, m, p=[0.55, 0.35, 0.08, 0.02])  # egress ingress internal mgmt
    ing = ip & (direction == 1)
    for a, b in (("s4", "d4"), ("sh", "dh"), ("sl", "dl"), ("sp", "dp")):
        f[a][ing], f[b][ing] = f[b][ing], f[a][ing].copy()
    internal = np.nonzero(ip & (direction == 2))[0]
    f["d4"][internal] = np.array(model.hosts4, dtype=np.uint32)[rng.integers(0, len(model.hosts4),
                                                                              internal.size)]
    f["dh"][internal] = np.uint64(0xFD00 << 48)
    mg = np.nonzero((cat == 0) & (direction == 3))[0]
    f["s4"][mg] = (10 << 24 | 255 << 16) + rng.integers(1, 255, mg.size)
    f["d4"][mg] = (192 << 24 | 2 << 8) + rng.integers(1, 255, mg.size)
    f["dp"][mg] = rng.choice([22, 830], mg.size)
    f["tags"] = (rng.random(m) < opts.vlan_rate).astype(np.uint8)
    if not opts.bpf_exact:
        f["tags"][(f["tags"] == 1) & (rng.random(m) < 0.1)] = 2
        v6 = f["fam"] == 6
        f["ext"][v6 & (rng.random(m) < 0.10)] = 1
        f["ext"][v6 & (rng.random(m) < 0.02)] = 2
    v4 = f["fam"] == 4
    with_opt = v4 & (rng.random(m) < 0.01)
    f["opt"][with_opt] = 4 * rng.integers(1, 11, int(with_opt.sum()))
    f["frag"][v4 & (direction == 0) & (rng.random(m) < 0.005)] = 1
    u = rng.random(m)
    f["size"] = np.where(u < 0.45, rng.integers(60, 100, m),
                         np.where(u < 0.70, rng.integers(200, 600, m), rng.integers(1000, 1515, m)))
    f["iface"] = rng.integers(0, 2, m).astype(np.uint8)
    return f


def _halves(vals: Arr) -> tuple[Arr, Arr]:
    return (np.array([int(v) >> 64 for v in vals], dtype=np.uint64),
            np.array([int(v) & U64 for v in vals], dtype=np.uint64))
