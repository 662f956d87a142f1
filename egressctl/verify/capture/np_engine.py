"""The numpy capture engine: the fallback when no C compiler exists, and the C engine's reference.

Record offsets are found by a Python loop (the only inherently sequential step); everything after it
(link layer, VLAN tags, IPv4/IPv6 headers and extension headers, the policy lookup) is vectorised over
the window's packets. Semantics are exactly those of ``engine.c``, check for check, so a test can demand
identical counters and identical leak records from both engines.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from egressctl.verify.capture import defs as d
from egressctl.verify.capture.np_walk import Batch, walk_ng, walk_pcap
from egressctl.verify.matcher import LEAK, CompiledPolicy
from egressctl.verify.pktparse import ICMP_ERRORS, ICMP_PROTO, Parsed, quote

Arr = np.ndarray[Any, Any]
Kept = tuple[Arr, Arr, Arr, Arr, Arr, Arr]  # kept mask, then idx, proto, sport, dport kept; transport offsets


def _be16(buf: Arr, i: Arr) -> Arr:
    return np.asarray((buf[i].astype(np.int64) << 8) | buf[i + 1])


def _be32(buf: Arr, i: Arr) -> Arr:
    return ((_be16(buf, i) << 16) | _be16(buf, i + 2)).astype(np.uint32)


def _bytes16(buf: Arr, i: Arr) -> Arr:
    return np.asarray(buf[i[:, None] + np.arange(16)], dtype=np.uint8).reshape(-1, 16)


class NumpyEngine:
    """Capture engine in numpy (see the module docstring)."""

    name = "numpy"

    def __init__(self, cp: CompiledPolicy) -> None:
        self.cp = cp
        self.ifaces: list[d.Iface] = []

    def set_ifaces(self, ifaces: list[d.Iface]) -> None:
        """Interfaces of the current section (pcap: exactly one)."""
        self.ifaces = list(ifaces)

    def run(self, win: d.Window, ctx: d.Context) -> tuple[int, int, Arr]:
        """Process ``win`` from ``win.pos`` (at most ``np_walk.BATCH`` packets per call)."""
        batch = Batch()
        if win.array is None:
            win.array = np.frombuffer(win.mv, dtype=np.uint8)
        walk = walk_pcap if ctx.fmt == d.PCAP else walk_ng
        reason, pos = walk(win, ctx, self.ifaces, batch)
        return reason, pos, self._process(win.array, batch, ctx)

    def _process(self, buf: Arr, batch: Batch, ctx: d.Context) -> Arr:
        if not len(batch):
            return np.zeros(0, dtype=d.LEAK_DTYPE)
        off, cap, wire, ts, lt, ifc = batch.columns()
        p = _Packets(self.cp, buf, off, cap, wire, ctx)
        p.count("packets", len(off))
        p.count("bytes", int(wire.sum()))
        p.link_layer(lt)
        p.vlan()
        v4 = np.nonzero(p.alive & (p.et == 0x0800))[0]
        v6 = np.nonzero(p.alive & (p.et == 0x86DD))[0]
        p.count("non_ip", int(p.alive.sum()) - len(v4) - len(v6))
        recs = [p.ipv4(v4), p.ipv6(v6)]
        out = np.concatenate([r[0] for r in recs])
        order = np.argsort(np.concatenate([r[1] for r in recs]), kind="stable")
        out = out[order]
        idx = np.concatenate([r[1] for r in recs])[order]
        out["ts_ns"], out["wirelen"], out["iface"] = ts[idx], wire[idx], ifc[idx]
        return out


class _Packets:
    """The vectorised parse of one batch; ``alive`` marks packets not yet counted as something."""

    def __init__(self, cp: CompiledPolicy, buf: Arr, off: Arr, cap: Arr, wire: Arr, ctx: d.Context) -> None:
        self.cp, self.buf, self.off, self.cap, self.wire, self.ctx = cp, buf, off, cap, wire, ctx
        self.counters = np.ctypeslib.as_array(ctx.counters)  # views: writes reach the ctypes arrays
        self.rule_hits = np.ctypeslib.as_array(ctx.rule_hits)
        n = len(off)
        self.alive = np.zeros(n, dtype=bool)
        self.eth = np.zeros(n, dtype=bool)
        self.et = np.zeros(n, dtype=np.int64)
        self.l3 = np.zeros(n, dtype=np.int64)

    def count(self, name: str, k: int) -> None:
        self.counters[d.C[name]] += np.uint64(k)

    def kill(self, idx: Arr, reason: str) -> None:
        self.count(reason, len(idx))
        self.alive[idx] = False

    def link_layer(self, lt: Arr) -> None:
        for val in np.unique(lt).tolist():
            sel = np.nonzero(lt == val)[0]
            hdr = {1: 14, 113: 16, 276: 20}.get(val)
            if hdr is not None:
                ok = self.cap[sel] >= hdr
                self.count("truncated", int((~ok).sum()))
                sel = sel[ok]
                self.et[sel] = _be16(self.buf, self.off[sel] + (0 if val == 276 else hdr - 2))
                self.l3[sel], self.eth[sel], self.alive[sel] = hdr, True, True
            elif val in (101, 12, 14):
                ok = self.cap[sel] >= 1
                self.count("truncated", int((~ok).sum()))
                sel = sel[ok]
                ver = self.buf[self.off[sel]] >> 4
                self.et[sel] = np.where(ver == 4, 0x0800, np.where(ver == 6, 0x86DD, 0))
                self.count("malformed", int((self.et[sel] == 0).sum()))
                self.alive[sel[self.et[sel] != 0]] = True
            elif val in (228, 229):
                self.et[sel] = 0x0800 if val == 228 else 0x86DD
                self.alive[sel] = True
            else:
                self.count("linktype", len(sel))

    def vlan(self) -> None:
        act = np.nonzero(self.alive & self.eth & np.isin(self.et, d.VLAN_TYPES))[0]
        tagged = act
        tags = 0
        while act.size:
            tags += 1
            if tags > 8:
                self.kill(act, "malformed")
                break
            ok = self.cap[act] >= self.l3[act] + 4
            self.kill(act[~ok], "truncated")
            act = act[ok]
            self.et[act] = _be16(self.buf, self.off[act] + self.l3[act] + 2)
            self.l3[act] += 4
            act = act[np.isin(self.et[act], d.VLAN_TYPES)]
        self.count("vlan", int(self.alive[tagged].sum()))

    def _base(self, idx: Arr, need: int, version: int) -> tuple[Arr, Arr, Arr]:
        n = self.cap[idx] - self.l3[idx]
        ok = n >= need
        self.kill(idx[~ok], "truncated")
        idx, n = idx[ok], n[ok]
        a = self.off[idx] + self.l3[idx]
        good = (self.buf[a] >> 4) == version
        if version == 4:
            good &= (self.buf[a] & 15) >= 5
        self.kill(idx[~good], "malformed")
        self.count("ipv4" if version == 4 else "ipv6", int(good.sum()))
        return idx[good], n[good], a[good]

    def ipv4(self, idx: Arr) -> tuple[Arr, Arr]:
        idx, n, a = self._base(idx, 20, 4)
        src, dst = (_be32(self.buf, a + k) for k in (12, 16))
        subj = self.cp.subject_mask(4, (src,), (dst,))
        self.kill(idx[~subj], "not_subject")
        idx, n, a, src, dst = idx[subj], n[subj], a[subj], src[subj], dst[subj]
        frag = (_be16(self.buf, a + 6) & 0x1FFF) != 0
        self.kill(idx[frag], "fragment")
        idx, n, a, src, dst = idx[~frag], n[~frag], a[~frag], src[~frag], dst[~frag]
        ihl = (self.buf[a] & 15).astype(np.int64) * 4
        keep = self._ports(idx, self.buf[a + 9], n - ihl, a + ihl)
        s16 = np.zeros((len(idx), 16), dtype=np.uint8)
        t16 = np.zeros((len(idx), 16), dtype=np.uint8)
        s16[:, :4] = self.buf[a[:, None] + 12 + np.arange(4)].reshape(-1, 4)
        t16[:, :4] = self.buf[a[:, None] + 16 + np.arange(4)].reshape(-1, 4)
        return self._verdict(4, (src,), (dst,), s16, t16, keep)

    def ipv6(self, idx: Arr) -> tuple[Arr, Arr]:
        idx, n, a = self._base(idx, 40, 6)
        s16, t16 = _bytes16(self.buf, a + 8), _bytes16(self.buf, a + 24)
        sw, tw = (np.ascontiguousarray(x).view(">u8").astype(np.uint64) for x in (s16, t16))
        src, dst = (sw[:, 0], sw[:, 1]), (tw[:, 0], tw[:, 1])
        subj = self.cp.subject_mask(6, src, dst)
        self.kill(idx[~subj], "not_subject")
        idx, n, a, s16, t16 = idx[subj], n[subj], a[subj], s16[subj], t16[subj]
        src, dst = (src[0][subj], src[1][subj]), (dst[0][subj], dst[1][subj])
        nh = self.buf[a + 6].astype(np.int64)
        pos = np.full(len(idx), 40, dtype=np.int64)
        live = np.ones(len(idx), dtype=bool)
        act = np.arange(len(idx))
        for i in range(17):
            act = act[np.isin(nh[act], d.V6_EXT)]
            if not act.size:
                break
            if i >= 16:
                self.kill(idx[act], "malformed")
                live[act] = False
                break
            ok = n[act] >= pos[act] + 8
            self.kill(idx[act[~ok]], "truncated")
            live[act[~ok]] = False
            act = act[ok]
            at = a[act] + pos[act]
            nxt = self.buf[at].astype(np.int64)
            hlen = self.buf[at + 1].astype(np.int64)
            cur = nh[act]
            frag = (cur == 44) & ((_be16(self.buf, at + 2) & 0xFFF8) != 0)
            self.kill(idx[act[frag]], "fragment")
            live[act[frag]] = False
            pos[act] += np.where(cur == 44, 8, np.where(cur == 51, (hlen + 2) * 4, (hlen + 1) * 8))
            nh[act] = nxt
            act = act[~frag]
        sel = np.nonzero(live)[0]
        idx, n, a, pos, nh = idx[sel], n[sel], a[sel], pos[sel], nh[sel]
        keep = self._ports(idx, nh.astype(np.uint8), n - pos, a + pos)
        return self._verdict(6, (src[0][sel], src[1][sel]), (dst[0][sel], dst[1][sel]), s16[sel], t16[sel],
                             keep)

    def _ports(self, idx: Arr, proto: Arr, l4len: Arr, l4: Arr) -> Kept:
        """Read ports of TCP/UDP: (kept mask, idx, proto, sport, dport) after truncation; ``l4`` as given."""
        l4p = (proto == 6) | (proto == 17)
        short = l4p & (l4len < 4)
        self.kill(idx[short], "truncated")
        keep = ~short
        sp = np.zeros(len(idx), dtype=np.int64)
        dp = np.zeros(len(idx), dtype=np.int64)
        rd = np.nonzero(l4p & keep)[0]
        sp[rd] = _be16(self.buf, l4[rd])
        dp[rd] = _be16(self.buf, l4[rd] + 2)
        return keep, idx[keep], proto[keep], sp[keep], dp[keep], l4

    def _verdict(self, fam: int, src: tuple[Arr, ...], dst: tuple[Arr, ...], s16: Arr, t16: Arr,
                 kept: Kept) -> tuple[Arr, Arr]:
        keep, idx, proto, sp, dp, l4 = kept
        src, dst = tuple(x[keep] for x in src), tuple(x[keep] for x in dst)
        self.count("subject", len(idx))
        if self.cp.is_normal:
            self.count("permitted", len(idx))
            return np.zeros(0, dtype=d.LEAK_DTYPE), np.zeros(0, dtype=np.int64)
        codes = self.cp.classify_subject(fam, proto, src, dst, sp, dp)
        perm = codes >= 0
        self.count("permitted", int(perm.sum()))
        hits = np.bincount(codes[perm], minlength=len(self.rule_hits))
        self.rule_hits += hits[: len(self.rule_hits)].astype(np.uint64)
        leak = self._unrelated(fam, np.nonzero(codes == LEAK)[0], idx, proto, keep, l4, t16)
        self.count("leaks", len(leak))
        self.count("leak_bytes", int(self.wire[idx[leak]].sum()))
        rec = np.zeros(len(leak), dtype=d.LEAK_DTYPE)
        rec["sport"], rec["dport"], rec["proto"], rec["family"] = sp[leak], dp[leak], proto[leak], fam
        rec["src"], rec["dst"] = s16[keep][leak], t16[keep][leak]
        return rec, idx[leak]

    def _unrelated(self, fam: int, leak: Arr, idx: Arr, proto: Arr, keep: Arr, l4: Arr, t16: Arr) -> Arr:
        """The ``leak`` positions that stay leaks: ICMP errors of allowed flows are counted ``related``.

        Only ICMP leak packets whose type is an error are looked at, one by one with the reference parser's
        :func:`~egressctl.verify.pktparse.quote` and the scalar matcher: ``engine.c`` runs the same check on
        its leak path, and errors are rare (kernels rate-limit them), so no vectorised twin is worth its code.
        ``l4`` and ``t16`` (transport offsets, destinations) are indexed before ``keep``, and only here.
        """
        icmp = leak[proto[leak] == ICMP_PROTO[fam]]
        if not icmp.size:
            return leak
        pre = np.nonzero(keep)[0][icmp]
        at, end = l4[pre], self.off[idx[icmp]] + self.cap[idx[icmp]]
        err = end - at >= 8
        err[err] = np.isin(self.buf[at[err]], sorted(ICMP_ERRORS[fam]))
        related = []
        for j in np.nonzero(err)[0].tolist():
            dst = int.from_bytes(t16[pre[j]][:4 if fam == 4 else 16].tobytes(), "big")
            q = quote(Parsed(family=fam, proto=int(proto[icmp[j]]), dst=dst),
                      self.buf[int(at[j]):int(end[j])].tobytes())
            if q is not None and self.cp.related(fam, q.proto, q.src, q.dst, q.sport, q.dport):
                related.append(int(icmp[j]))
        self.count("related", len(related))
        return np.setdiff1d(leak, related, assume_unique=True) if related else leak
