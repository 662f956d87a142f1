"""Planted leaks and unverifiable packets, each recorded in the ground truth as it is planted.

Leaks sit on the edges of the policy: prefix and port edges +-1, wrong protocol, IPv6 (with extension
headers), IP options, VLAN and QinQ tags, management look-alikes, plus a few "beaconing" hosts; every
candidate is kept only when the naive :class:`~egressctl_lab.testing.capture_site.Reference` calls it a
leak. Unverifiable packets (non-first fragments, truncated and malformed headers) replace permitted
egress packets.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import numpy as np
from egressctl_lab.testing.capture_site import LEAK_OCTETS, PORTS
from egressctl_lab.testing.capture_traffic import U64, Model
from egressctl_lab.testing.capture_truth import GenOptions, GroundTruth, flow_key

Arr = np.ndarray[Any, Any]


class Planter:
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
        """One leak candidate on an edge of the policy (the reference still has to call it a leak)."""
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
        """Leak flows worth ``budget`` packets in all, each confirmed by the reference and recorded."""
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
        """Overwrite ``rows`` of the columns with the leak flow ``c``."""
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
        """Plant this chunk's leaks at random rows and its unverifiable packets on permitted egress rows."""
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
