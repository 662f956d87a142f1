"""A TPACKET_V3 capture ring read from Python: socket, kernel filter, blocks, drop counters.

Why a ring and not ``recv()`` per packet: the kernel copies packets into a shared memory ring in blocks,
and user space hands back a whole block at a time, so the per-packet cost in Python is zero; only the
walk inside a block is sequential and that is the walker's (:mod:`walker`). The socket is non-blocking
and driven by ``poll`` with a block retire timeout, so an idle link never hangs the watch (the libpcap
pitfall). ``PACKET_STATISTICS`` is read (it resets on read, so it is accumulated) to report kernel drops.
"""

from __future__ import annotations

import ctypes
import mmap
import select
import socket
import struct
from collections.abc import Iterator

from egressctl.verify.watch.bpf import Insn, attach_filter

SOL_PACKET, PACKET_RX_RING, PACKET_STATISTICS, PACKET_VERSION = 263, 5, 6, 10
TPACKET_V3, ETH_P_ALL = 2, 0x0003
TP_STATUS_USER = 1


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
        self._view = ctypes.c_char.from_buffer(self.map)  # no numpy: an idle watch never imports it
        self.address = ctypes.addressof(self._view)  # of block 0, for the C walker
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
        del self._view  # the mapping cannot close while a ctypes view exports it
        self.map.close()
        self.sock.close()

