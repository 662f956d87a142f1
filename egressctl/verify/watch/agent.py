"""The capture-point side of the live leak watch: ring -> records -> exact verdicts -> JSON lines.

Runs inside the namespace (or on the host) that sees the upstream link: ``python -m
egressctl.verify.watch.agent`` reads its job (the target's compiled policy as plain data, the site's inside
prefixes, target, interface, seconds, exit) as JSON on stdin and prints one JSON object per line:
``start``, ``leak`` (the first packet of each new leak flow, as it happens), ``stats`` (every second:
packets, leaks, unverified, kernel drops, CPU) and ``end`` (totals and every leak flow with its packet
count). Every packet that reaches user space gets an exact verdict from
VERIFY-A's compiled policy, vectorised over a whole ring block; packets that cannot be verified
(truncated, malformed, non-first fragments of subject traffic) are counted as unverified, never passed;
ICMP errors whose quoted datagram belongs to a flow the policy allows are counted as ``related``, not leaks.

The controller compiles the policy once (:func:`egressctl.verify.watch.session.agent_job`), so an agent
imports neither the inventory models (pydantic) nor the policy code: in an estate, twenty of these start at
once on a loaded machine, and what each imports is paid twenty times.
"""

from __future__ import annotations

import ipaddress
import json
import struct
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from egressctl.verify.matcher import LEAK, CompiledPolicy
from egressctl.verify.plain import compiled_policy
from egressctl.verify.watch.bpf import site_filter
from egressctl.verify.watch.layout import PACKED, S_FRAGMENT, S_MALFORMED, S_NON_IP, S_OK, S_TRUNCATED
from egressctl.verify.watch.ring import Ring
from egressctl.verify.watch.walker import Walker

if TYPE_CHECKING:
    import numpy as np

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Emit = Callable[[dict[str, Any]], None]
FlowKey = tuple[int, int, str, str, int, int, int]  # family, proto, src, dst, sport, dport, vlan (-1: none)
_KEY_FIELDS = ["family", "proto", "src_h", "src_l", "dst_h", "dst_l", "sport", "dport", "vlan", "vflag"]
RawKey = tuple[int, ...]  # the _KEY_FIELDS values of a record: numpy's sort order of unique keys
Batch = list[tuple[RawKey, list[int]]]  # per raw key: [packets, bytes, first ns, last ns], sorted by key
#: Batches up to this many records are judged one by one in Python (the matcher's scalar path, the same
#: verdicts); a bigger one imports numpy once and the watch stays vectorised from then on.
SCALAR_BATCH = 512
_U32 = 0xFFFFFFFF


def _addr(family: int, hi: int, lo: int) -> str:
    return str(ipaddress.ip_address(lo if family == 4 else (hi << 64) | lo))


def flow_dict(key: FlowKey) -> dict[str, Any]:
    """JSON form of a flow key."""
    fam, proto, src, dst, sport, dport, vlan = key
    return {"family": fam, "proto": proto, "src": src, "dst": dst, "sport": sport, "dport": dport,
            "vlan": None if vlan < 0 else vlan}


@dataclass
class FlowStats:
    """Packets, bytes and first/last time (ns) of one leak flow."""

    packets: int = 0
    bytes: int = 0
    first_ns: int = 0
    last_ns: int = 0


@dataclass
class Watcher:
    """Exact verdicts for batches of records; counters and leak flows.

    Two paths with the same results: :meth:`feed` (a numpy record array, vectorised) and
    :meth:`feed_rows` (records as tuples, one by one with the matcher's scalar lookup); :meth:`feed_packed`
    picks one for the C walker's packed records. Both hand their leak packets to :meth:`_add_flows`
    grouped by raw key in numpy's sort order, so flows, their first times and the order in which new
    flows are reported are the same whichever path ran.
    """

    cp: CompiledPolicy
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("packets", "bytes", "subject", "permitted", "leaks", "not_subject", "non_ip", "truncated",
         "fragment", "malformed", "block", "related"), 0))
    flows: dict[FlowKey, FlowStats] = field(default_factory=dict)

    @property
    def unverified(self) -> int:
        """Packets that could not be given a verdict."""
        c = self.counters
        return c["truncated"] + c["fragment"] + c["malformed"] + c["block"]

    def feed_packed(self, data: memoryview) -> list[FlowKey]:
        """Classify packed records (:data:`PACKED` each); numpy only for a big batch or once imported."""
        n = len(data) // PACKED.size
        if n <= SCALAR_BATCH and "numpy" not in sys.modules:
            return self.feed_rows(PACKED.iter_unpack(data))
        import numpy as np

        from egressctl.verify.watch.records import RECORD

        return self.feed(np.frombuffer(data, dtype=RECORD, count=n))

    def feed_rows(self, rows: Iterable[tuple[int, ...]]) -> list[FlowKey]:
        """Classify records given as tuples (FIELDS order); returns the leak flows seen for the first time."""
        c, cp = self.counters, self.cp
        leaks: dict[RawKey, list[int]] = {}
        for ts, sh, sl, dh, dl, wirelen, sp, dp, vlan, fam, proto, status, vflag, quote, qp, qdh, qdl, qsp, \
                qdp, _pad in rows:
            c["packets"] += 1
            c["bytes"] += wirelen
            if status in (S_NON_IP, S_TRUNCATED, S_MALFORMED):
                c[{S_NON_IP: "non_ip", S_TRUNCATED: "truncated", S_MALFORMED: "malformed"}[status]] += 1
                continue
            if status not in (S_OK, S_FRAGMENT) or fam not in (4, 6):
                continue
            src, dst = (sl & _U32, dl & _U32) if fam == 4 else ((sh << 64) | sl, (dh << 64) | dl)
            if not cp.inside(fam, src) or cp.inside(fam, dst):
                c["not_subject"] += 1
            elif status == S_FRAGMENT:
                c["fragment"] += 1
            elif cp.code(fam, proto, src, dst, sp, dp) != LEAK:
                c["subject"] += 1
                c["permitted"] += 1
            elif quote and cp.related(fam, qp, dst, qdl & _U32 if fam == 4 else (qdh << 64) | qdl, qsp, qdp):
                c["subject"] += 1
                c["related"] += 1  # an ICMP error of an allowed flow: not a leak
            else:
                c["subject"] += 1
                c["leaks"] += 1
                st = leaks.setdefault((fam, proto, sh, sl, dh, dl, sp, dp, vlan, vflag), [0, 0, ts, ts])
                st[0], st[1], st[3] = st[0] + 1, st[1] + wirelen, max(st[3], ts)
        return self._add_flows(sorted(leaks.items()))

    def feed(self, rec: np.ndarray[Any, Any]) -> list[FlowKey]:
        """Classify one batch (a numpy record array); returns the leak flows seen for the first time."""
        import numpy as np

        c = self.counters
        status = rec["status"]
        c["packets"] += len(rec)
        c["bytes"] += int(rec["wirelen"].sum(dtype=np.uint64))
        c["non_ip"] += int(np.count_nonzero(status == S_NON_IP))
        c["truncated"] += int(np.count_nonzero(status == S_TRUNCATED))
        c["malformed"] += int(np.count_nonzero(status == S_MALFORMED))
        new: list[FlowKey] = []
        for fam in (4, 6):
            sel = rec[((status == S_OK) | (status == S_FRAGMENT)) & (rec["family"] == fam)]
            if len(sel):
                new += self._family(fam, sel)
        return new

    def _family(self, fam: int, sel: np.ndarray[Any, Any]) -> list[FlowKey]:
        import numpy as np

        c = self.counters
        src = (sel["src_l"].astype(np.uint32),) if fam == 4 else (sel["src_h"], sel["src_l"])
        dst = (sel["dst_l"].astype(np.uint32),) if fam == 4 else (sel["dst_h"], sel["dst_l"])
        subject = self.cp.subject_mask(fam, src, dst)
        c["not_subject"] += int(np.count_nonzero(~subject))
        frag = subject & (sel["status"] == S_FRAGMENT)
        c["fragment"] += int(np.count_nonzero(frag))
        ok = subject & ~frag
        if not ok.any():
            return []
        s = sel[ok]
        codes = self.cp.classify_subject(fam, s["proto"], tuple(a[ok] for a in src),
                                         tuple(a[ok] for a in dst), s["sport"], s["dport"])
        leak = codes == LEAK
        c["subject"] += len(s)
        c["permitted"] += len(s) - int(np.count_nonzero(leak))
        self._related(fam, s, tuple(a[ok] for a in dst), leak)
        c["leaks"] += int(np.count_nonzero(leak))
        return self._add_flows(_grouped(s[leak])) if leak.any() else []

    def _related(self, fam: int, s: np.ndarray[Any, Any], dst: tuple[Any, ...], leak: Any) -> None:
        """Clear ``leak`` for ICMP errors of allowed flows (the quote, reversed, is permitted); count them."""
        import numpy as np

        q = np.nonzero(leak & (s["quote"] == 1))[0]
        if not q.size:
            return
        qs = tuple(a[q] for a in dst)  # the quoted source is the error's destination (pktparse.quote)
        qd = (s["q_dst_l"][q].astype(np.uint32),) if fam == 4 else (s["q_dst_h"][q], s["q_dst_l"][q])
        rel = q[self.cp.related_mask(fam, s["q_proto"][q], qs, qd, s["q_sport"][q], s["q_dport"][q])]
        leak[rel] = False
        self.counters["related"] += len(rel)

    def _add_flows(self, batch: Batch) -> list[FlowKey]:
        """Add one batch's leak packets (grouped, sorted by raw key) to the flows; the new flows, in order."""
        new: list[FlowKey] = []
        for raw, (packets, nbytes, first, last) in batch:
            fam, proto, sh, sl, dh, dl, sport, dport, vlan, vflag = raw
            key: FlowKey = (fam, proto, _addr(fam, sh, sl), _addr(fam, dh, dl), sport, dport,
                            vlan if vflag else -1)
            st = self.flows.get(key)
            if st is None:
                st = self.flows[key] = FlowStats(first_ns=first)
                new.append(key)
            st.packets += packets
            st.bytes += nbytes
            st.last_ns = max(st.last_ns, last)
        return new


def _grouped(leaks: np.ndarray[Any, Any]) -> Batch:
    """Leak records grouped by raw key, in key order: [packets, bytes, first ns, last ns] each."""
    import numpy as np

    keys = np.ascontiguousarray(leaks[_KEY_FIELDS])
    uniq, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    nbytes = np.bincount(inverse.reshape(-1), weights=leaks["wirelen"], minlength=len(uniq))
    last = np.zeros(len(uniq), dtype=np.int64)
    np.maximum.at(last, inverse.reshape(-1), leaks["ts_ns"])
    return [(tuple(int(u[f]) for f in _KEY_FIELDS),
             [int(counts[i]), int(nbytes[i]), int(leaks["ts_ns"][first[i]]), int(last[i])])
            for i, u in enumerate(uniq)]


def run_agent(cp: CompiledPolicy, inside: list[Network], target: str, iface: str, seconds: float,
              exit_name: str, emit: Emit, use_c: bool = True) -> dict[str, Any]:
    """Watch ``iface`` for ``seconds`` with ``cp`` (``inside``: the site's prefixes, for the kernel filter).

    Emits events as they happen and returns the ``end`` event.
    """
    prog = site_filter(inside)
    ring, walker, w = Ring(iface, prog), Walker(use_c=use_c), Watcher(cp)
    base = {"exit": exit_name, "iface": iface}
    emit({"event": "start", **base, "target": target, "bpf_instructions": len(prog), "walker": walker.name,
          "ring_bytes": ring.block_size * ring.blocks})
    t0, cpu0 = time.monotonic(), time.process_time()
    end, next_stats = t0 + seconds, t0 + 1.0

    def drain(timeout_ms: int) -> None:
        for off in ring.ready_blocks(timeout_ms):
            rec = walker.block(ring.map, ring.address, off, ring.block_size)
            if rec is None:
                w.counters["block"] += struct.unpack_from("I", ring.map, off + 12)[0]  # its packets
                continue
            for key in (w.feed_packed(rec) if isinstance(rec, memoryview) else w.feed(rec)):
                st = w.flows[key]
                emit({"event": "leak", **base, "flow": flow_dict(key), "first_ns": st.first_ns})

    def snapshot(kind: str) -> dict[str, Any]:
        kpackets, drops = ring.stats()
        cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
        return {"event": kind, **base, "elapsed_s": round(wall, 3), "cpu_s": round(cpu, 3),
                "kernel_packets": kpackets, "kernel_drops": drops, "unverified": w.unverified,
                "counters": dict(w.counters), "leak_flows": len(w.flows),
                "pps": round(w.counters["packets"] / wall, 1) if wall else 0.0,
                "packets_per_cpu_s": round(w.counters["packets"] / cpu, 1) if cpu else None}

    try:
        while (now := time.monotonic()) < end:
            drain(max(1, min(100, int((end - now) * 1000))))
            if time.monotonic() >= next_stats:
                emit(snapshot("stats"))
                next_stats += 1.0
        drain(60)  # the block still open when time ran out retires after the ring's timeout
        final = snapshot("end")
        final["flows"] = [{**flow_dict(k), "packets": v.packets, "bytes": v.bytes, "first_ns": v.first_ns,
                           "last_ns": v.last_ns} for k, v in w.flows.items()]
        emit(final)
        return final
    finally:
        ring.close()


def main() -> int:
    """Entry point: job JSON on stdin, events as JSON lines on stdout."""
    job = json.loads(sys.stdin.read())

    def emit(event: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    try:
        cp = compiled_policy(job["policy"])
        inside = [ipaddress.ip_network(str(n)) for n in job["inside"]]
        run_agent(cp, inside, job["target"], job["iface"], float(job["seconds"]), job.get("exit", "?"),
                  emit, use_c=not job.get("python_walker", False))
    except Exception as exc:  # reported as an event: the parent decides, never a silent pass
        emit({"event": "error", "exit": job.get("exit", "?"), "iface": job.get("iface"),
              "error": f"{type(exc).__name__}: {exc}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
