"""ICMP errors leaving the site, planted with their ground truth: related to an allowed flow, or leaks.

Stateful firewalls forward the ICMP errors of a connection they allow (port unreachable for a late DNS
answer, packet too big for PMTUD, time exceeded), so a correct analysis must not call those leaks, and
must still call an error quoting a denied flow one. Each planted error leaves the site (an inside host or
router to an outside host) and is a leak by its own header (the reference says so); its quote is the
inbound datagram of a flow: for a *related* error a flow the policy allows (its reverse, judged by the
naive :class:`~egressctl_lab.testing.capture_site.Reference`, is permitted), for a *denied* one a flow it
does not allow. Half of them come from a router (the quoted destination is another inside host), some are
VLAN-tagged, a third are IPv6. Rows replaced are background rows that do not leave the site, so the other
planted packets and their truth are untouched; with ``icmp_error_rate`` 0 nothing here runs and files are
byte-identical to what they were.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from typing import Any

import numpy as np
from egressctl_lab.testing.capture_site import LEAK_OCTETS
from egressctl_lab.testing.capture_traffic import U64, Model
from egressctl_lab.testing.capture_truth import GenOptions, GroundTruth, flow_key

Arr = np.ndarray[Any, Any]
Put = Callable[[Arr, Arr, Any, int], None]
#: (type, code) of the errors planted: port unreachable, fragmentation needed, time exceeded, parameter
#: problem (ICMPv4); port unreachable, packet too big, time exceeded, parameter problem (ICMPv6).
TYPES = {4: [(3, 3), (3, 4), (11, 0), (12, 0)], 6: [(1, 4), (2, 0), (3, 0), (4, 0)]}
ICMP = {4: 1, 6: 58}
TRIES = 1000  # candidates drawn per planted error at most (the policy makes most draws fit)


class ErrorPlanter:
    """Draws ICMP errors (checked by the reference), writes them into rows and records the truth."""

    def __init__(self, model: Model, prng: random.Random, opts: GenOptions, truth: GroundTruth) -> None:
        self.model, self.r, self.opts, self.truth = model, prng, opts, truth

    def _flow(self, fam: int, allowed: bool) -> tuple[int, int, int, int, int]:
        """(proto, inside host, outside host, inside port, outside port) of a TCP/UDP flow."""
        r, m = self.r, self.model
        host = r.choice(m.hosts4 if fam == 4 else m.hosts6)
        proto, sp = r.choice([6, 17]), r.randrange(1024, 65536)
        if allowed:
            pool = m.pools[(fam, proto)]
            i = r.randrange(len(pool.lo))
            return proto, host, r.randrange(pool.lo[i], pool.hi[i] + 1), sp, r.randrange(pool.plo[i],
                                                                                           pool.phi[i] + 1)
        dst = (r.choice(LEAK_OCTETS) << 24) | r.getrandbits(24) if fam == 4 else (0x20010DB9 << 96) | \
            r.getrandbits(96)
        return proto, host, dst, sp, r.choice([53, 443, 8443])

    def candidate(self) -> dict[str, Any] | None:
        """One error, a leak by its own header, quoting a flow as drawn; None when the draw does not fit."""
        r, m = self.r, self.model
        fam, allowed = (6 if r.random() < 1 / 3 else 4), r.random() < 2 / 3
        proto, host, out, sp, dp = self._flow(fam, allowed)
        if m.ref.verdict(fam, proto, host, out, sp, dp) != ("permit" if allowed else "leak"):
            return None
        sender = host if r.random() < 0.5 else r.choice(m.hosts4 if fam == 4 else m.hosts6)  # host or router
        if m.ref.verdict(fam, ICMP[fam], sender, out, 0, 0) != "leak":
            return None
        qtype, qcode = r.choice(TYPES[fam])
        return {"fam": fam, "src": sender, "dst": out, "tags": int(r.random() < 0.5), "qtype": qtype,
                "qcode": qcode, "qproto": proto, "qsp": dp, "qdp": sp, "qd": host, "related": allowed}

    def record(self, c: dict[str, Any]) -> None:
        """Add one planted error to the truth."""
        t = self.truth
        if c["related"]:
            t.related_packets += 1
            return
        src, dst = (str(ipaddress.ip_address(c[x])) for x in ("src", "dst"))
        key = flow_key(c["fam"], ICMP[c["fam"]], src, dst, 0, 0)
        t.leak_flows[key] = t.leak_flows.get(key, 0) + 1
        t.leak_packets += 1
        t.vlan_leaks += c["tags"]
        t.ipv6_leaks += c["fam"] == 6

    def plant(self, f: dict[str, Arr], rng: np.random.Generator) -> None:
        """Replace ``icmp_error_rate`` of the chunk's rows that do not leave the site with planted errors."""
        m = len(f["fam"])
        want = round(m * self.opts.icmp_error_rate)
        free = np.nonzero((f["fam"] != 0) & ~_leaving(f))[0]
        rows = rng.choice(free, min(want, len(free)), replace=False).tolist()
        for i in rows:
            c = next((c for c in (self.candidate() for _ in range(TRIES)) if c is not None), None)
            if c is None:
                raise RuntimeError("no ICMP error candidate fits this policy")
            _place(f, i, c)
            self.record(c)


def _place(f: dict[str, Arr], i: int, c: dict[str, Any]) -> None:
    fam = c["fam"]
    f["fam"][i], f["proto"][i], f["tags"][i] = fam, ICMP[fam], c["tags"]
    f["sp"][i] = f["dp"][i] = f["opt"][i] = f["ext"][i] = f["frag"][i] = 0
    f["cut"][i], f["badver"][i] = -1, False
    for k in ("qtype", "qcode", "qproto", "qsp", "qdp"):
        f[k][i] = c[k]
    if fam == 4:
        f["s4"][i], f["d4"][i], f["qd4"][i] = c["src"], c["dst"], c["qd"]
    else:
        f["sh"][i], f["sl"][i] = c["src"] >> 64, c["src"] & U64
        f["dh"][i], f["dl"][i] = c["dst"] >> 64, c["dst"] & U64
        f["qdh"][i], f["qdl"][i] = c["qd"] >> 64, c["qd"] & U64


def _leaving(f: dict[str, Arr]) -> Arr:
    """Rows whose source is inside the generator's site and destination outside (as ``capture_leaks``)."""
    def inside(w: str) -> Arr:
        v4 = f[w + "4"]
        in4 = ((v4 >> 24) == 10) | ((v4 >> 20) == (172 << 4 | 1))
        return np.asarray(np.where(f["fam"] == 4, in4, (f[w + "h"] >> 48) == 0xFD00))

    return np.asarray(inside("s") & ~inside("d"))


def icmp_errors(buf: Arr, l4: Arr, f: dict[str, Arr], put: Put) -> None:
    """Write the ICMP header and the quote (IP header, 8 bytes of transport) of every error row."""
    rows = np.nonzero(f["qtype"] > 0)[0]
    if not rows.size:
        return
    at, fam = l4[rows], f["fam"][rows]
    buf[at], buf[at + 1] = f["qtype"][rows], f["qcode"][rows]
    q = at + 8
    v4, v6 = np.nonzero(fam == 4)[0], np.nonzero(fam == 6)[0]
    buf[q[v4]], buf[q[v4] + 8], buf[q[v4] + 9] = 0x45, 63, f["qproto"][rows][v4]
    put(buf, q[v4] + 2, 1400, 2)
    put(buf, q[v4] + 12, f["d4"][rows][v4], 4)
    put(buf, q[v4] + 16, f["qd4"][rows][v4], 4)
    buf[q[v6]], buf[q[v6] + 6], buf[q[v6] + 7] = 0x60, f["qproto"][rows][v6], 63
    put(buf, q[v6] + 4, 1400, 2)
    for off, col in ((8, "dh"), (16, "dl"), (24, "qdh"), (32, "qdl")):
        put(buf, q[v6] + off, f[col][rows][v6], 8)
    t = q + np.where(fam == 4, 20, 40)
    put(buf, t, f["qsp"][rows], 2)
    put(buf, t + 2, f["qdp"][rows], 2)
