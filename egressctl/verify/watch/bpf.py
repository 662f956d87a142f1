"""The watch's kernel filter: classic BPF that keeps only packets leaving the site's inside.

The kernel filter only keeps what can matter: IPv4/IPv6 whose source is inside the site, plus frames that
still carry a VLAN tag in the payload (QinQ), which user space parses. It is a few instructions per
inside prefix, far from the 4096 limit. Its accept value is the snapshot length (headers only).
"""

from __future__ import annotations

import ctypes
import socket
import struct
from typing import TYPE_CHECKING, Any

from egressctl.verify.watch.layout import SNAPLEN

if TYPE_CHECKING:  # the agent imports this module and must not pay for the inventory models
    from egressctl.inventory.models import Network

SO_ATTACH_FILTER = 26
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

