"""Vectorised lookups in the matcher's compiled tables: many packets per call, same verdicts as one.

Addresses come as ``(uint32,)`` for IPv4 or ``(high, low)`` uint64 halves for IPv6, since numpy has no
128-bit integers; comparisons and binary searches on halves are lexicographic. The scan walks each
packet's class one atom position at a time, for all pending packets at once, so its cost follows the
longest class reached, not the number of rules.
"""

from __future__ import annotations

import numpy as np

from egressctl.verify.match_tables import LEAK, NOT_SUBJECT, OPEN, FamilyTables, IntArray

Addr = tuple[IntArray, ...]  # (uint32,) for IPv4, (high uint64, low uint64) for IPv6



def _ge(a: Addr, b: Addr) -> IntArray:
    """Element-wise ``a >= b`` for addresses split in halves (lexicographic on (high, low))."""
    if len(a) == 1:
        return np.asarray(a[0] >= b[0])
    return np.asarray((a[0] > b[0]) | ((a[0] == b[0]) & (a[1] >= b[1])))


def _rank(bounds: Addr, x: Addr) -> IntArray:
    """``searchsorted(bounds, x, 'right') - 1`` for 32-bit or 128-bit (split) addresses."""
    if len(bounds) == 1:
        return np.searchsorted(bounds[0], x[0], side="right").astype(np.int64) - 1
    bh, bl = bounds
    xh, xl = x
    # Count of bounds with high <= xh, minus those with equal high but low > xl (only where lows differ).
    idx = np.searchsorted(bh, xh, side="right").astype(np.int64)
    tie = np.isin(xh, bh[bl != 0])
    if tie.any():
        sel = np.nonzero(tie)[0]
        for h in np.unique(xh[sel]):
            grp = sel[xh[sel] == h]
            a = int(np.searchsorted(bh, h, side="left"))
            b = int(np.searchsorted(bh, h, side="right"))
            idx[grp] = a + np.searchsorted(bl[a:b], xl[grp], side="right")
    return idx - 1


def inside_mask(arr: dict[str, IntArray], family: int, x: Addr) -> IntArray:
    """Which addresses of ``x`` fall in the site's inside intervals (``arr`` from ``FamilyTables.arrays``)."""
    if family == 4:
        lo: Addr = (arr["inside_lo"],)
        hi: Addr = (arr["inside_hi"],)
    else:
        lo, hi = (arr["inside_lo_h"], arr["inside_lo_l"]), (arr["inside_hi_h"], arr["inside_hi_l"])
    if lo[0].size == 0:
        return np.zeros(x[0].shape, dtype=bool)
    i = _rank(lo, x)
    ok = i >= 0
    ic = np.maximum(i, 0)
    return ok & _ge(tuple(h[ic] for h in hi), x)


def classify(t: FamilyTables, is_normal: bool, proto: IntArray, src: Addr, dst: Addr, sport: IntArray,
             dport: IntArray, assume_subject: bool | None = None) -> IntArray:
    """Vectorised ``CompiledPolicy.code``: a first-match scan, one atom position at a time."""
    family = t.family
    arr = t.arrays()
    proto = np.asarray(proto, dtype=np.uint8)
    l4 = (proto == 6) | (proto == 17)
    sport = np.where(l4, sport, 0).astype(np.int32)
    dport = np.where(l4, dport, 0).astype(np.int32)
    out = np.full(proto.shape, NOT_SUBJECT, dtype=np.int32)
    subject = inside_mask(arr, family, src) & ~inside_mask(arr, family, dst) if assume_subject is None \
        else np.ones(proto.shape, dtype=bool)
    if is_normal:
        out[subject] = OPEN
        return out
    pending = np.nonzero(subject)[0]
    out[pending] = LEAK
    if family == 4:
        bounds: Addr = (arr["bounds"],)
        s_lo: Addr = (arr["src_lo"],)
        s_hi: Addr = (arr["src_hi"],)
    else:
        bounds = (arr["bounds_h"], arr["bounds_l"])
        s_lo, s_hi = (arr["src_lo_h"], arr["src_lo_l"]), (arr["src_hi_h"], arr["src_hi_l"])
    cls = arr["interval_class"][_rank(bounds, tuple(d[pending] for d in dst))]
    k = 0
    while pending.size:
        has = k < arr["class_len"][cls]
        pending, cls = pending[has], cls[has]
        a = arr["class_start"][cls] + k
        ap = arr["proto"][a]
        ps = tuple(s[pending] for s in src)
        sp, dp = sport[pending], dport[pending]
        m = (((ap == 0) | (ap == proto[pending])) & _ge(ps, tuple(x[a] for x in s_lo))
             & _ge(tuple(x[a] for x in s_hi), ps) & (sp >= arr["sp_lo"][a]) & (sp <= arr["sp_hi"][a])
             & (dp >= arr["dp_lo"][a]) & (dp <= arr["dp_hi"][a]))
        out[pending[m]] = arr["code"][a[m]]
        pending, cls = pending[~m], cls[~m]
        k += 1
    return out
