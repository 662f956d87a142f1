"""The capture generator's record layout: headers and pcap/pcapng records written with numpy, no scapy.

Every function works on whole columns (one numpy array per header field, one row per packet), so a chunk
of 200k packets is laid out in a fraction of a second. Truncated packets are built whole aside and only
their captured prefix is copied into the record, so no write can spill into a neighbouring record.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from egressctl_lab.testing.capture_icmp_errors import icmp_errors

Arr = np.ndarray[Any, Any]


def _put(buf: Arr, pos: Arr, vals: Any, nbytes: int, order: str = ">") -> None:
    """Write integers of ``nbytes`` at ``pos`` (network order unless ``order`` is ``<``)."""
    v = np.asarray(vals).astype(np.uint64)
    for k in range(nbytes):
        shift = 8 * (nbytes - 1 - k) if order == ">" else 8 * k
        buf[pos + k] = ((v >> np.uint64(shift)) & np.uint64(0xFF)).astype(np.uint8)


def _frames(f: dict[str, Arr]) -> tuple[Arr, Arr, dict[str, Arr]]:
    """Frame (wire) length, captured length and header offsets of every row."""
    fam, proto = f["fam"], f["proto"]
    l2 = 14 + 4 * f["tags"].astype(np.int64)
    ext = np.select([f["ext"] == 1, f["ext"] >= 2], [24, 8], 0)
    l3 = np.where(fam == 4, 20 + f["opt"], np.where(fam == 6, 40 + ext, 28))
    l4 = np.select([proto == 6, proto == 17, (proto == 1) | (proto == 58), proto == 47], [20, 8, 8, 4], 0)
    l4 = np.where(fam == 0, 0, l4)
    l4 = np.where(f["qtype"] > 0, np.where(fam == 4, 36, 56), l4)  # ICMP error: header, quoted IP + 8 bytes
    wire = np.maximum(f["size"], l2 + l3 + l4)
    cap = np.where(f["cut"] >= 0, np.minimum(f["cut"], wire), wire)
    return wire, cap, {"l2": l2, "l3": l3, "ext": ext}


def _encode_packets(buf: Arr, d0: Arr, f: dict[str, Arr], wire: Arr, h: dict[str, Arr]) -> None:
    """Write every frame's headers at offsets ``d0`` (payload bytes stay zero)."""
    n = len(d0)
    buf[d0[:, None] + np.arange(12)] = np.frombuffer(b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02",
                                                     dtype=np.uint8)
    fam, tags = f["fam"], f["tags"]
    et = np.where(fam == 4, 0x0800, np.where(fam == 6, 0x86DD, 0x0806))
    p = d0 + 12
    outer = np.nonzero(tags == 2)[0]
    _put(buf, p[outer], 0x88A8, 2)
    _put(buf, p[outer] + 2, 100, 2)
    p = p + 4 * (tags == 2)
    one = np.nonzero(tags >= 1)[0]
    _put(buf, p[one], 0x8100, 2)
    _put(buf, p[one] + 2, 10 + (np.arange(n)[one] % 200), 2)
    p = p + 4 * (tags >= 1)
    _put(buf, p, et, 2)
    a = p + 2  # L3 start
    _ipv4(buf, a, f, wire, h)
    _ipv6(buf, a, f, wire, h)
    arp = np.nonzero(fam == 0)[0]
    _put(buf, a[arp], 0x0001080006040001, 8)
    l4 = a + h["l3"]
    proto = f["proto"] * (fam != 0)
    ports = np.nonzero((proto == 6) | (proto == 17))[0]
    _put(buf, l4[ports], f["sp"][ports], 2)
    _put(buf, l4[ports] + 2, f["dp"][ports], 2)
    tcp = np.nonzero(proto == 6)[0]
    _put(buf, l4[tcp] + 12, 0x5002, 2)
    _put(buf, l4[tcp] + 14, 0xFFFF, 2)
    udp = np.nonzero(proto == 17)[0]
    _put(buf, l4[udp] + 4, wire[udp] - (l4[udp] - d0[udp]), 2)
    icmp = np.nonzero((proto == 1) | (proto == 58))[0]
    buf[l4[icmp]] = np.where(proto[icmp] == 1, 8, 128).astype(np.uint8)
    icmp_errors(buf, l4, f, _put)
    gre = np.nonzero(proto == 47)[0]
    _put(buf, l4[gre] + 2, 0x0800, 2)


def _ipv4(buf: Arr, a: Arr, f: dict[str, Arr], wire: Arr, h: dict[str, Arr]) -> None:
    r = np.nonzero(f["fam"] == 4)[0]
    a = a[r]
    ver = np.where(f["badver"][r], 5, 4)
    buf[a] = ((ver << 4) | (5 + f["opt"][r] // 4)).astype(np.uint8)
    _put(buf, a + 2, wire[r] - h["l2"][r], 2)
    _put(buf, a + 4, r & 0xFFFF, 2)
    _put(buf, a + 6, np.select([f["frag"][r] == 1, f["frag"][r] == 2], [0x2000, 185], 0), 2)
    buf[a + 8] = 64
    buf[a + 9] = f["proto"][r]
    _put(buf, a + 12, f["s4"][r], 4)
    _put(buf, a + 16, f["d4"][r], 4)
    opt = np.nonzero(f["opt"][r] > 0)[0]
    for k in range(40):  # NOP options
        sel = opt[f["opt"][r][opt] > k]
        buf[a[sel] + 20 + k] = 1


def _ipv6(buf: Arr, a: Arr, f: dict[str, Arr], wire: Arr, h: dict[str, Arr]) -> None:
    r = np.nonzero(f["fam"] == 6)[0]
    a = a[r]
    ext, proto = f["ext"][r], f["proto"][r]
    buf[a] = np.where(f["badver"][r], 0x70, 0x60).astype(np.uint8)
    _put(buf, a + 4, wire[r] - h["l2"][r] - 40, 2)
    buf[a + 6] = np.select([ext == 1, ext >= 2], [0, 44], proto.astype(np.int64)).astype(np.uint8)
    buf[a + 7] = 64
    for off, col in ((8, "sh"), (16, "sl"), (24, "dh"), (32, "dl")):
        _put(buf, a + off, f[col][r], 8)
    e = a + 40
    chain = np.nonzero(ext == 1)[0]  # hop-by-hop (PadN), destination options (PadN), routing
    _put(buf, e[chain], 0x3C00010400000000, 8)
    _put(buf, e[chain] + 8, 0x2B00010400000000, 8)
    buf[e[chain] + 16] = proto[chain]
    frag = np.nonzero(ext >= 2)[0]
    buf[e[frag]] = proto[frag]
    _put(buf, e[frag] + 2, np.where(ext[frag] == 2, 1, 185 << 3), 2)
    _put(buf, e[frag] + 4, frag + 1, 4)


def records(f: dict[str, Arr], ts: Arr, opts: Any) -> Arr:
    """One chunk's records (pcap records or pcapng enhanced packet blocks) as one byte array."""
    wire, cap, h = _frames(f)
    ng = opts.fmt == "pcapng"
    hdr = 28 if ng else 16
    rec_len = hdr + (((cap + 3) // 4) * 4 + 4 if ng else cap)
    offs = np.concatenate([[0], np.cumsum(rec_len)[:-1]]).astype(np.int64)
    buf = np.zeros(int(rec_len.sum()), dtype=np.uint8)
    d0 = offs + hdr
    whole = np.nonzero(cap == wire)[0]
    _encode_packets(buf, d0[whole], {k: v[whole] for k, v in f.items()}, wire[whole],
                    {k: v[whole] for k, v in h.items()})
    cut = np.nonzero(cap != wire)[0]
    if cut.size:  # truncated records: build whole frames aside, keep the captured part
        s0 = np.concatenate([[0], np.cumsum(wire[cut])[:-1]]).astype(np.int64)
        scratch = np.zeros(int(wire[cut].sum()), dtype=np.uint8)
        _encode_packets(scratch, s0, {k: v[cut] for k, v in f.items()}, wire[cut],
                        {k: v[cut] for k, v in h.items()})
        for j, i in enumerate(cut.tolist()):
            buf[d0[i]: d0[i] + cap[i]] = scratch[s0[j]: s0[j] + cap[i]]
    o = opts.byte_order
    if ng:
        units = np.where(f["iface"] == 1, ts, ts // 1000)
        for off, val in ((0, 6), (4, rec_len), (8, f["iface"]), (12, units >> 32), (16, units & 0xFFFFFFFF),
                         (20, cap), (24, wire)):
            _put(buf, offs + off, val, 4, o)
        _put(buf, offs + rec_len - 4, rec_len, 4, o)
    else:
        frac = ts % 1_000_000_000 if opts.nanosecond else (ts % 1_000_000_000) // 1000
        for off, val in ((0, ts // 1_000_000_000), (4, frac), (8, cap), (12, wire)):
            _put(buf, offs + off, val, 4, o)
    return buf


def file_header(opts: Any) -> bytes:
    """The pcap global header, or the pcapng section header and two interfaces (us and ns)."""
    o = opts.byte_order
    if opts.fmt == "pcap":
        magic = 0xA1B23C4D if opts.nanosecond else 0xA1B2C3D4
        return struct.pack(o + "IHHiIII", magic, 2, 4, 0, 0, 262144, 1)
    shb = struct.pack(o + "IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
    idb0 = struct.pack(o + "IIHHII", 1, 20, 1, 0, 262144, 20)
    idb1 = struct.pack(o + "IIHHIHHB3xHHI", 1, 32, 1, 0, 262144, 9, 1, 9, 0, 0, 32)
    return shb + idb0 + idb1
