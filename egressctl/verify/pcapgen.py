"""Deterministic capture generator with planted leaks and a ground truth, for tests and the benchmark.

It builds a site whose policy has 200+ overlapping allowed destinations (IPv4 /8../32 and IPv6, nested
and duplicated, with protocols and port ranges), then a capture of N packets with the reference mix
(70% IPv4 TCP, 15% UDP, 5% ICMP, 8% IPv6, ~10% 802.1Q-tagged) where every background packet is permitted
or not subject *by construction*, and leaks (~0.1%) are planted on the edges: prefix and port edges +-1,
wrong protocol, IPv6, IP options, VLAN tags, plus a few "beaconing" hosts. Every planted leak is checked
with a naive rule walk written here, independent of ``matcher.py``, so the ground truth does not share
the code under test. Unverifiable packets (non-first fragments, truncated and malformed headers) are
planted and counted too.

Records are laid out with numpy (no per-packet scapy), chunk by chunk, so 2M packets take seconds.
``bpf_exact=True`` keeps to what a BPF filter can express (no QinQ, no IPv6 extension headers, truncation
before the addresses), so ``tcpdump`` with the equivalent filter must find the same leak count.
"""

from __future__ import annotations

import ipaddress
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from egressctl.inventory.models import Site
from egressctl.policy import Policy, compute_policy
from egressctl.verify._fastgen import file_header, records

Arr = np.ndarray[Any, Any]
TARGET = "s2"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHoR2vS8mK8Q0DAZU864neT/yRls23XrEDy7IrLAeu2"
MGMT_SRC, MGMT_DST = "10.255.0.0/24", "192.0.2.0/24"
V4_OCTETS = [o for o in range(11, 100) if o != 10]  # allowed destinations live here
LEAK_OCTETS = list(range(100, 127))                  # and random leak destinations here
U64 = (1 << 64) - 1
PORTS = [22, 25, 53, 80, 123, 443, 587, 993, 1194, 3389, 5060, 8080, 8443]
PNUM = {"tcp": 6, "udp": 17}


@dataclass(frozen=True)
class GenOptions:
    """What to generate; equal options give byte-identical files."""

    packets: int = 100_000
    seed: int = 1
    site_seed: int = 1  # the policy (see ``build_site``); ``seed`` drives the traffic
    fmt: Literal["pcap", "pcapng"] = "pcap"
    byte_order: Literal["<", ">"] = "<"
    nanosecond: bool = False
    leak_rate: float = 0.001
    unverified_rate: float = 0.0005
    vlan_rate: float = 0.10
    bpf_exact: bool = False
    flows: int = 210
    chunk: int = 200_000


@dataclass
class GroundTruth:
    """What a correct analysis must report for the generated file."""

    packets: int = 0
    leak_packets: int = 0
    leak_flows: dict[str, int] = field(default_factory=dict)  # "fam|proto|src|dst|sport|dport" -> packets
    unverified: dict[str, int] = field(
        default_factory=lambda: {"fragment": 0, "truncated": 0, "malformed": 0})
    non_ip: int = 0
    vlan_leaks: int = 0
    ipv6_leaks: int = 0
    target: str = TARGET
    options: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Write as JSON."""
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> GroundTruth:
        """Read a saved ground truth."""
        return cls(**json.loads(path.read_text()))


def flow_key(fam: int, proto: int, src: str, dst: str, sport: int, dport: int) -> str:
    """Ground-truth flow key; ``proto`` as in ``LeakFlow.proto_name``."""
    name = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}.get(proto, str(proto))
    return f"{fam}|{name}|{src}|{dst}|{sport}|{dport}"


# -- the site ------------------------------------------------------------------------------------------------
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


# -- traffic model ------------------------------------------------------------------------------------------
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
                        "size": np.int64, "cut": np.int64, "badver": np.bool_, "iface": np.uint8}


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


def _background(model: Model, rng: np.random.Generator, m: int, opts: GenOptions) -> dict[str, Arr]:
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


# -- planted leaks and unverifiable packets ---------------------------------------------------------------
class _Planter:
    """Draws leak flows (validated by the reference) and unverifiable packets, and records the truth."""

    def __init__(self, model: Model, prng: random.Random, opts: GenOptions, truth: GroundTruth) -> None:
        self.model, self.r, self.opts, self.truth = model, prng, opts, truth

    def _atom(self, fam: int, proto: int | None = None) -> tuple[int, int, int, int, int]:
        keys = sorted(k for k in self.model.pools if k[0] == fam and (proto is None or k[1] == proto))
        key = self.r.choice(keys)
        pool = self.model.pools[key]
        i = self.r.randrange(len(pool.lo))
        return pool.lo[i], pool.hi[i], pool.plo[i], pool.phi[i], key[1]

    def candidate(self) -> dict[str, Any]:
        r, m = self.r, self.model
        kind = r.choices(["prefix-edge", "port-edge", "wrong-proto", "ipv6", "ip-options", "vlan", "icmp",
                          "mgmt-edge", "beacon"], [1, 1, 1, 2, 1, 1, 0.5, 0.5, 0.3])[0]
        fam, tags, opt, ext, k = 4, 0, 0, 0, 1 if r.random() < 0.7 else r.randrange(2, 8)
        src = r.choice(m.hosts4)
        proto, sp = r.choice([6, 17]), r.randrange(1024, 65536)
        dst, dp = (r.choice(LEAK_OCTETS) << 24) | r.getrandbits(24), r.choice(PORTS)
        if kind in ("prefix-edge", "port-edge", "wrong-proto"):
            lo, hi, plo, phi, proto = self._atom(4)
            dst = r.randrange(lo, hi + 1)
            dp = r.randrange(plo, phi + 1)
            if kind == "prefix-edge":
                dst = r.choice([lo - 1, hi + 1])
            elif kind == "port-edge":
                dp = r.choice([plo - 1, phi + 1])
            else:
                proto = {6: 17, 17: 6, 1: 6, 47: 17}[proto]
        elif kind == "ipv6":
            fam, src = 6, r.choice(m.hosts6)
            lo, hi, plo, phi, proto = self._atom(6)
            dst = r.choice([lo - 1, hi + 1, (0x20010DB9 << 96) | r.getrandbits(96)])
            dp = r.randrange(plo, phi + 1)
            ext = 0 if self.opts.bpf_exact or r.random() < 0.6 else 1
        elif kind == "ip-options":
            opt = 4 * r.randrange(1, 11)
        elif kind == "vlan":
            tags = 1 if self.opts.bpf_exact or r.random() < 0.7 else 2
        elif kind == "icmp":
            proto = 1
        elif kind == "mgmt-edge":
            src, proto = (10 << 24 | 255 << 16 | 1 << 8) + r.randrange(1, 255), 6
            dst, dp = (192 << 24 | 2 << 8) + r.randrange(1, 255), r.choice([22, 830])
        else:
            src, dst = r.choice(m.infected4), r.choice(m.c2)
            proto, dp = r.choice([(6, 443), (6, 8443), (17, 53)])
            k = r.randrange(5, 20)
        if proto not in (6, 17):
            sp = dp = 0
        if kind != "vlan" and r.random() < 0.1:
            tags = 1
        return {"fam": fam, "proto": proto, "src": src, "dst": dst, "sp": sp, "dp": dp, "tags": tags,
                "opt": opt if fam == 4 else 0, "ext": ext, "k": k}

    def leaks(self, budget: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while budget > 0:
            c = self.candidate()
            top = (1 << (32 if c["fam"] == 4 else 128)) - 1
            if not (0 <= c["dst"] <= top and 0 <= c["dp"] <= 65535) or (
                    c["proto"] in (6, 17) and not c["dp"]):
                continue
            if self.model.ref.verdict(c["fam"], c["proto"], c["src"], c["dst"], c["sp"], c["dp"]) != "leak":
                continue
            c["k"] = min(c["k"], budget)
            budget -= c["k"]
            out.append(c)
            src, dst = (str(ipaddress.ip_address(c[x])) for x in ("src", "dst"))
            key = flow_key(c["fam"], c["proto"] if c["fam"] == 4 or c["proto"] != 1 else 58, src, dst,
                           c["sp"], c["dp"])
            self.truth.leak_flows[key] = self.truth.leak_flows.get(key, 0) + c["k"]
            self.truth.leak_packets += c["k"]
            self.truth.vlan_leaks += c["k"] if c["tags"] else 0
            self.truth.ipv6_leaks += c["k"] if c["fam"] == 6 else 0
        return out

    def place(self, f: dict[str, Arr], rows: list[int], c: dict[str, Any]) -> None:
        for i in rows:
            f["fam"][i], f["tags"][i], f["opt"][i], f["ext"][i] = c["fam"], c["tags"], c["opt"], c["ext"]
            f["proto"][i] = 58 if (c["fam"] == 6 and c["proto"] == 1) else c["proto"]
            f["sp"][i], f["dp"][i], f["frag"][i], f["cut"][i], f["badver"][i] = c["sp"], c["dp"], 0, -1, False
            if c["fam"] == 4:
                f["s4"][i], f["d4"][i] = c["src"], c["dst"]
            else:
                f["sh"][i], f["sl"][i] = c["src"] >> 64, c["src"] & U64
                f["dh"][i], f["dl"][i] = c["dst"] >> 64, c["dst"] & U64

    def unverified(self, f: dict[str, Arr], rows: list[int]) -> None:
        """Turn ``rows`` (permitted egress packets) into fragments, truncated or malformed packets."""
        for i in rows:
            kind = self.r.choice(["fragment", "truncated", "malformed"])
            fam = int(f["fam"][i])
            f["tags"][i], f["opt"][i], f["frag"][i] = 0, 0, 0
            if fam == 6 and self.opts.bpf_exact:
                kind = "truncated"
            if kind == "fragment":
                if fam == 4:
                    f["frag"][i] = 2
                else:
                    f["ext"][i] = 3
            elif kind == "truncated":
                f["ext"][i] = 0 if fam == 4 else f["ext"][i]
                f["cut"][i] = self.r.randrange(0, 34 if fam == 4 else 54)
            else:
                f["badver"][i] = True
            self.truth.unverified[kind] += 1

    def plant(self, f: dict[str, Arr], rng: np.random.Generator) -> None:
        m = len(f["fam"])
        flows = self.leaks(round(m * self.opts.leak_rate))
        n_unv = round(m * self.opts.unverified_rate)
        leaving = _inside_mask(f, "s") & ~_inside_mask(f, "d")
        egress = np.nonzero((f["fam"] != 0) & leaving & (f["s4"] >> 16 != (10 << 8 | 255)))[0]
        need = sum(c["k"] for c in flows)
        pos = rng.choice(m, need, replace=False).tolist()
        at = 0
        for c in flows:
            self.place(f, pos[at: at + c["k"]], c)
            at += c["k"]
        taken = set(pos)
        spare = [int(x) for x in rng.choice(egress, min(len(egress), n_unv + need), replace=False)
                 if int(x) not in taken][:n_unv]
        self.unverified(f, spare)


def _inside_mask(f: dict[str, Arr], which: str) -> Arr:
    v4 = f[which + "4"]
    in4 = ((v4 >> 24) == 10) | ((v4 >> 20) == (172 << 4 | 1))
    in6 = (f[which + "h"] >> 48) == 0xFD00
    return np.where(f["fam"] == 4, in4, np.where(f["fam"] == 6, in6, False))


def generate(path: str | Path, opts: GenOptions = GenOptions()) -> GroundTruth:
    """Write the capture to ``path`` and its ground truth to ``<path>.truth.json``; returns the truth."""
    out = Path(path)
    model = Model(opts.site_seed, opts.flows)
    truth = GroundTruth(options=asdict(opts))
    t = 1_700_000_000 * 1_000_000_000
    with out.open("wb") as fh:
        fh.write(file_header(opts))
        for ci, start in enumerate(range(0, opts.packets, opts.chunk)):
            m = min(opts.chunk, opts.packets - start)
            rng = np.random.default_rng([opts.seed, ci])
            f = _background(model, rng, m, opts)
            _Planter(model, random.Random(opts.seed * 1_000_003 + ci), opts, truth).plant(f, rng)
            ts = t + np.cumsum(rng.integers(1_000, 20_000, m))
            t = int(ts[-1])
            truth.packets += m
            truth.non_ip += int((f["fam"] == 0).sum())
            fh.write(records(f, ts, opts).tobytes())
    truth.save(Path(str(out) + ".truth.json"))
    return truth
