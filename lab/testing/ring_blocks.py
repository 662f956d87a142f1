"""TPACKET_V3 blocks laid out as the kernel hands them to user space, for the watch walkers' tests.

The watch's walkers (C ``ring_walk.c`` and Python ``pywalk``) read retired ring blocks; building the same
bytes here lets tests feed them frames built by scapy, garbage, and tags the kernel "stripped", without a
live link.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

MAC_OFFSET = 82  # where the frame starts inside each packet slot (the kernel's tp_mac)


def tpacket_block(frames: Sequence[tuple[bytes, int | None]]) -> bytes:
    """One block holding ``frames`` (bytes, VLAN id the kernel stripped or None), headers in host order."""
    body, mac = bytearray(b"\0" * 48), MAC_OFFSET
    for i, (f, vlan) in enumerate(frames):
        size = (mac + len(f) + 7) & ~7
        nxt = 0 if i == len(frames) - 1 else size
        status = 1 | (16 if vlan is not None else 0)  # TP_STATUS_USER, TP_STATUS_VLAN_VALID
        hdr = struct.pack("=IIIIIIHHIIHH8x", nxt, 1, 2, len(f), len(f) + 10, status, mac, mac + 14, 0,
                          vlan or 0, 0x8100 if vlan is not None else 0, 0)
        body += hdr + b"\0" * (mac - len(hdr)) + f + b"\0" * (size - mac - len(f))
    struct.pack_into("=IIIII", body, 0, 3, 0, 1, len(frames), 48)
    return bytes(body) + b"\0" * 64
