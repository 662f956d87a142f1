"""The probe engine: thousands of probes in about one timeout, from the host it runs on.

This is what ``egressctl probe --json --plan FILE|-`` runs inside a vantage point. Every probe is a packet
patched from a template (see :mod:`wire`) and sent through one raw socket per family (the
kernel routes it, so no neighbour or gateway handling here). One ``AF_PACKET`` socket receives every
incoming IPv4/IPv6 packet (a 4-instruction kernel filter drops our own outgoing ones); replies are matched
to probes by key as they come, interleaved with sending, so the whole matrix costs one timeout plus
milliseconds. The kernel sees SYN-ACKs for sockets it does not know and answers them with RSTs; the packet
socket sees the SYN-ACK before that, so it is harmless.

Silent probes are sent once more at half the timeout: a probe lost to a full neighbour queue or a busy
link would otherwise look "blocked". Outcomes (``answered``, ``refused``, ``silent``) and who refused are
decided in :mod:`classify`; a verdict never depends on an ICMP refusal arriving, since routers
rate-limit them.
"""

from __future__ import annotations

import errno
import random
import select
import socket
import struct
import time
from typing import Any

from egressctl.errors import VerificationError
from egressctl.verify.probe.classify import RawOutcome, classify
from egressctl.verify.probe.records import Probe, ProbeRun, plan_from_json
from egressctl.verify.probe.wire import build, packed, parse_reply, probe_key, template

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
PACKET_OUTGOING = 4
RCVBUF = 64 << 20
_SEND_CHUNK = 256


def source_for(family: int, dst: str) -> str:
    """The source address the kernel would use toward ``dst`` (a connected UDP socket sends nothing)."""
    with socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6, socket.SOCK_DGRAM) as s:
        try:
            s.connect((dst, 9))
        except OSError:
            return "0.0.0.0" if family == 4 else "::"  # noqa: S104 (unknown: let the kernel fill it)
        return str(s.getsockname()[0])


def _attach_no_outgoing(sock: socket.socket) -> None:
    """Kernel filter: drop packets we send ourselves, keep every incoming one."""
    import ctypes

    insns = [(0x20, 0, 0, 0xFFFFF000 + 4),  # ld [SKF_AD_PKTTYPE]
             (0x15, 1, 0, PACKET_OUTGOING),  # jeq OUTGOING -> drop
             (0x06, 0, 0, 0x40000), (0x06, 0, 0, 0)]
    prog = b"".join(struct.pack("HBBI", *i) for i in insns)
    buf = ctypes.create_string_buffer(prog)
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("HL", len(insns), ctypes.addressof(buf)))


def _receiver() -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    _attach_no_outgoing(sock)
    sock.setblocking(False)
    return sock


def _quiet_udp(ports: list[tuple[int, str, int]], limit: int = 512) -> list[socket.socket]:
    """Bind the UDP probes' source ports so the kernel does not answer replies with port unreachable.

    Those ICMP errors would leave the site toward the probed destination and show up in a live watch as
    leaks the verification itself caused. The packet socket still sees every reply. Bounded (file
    descriptors); a port already in use is simply skipped.
    """
    out: list[socket.socket] = []
    for family, src, port in ports[:limit]:
        s = socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            s.bind((src, port))
        except OSError:
            s.close()
            continue
        out.append(s)
    return out


class ProbeEngine:
    """Send a probe list and collect one raw outcome per probe (see the module docstring)."""

    def __init__(self, probes: list[Probe], timeout: float = 1.0, retries: int = 1) -> None:
        self.probes, self.timeout, self.retries = probes, timeout, retries
        self.raw: list[RawOutcome | None] = [None] * len(probes)
        self.sent_at = [0.0] * len(probes)
        self.stats = {"probes": len(probes), "sent": 0, "send_errors": 0, "received": 0, "matched": 0,
                      "resent": 0}
        self._wire: list[tuple[int, bytes, str]] = []
        self._keys: dict[tuple[int, bytes, int, int], int] = {}
        self._udp_ports: list[tuple[int, str, int]] = []
        self._prepare()

    def _prepare(self) -> None:
        sources: dict[tuple[int, str], str] = {}
        base, ident, seq0 = random.randrange(28000), random.randrange(1, 0xFFFF), random.getrandbits(32)
        for i, p in enumerate(self.probes):
            src = p.src or sources.setdefault((p.family, p.dst), source_for(p.family, p.dst))
            tpl = template(p.family, p.proto, p.proto == "udp" and p.dport == 53)
            if p.proto == "icmp":
                a, b = ident, i & 0xFFFF
            else:
                a, b = 32768 + (base + i) % 28000, p.dport
            dst = packed(p.dst)
            self._wire.append((p.family, build(tpl, packed(src), dst, a, b, (seq0 + i) & 0xFFFFFFFF), p.dst))
            if p.proto == "udp":
                self._udp_ports.append((p.family, src, a))
            self._keys[probe_key(p.proto, dst, a, b)] = i

    def run(self) -> ProbeRun:
        """Send every probe, match replies until the timeout, and classify."""
        start = time.monotonic()
        rx = _receiver()
        quiet = _quiet_udp(self._udp_ports)
        senders = {f: socket.socket(socket.AF_INET if f == 4 else socket.AF_INET6, socket.SOCK_RAW,
                                    socket.IPPROTO_RAW) for f in {p.family for p in self.probes}}
        try:
            self._send(range(len(self.probes)), senders, rx)
            deadline = time.monotonic() + self.timeout
            resend_at = [time.monotonic() + self.timeout * (k + 1) / (self.retries + 1)
                         for k in range(self.retries)]
            while (now := time.monotonic()) < deadline and not all(self.raw):
                if resend_at and now >= resend_at[0]:
                    resend_at.pop(0)
                    silent = [i for i, r in enumerate(self.raw) if r is None]
                    self.stats["resent"] += len(silent)
                    self._send(silent, senders, rx, keep_time=True)
                wake = min([deadline, *resend_at[:1]])
                if select.select([rx], [], [], max(0.0, wake - time.monotonic()))[0]:
                    self._drain(rx)
            self._drain(rx)
        finally:
            rx.close()
            for s in [*senders.values(), *quiet]:
                s.close()
        results = classify(self.probes, self.raw, self.sent_at)
        return ProbeRun(results, time.monotonic() - start, self.stats)

    def _send(self, which: range | list[int], senders: dict[int, socket.socket], rx: socket.socket,
              keep_time: bool = False) -> None:
        for n, i in enumerate(which):
            family, data, dst = self._wire[i]
            if not keep_time:
                self.sent_at[i] = time.monotonic()
            try:
                senders[family].sendto(data, (dst, 0))
                self.stats["sent"] += 1
            except OSError as exc:
                self.stats["send_errors"] += 1
                if self.raw[i] is None:
                    self.raw[i] = RawOutcome("local-error", None, 0, None, errno.errorcode.get(exc.errno or 0,
                                                                                                  str(exc)))
            if n % _SEND_CHUNK == _SEND_CHUNK - 1:
                self._drain(rx)

    def _drain(self, rx: socket.socket) -> None:
        while True:
            try:
                pkt = rx.recv(2048)
            except (BlockingIOError, InterruptedError):
                return
            self.stats["received"] += 1
            reply = parse_reply(pkt)
            if reply is None:
                continue
            i = self._keys.get(reply.key)
            if i is None:
                continue
            self.stats["matched"] += 1
            current = self.raw[i]
            if current is None or current.rank() < RawOutcome.rank_of(reply.kind, reply.icmp):
                self.raw[i] = RawOutcome(reply.kind, reply.sender, reply.ttl, reply.icmp, None,
                                         time.monotonic())


def run_probes(probes: list[Probe], timeout: float = 1.0, retries: int = 1) -> ProbeRun:
    """Run a probe list from this host (needs CAP_NET_RAW).

    Raises:
        VerificationError: raw sockets cannot be opened here.
    """
    if not probes:
        return ProbeRun([], 0.0, {"probes": 0})
    try:
        return ProbeEngine(probes, timeout, retries).run()
    except PermissionError as exc:
        raise VerificationError(f"probes need raw sockets (root or CAP_NET_RAW) on {socket.gethostname()}: "
                                f"{exc.strerror}") from None


def main_probe(plan_text: str) -> dict[str, Any]:
    """Run a plan given as JSON text and return the results document (for the CLI)."""
    probes, timeout, retries = plan_from_json(plan_text)
    return run_probes(probes, timeout, retries).to_dict()

