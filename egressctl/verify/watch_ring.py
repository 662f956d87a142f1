"""A TPACKET_V3 capture ring read from Python: socket, tiny kernel filter, blocks, drop counters.

Why a ring and not ``recv()`` per packet: the kernel copies packets into a shared memory ring in blocks,
and user space hands back a whole block at a time, so the per-packet cost in Python is zero; only the
walk inside a block is sequential and that runs in a small C helper (``watch_ring.c``, compiled at first
use with the system ``cc``; :func:`walk_block_py` is the pure-Python fallback with the same records).
The socket is non-blocking and driven by ``poll`` with a block retire timeout, so an idle link never
hangs the watch (the libpcap pitfall).

The kernel filter only keeps what can matter: IPv4/IPv6 whose source is inside the site, plus frames that
still carry a VLAN tag in the payload (QinQ), which user space parses. It is a few instructions per
inside prefix, far from the 4096 limit. Its accept value is the snapshot length (headers only).
``PACKET_STATISTICS`` is read (it resets on read, so it is accumulated) to report kernel drops.
"""

from __future__ import annotations

import ctypes
import mmap
import select
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from egressctl.inventory.models import Network
from egressctl.verify import _cbuild

SOL_PACKET, PACKET_RX_RING, PACKET_STATISTICS, PACKET_VERSION = 263, 5, 6, 10
TPACKET_V3, ETH_P_ALL, SO_ATTACH_FILTER = 2, 0x0003, 26
TP_STATUS_USER = 1
SNAPLEN = 256
RECORD = np.dtype([("ts_ns", "<i8"), ("src_h", "<u8"), ("src_l", "<u8"), ("dst_h", "<u8"),
                   ("dst_l", "<u8"), ("wirelen", "<u4"), ("sport", "<u2"), ("dport", "<u2"),
                   ("vlan", "<u2"), ("family", "u1"), ("proto", "u1"), ("status", "u1"), ("vflag", "u1"),
                   ("pad", "<u2")])
S_OK, S_NON_IP, S_TRUNCATED, S_FRAGMENT, S_MALFORMED = 0, 1, 2, 3, 4
SOURCE = Path(__file__).with_name("watch_ring.c")

Insn = tuple[int, int, int, int]


def site_filter(inside: list[Network], snaplen: int = SNAPLEN) -> list[Insn]:
    """Classic BPF: accept IPv4/IPv6 sourced inside ``inside`` and in-payload VLAN tags; drop the rest."""
    asm: list[Any] = [
        (0x28, None, None, 12),                       # ldh [12]: ethertype (outer tag already stripped)
        (0x15, "v4", None, 0x0800), (0x15, "v6", None, 0x86DD),
        (0x15, "accept", None, 0x8100), (0x15, "accept", "drop", 0x88A8), "v4"]
    for i, n in enumerate(x for x in inside if x.version == 4):
        asm += [f"p4.{i}", (0x20, None, None, 26), (0x54, None, None, int(n.netmask)),
                (0x15, "accept", f"p4.{i + 1}", int(n.network_address))]
    asm += [f"p4.{sum(1 for x in inside if x.version == 4)}", (0x05, None, None, "drop"), "v6"]
    v6 = [x for x in inside if x.version == 6]
    for i, n6 in enumerate(v6):
        asm.append(f"p6.{i}")
        words = [(i_w, (int(n6.network_address) >> (96 - 32 * i_w)) & 0xFFFFFFFF,
                  (int(n6.netmask) >> (96 - 32 * i_w)) & 0xFFFFFFFF) for i_w in range(4)]
        used = [w for w in words if w[2]] or [words[0]]
        for j, (iw, word, mask) in enumerate(used):
            last = j == len(used) - 1
            asm += [(0x20, None, None, 22 + 4 * iw), (0x54, None, None, mask),
                    (0x15, "accept" if last else None, f"p6.{i + 1}", word)]
    asm += [f"p6.{len(v6)}", (0x05, None, None, "drop")]
    return _assemble(asm, snaplen)


def _assemble(asm: list[Any], snaplen: int) -> list[Insn]:
    """Resolve labels (strings in the list) to forward jump offsets; add the accept/drop returns."""
    asm = [*asm, "accept", (0x06, None, None, snaplen), "drop", (0x06, None, None, 0)]
    labels: dict[str, int] = {}
    pc = 0
    for item in asm:
        if isinstance(item, str):
            labels[item] = pc
        else:
            pc += 1
    out: list[Insn] = []
    for item in asm:
        if isinstance(item, str):
            continue
        code, jt, jf, k = item
        here = len(out)
        rel = {None: 0} | {name: at - here - 1 for name, at in labels.items()}
        if code == 0x05:  # ja: offset in k
            out.append((code, 0, 0, rel[k]))
        else:
            out.append((code, rel[jt], rel[jf], k))
    if any(not 0 <= jt <= 255 or not 0 <= jf <= 255 for _c, jt, jf, _k in out):
        raise ValueError("site filter too large for BPF jumps: too many inside prefixes")
    return out


def attach_filter(sock: socket.socket, prog: list[Insn]) -> None:
    """Attach a classic BPF program (the kernel copies it)."""
    raw = b"".join(struct.pack("HBBI", *ins) for ins in prog)
    buf = ctypes.create_string_buffer(raw)
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("HL", len(prog), ctypes.addressof(buf)))


class Ring:
    """A TPACKET_V3 receive ring on one interface of the current network namespace."""

    def __init__(self, iface: str, prog: list[Insn] | None, block_size: int = 1 << 20, blocks: int = 64,
                 retire_ms: int = 20) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        if prog is not None:
            attach_filter(self.sock, prog)
        self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
        frame = 2048
        req = struct.pack("IIIIIII", block_size, blocks, frame, block_size // frame * blocks, retire_ms, 0, 0)
        self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
        self.sock.bind((iface, ETH_P_ALL))
        self.sock.setblocking(False)
        self.block_size, self.blocks = block_size, blocks
        self.map = mmap.mmap(self.sock.fileno(), block_size * blocks, mmap.MAP_SHARED,
                             mmap.PROT_READ | mmap.PROT_WRITE)
        self.array = np.frombuffer(self.map, dtype=np.uint8)
        self.base = int(self.array.ctypes.data)
        self.cur = 0
        self.packets = self.drops = 0
        self.poller = select.poll()
        self.poller.register(self.sock.fileno(), select.POLLIN | select.POLLERR)

    def ready_blocks(self, timeout_ms: int) -> Iterator[int]:
        """Yield the offset of each block handed to user space; it goes back to the kernel afterwards."""
        if not self._user(self.cur):
            self.poller.poll(timeout_ms)
        while self._user(self.cur):
            off = self.cur * self.block_size
            yield off
            struct.pack_into("I", self.map, off + 8, 0)  # TP_STATUS_KERNEL: hand the block back
            self.cur = (self.cur + 1) % self.blocks

    def _user(self, index: int) -> bool:
        return bool(struct.unpack_from("I", self.map, index * self.block_size + 8)[0] & TP_STATUS_USER)

    def stats(self) -> tuple[int, int]:
        """Accumulated (packets, drops) from PACKET_STATISTICS (tp_packets counts drops too)."""
        raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 12)
        packets, drops, _freeze = struct.unpack("III", raw)
        self.packets += packets
        self.drops += drops
        return self.packets, self.drops

    def close(self) -> None:
        """Release the mapping and the socket."""
        del self.array
        self.map.close()
        self.sock.close()


_LIB: list[Any] = []


def library() -> Any:
    """The compiled walker (built on first use), or None (then the Python walker is used)."""
    if not _LIB:
        path = _cbuild.build(SOURCE, "watch_ring")
        lib = ctypes.CDLL(str(path)) if path else None
        if lib is not None:
            lib.wr_block.restype = ctypes.c_int64
            lib.wr_block.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64]
            lib.wr_record_size.restype = ctypes.c_int64
            if lib.wr_record_size() != RECORD.itemsize:
                lib = None
        _LIB.append(lib)
    return _LIB[0]


class Walker:
    """Turns a block into records, with the C helper when available."""

    def __init__(self, cap: int = 1 << 16, use_c: bool = True) -> None:
        self.out = np.zeros(cap, dtype=RECORD)
        self.lib = library() if use_c else None
        self.name = "c" if self.lib is not None else "python"

    def walk(self, buf: np.ndarray[Any, Any], offset: int, length: int) -> np.ndarray[Any, Any] | None:
        """Records of the block at ``buf[offset:offset+length]`` (None when the block is malformed)."""
        if self.lib is None:
            from egressctl.verify.watch_parse import walk_block_py

            return walk_block_py(memoryview(buf.data)[offset:offset + length])
        n = int(self.lib.wr_block(int(buf.ctypes.data) + offset, length, int(self.out.ctypes.data),
                                  len(self.out)))
        return None if n < 0 else self.out[:n]
