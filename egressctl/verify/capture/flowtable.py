"""Leak records folded into leak *flows* (5-tuples with packets, bytes, first and last seen), either engine.

The C path folds leaks in C (``flows.c``, one table per thread, merged); the numpy path folds each bounded
batch of records with numpy here (:class:`FlowTable`). Both end as the same ``{key: [packets, bytes,
first_ns, last_ns]}`` mapping and the same sorted :class:`LeakFlow` list, so a report does not depend on
the engine or on how many threads read the file. Memory follows the number of distinct flows, not the
size of the file.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from egressctl.verify.capture import defs as d
from egressctl.verify.flows import LeakFlow

if TYPE_CHECKING:
    from egressctl.verify.capture.c_engine import Flow

FlowKey = tuple[int, int, bytes, bytes, int, int]  # family, proto, src, dst, sport, dport
Flows = dict[FlowKey, list[int]]                    # key -> [packets, bytes, first_ns, last_ns]


def fold(flows: Flows, key: FlowKey, packets: int, nbytes: int, first: int, last: int) -> None:
    """Add one flow's figures to ``flows`` (sums, earliest first, latest last)."""
    acc = flows.get(key)
    if acc is None:
        flows[key] = [packets, nbytes, first, last]
    else:
        acc[0] += packets
        acc[1] += nbytes
        acc[2] = min(acc[2], first)
        acc[3] = max(acc[3], last)


def from_c(exported: Iterable[Flow]) -> Flows:
    """The flows of a C table (``c_engine.CFlows.export``)."""
    out: Flows = {}
    for f in exported:
        n = 4 if f.family == 4 else 16
        key: FlowKey = (f.family, f.proto, bytes(f.src)[:n], bytes(f.dst)[:n], f.sport, f.dport)
        fold(out, key, f.packets, f.bytes, f.first_ns, f.last_ns)
    return out


def leak_flows(flows: Flows) -> list[LeakFlow]:
    """Flows, most packets first (then by 5-tuple, for a stable order)."""
    def addr(raw: bytes) -> str:
        return str(ipaddress.ip_address(raw))

    out = [LeakFlow(k[0], k[1], addr(k[2]), addr(k[3]), k[4], k[5], *v) for k, v in flows.items()]
    out.sort(key=lambda f: (-f.packets, f.family, f.src, f.dst, f.proto, f.sport, f.dport))
    return out


class FlowTable:
    """Leak records (numpy ``LEAK_DTYPE`` batches) folded into flows, one bounded batch at a time."""

    KEY_FIELDS = ("family", "proto", "sport", "dport", "src", "dst")

    def __init__(self) -> None:
        self.flows: Flows = {}

    def add(self, recs: Any) -> None:
        """Fold one batch of ``LEAK_DTYPE`` records in."""
        import numpy as np

        keys = np.zeros(len(recs), dtype=[(f, d.LEAK_DTYPE[f]) for f in self.KEY_FIELDS])
        for f in self.KEY_FIELDS:
            keys[f] = recs[f]
        raw = keys.view(np.dtype((np.void, keys.dtype.itemsize)))
        uniq, first, inv = np.unique(raw, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
        count = np.bincount(inv, minlength=len(uniq))
        nbytes = np.bincount(inv, weights=recs["wirelen"], minlength=len(uniq))
        lo = np.full(len(uniq), np.iinfo(np.int64).max, dtype=np.int64)
        hi = np.full(len(uniq), np.iinfo(np.int64).min, dtype=np.int64)
        np.minimum.at(lo, inv, recs["ts_ns"])
        np.maximum.at(hi, inv, recs["ts_ns"])
        for i, j in enumerate(first.tolist()):
            r = recs[j]
            n = 4 if int(r["family"]) == 4 else 16
            key: FlowKey = (int(r["family"]), int(r["proto"]), bytes(r["src"][:n]), bytes(r["dst"][:n]),
                            int(r["sport"]), int(r["dport"]))
            fold(self.flows, key, int(count[i]), int(nbytes[i]), int(lo[i]), int(hi[i]))

    def leak_flows(self) -> list[LeakFlow]:
        """Flows, most packets first (then by 5-tuple, for a stable order)."""
        return leak_flows(self.flows)
