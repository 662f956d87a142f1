"""The lab internet's canary services: one bounded asyncio process answering on every local address.

Runs inside the ``inet`` namespace. Every canary and allowed destination is an address on its loopback
interface, so one wildcard TCP socket per port answers for all of them (UDP binds each address, see
``_bound_udp``). Replies name the address reached and the (masqueraded) source, so a probe's answer says
which exit it took. TCP: a one-line banner, or a minimal HTTP response when the client speaks HTTP, or,
when the client's first line starts with ``HOLD`` (egressctl's held-open sessions), an echo of everything
it sends for as long as it keeps talking (bounded by :data:`HOLD_SECONDS` and :data:`HOLD_IDLE`), so a
session opened before a cut can be seen to die or survive. UDP: on port 53 a DNS response (same id and
question, NOERROR, no answer records) to anything that parses as a query, otherwise an echo of the datagram
after a prefix. ICMP echo is left to the kernel. Concurrency, read sizes and per-connection time are
bounded, so a probe storm cannot grow it.

Usage: ``python -m egressctl_lab.canary --tcp 25,80 --udp 53,443 --address A ... [--ready-fd FD]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import struct
from typing import cast

MAX_CONNECTIONS = 256
READ_LIMIT = 4096
CONNECTION_SECONDS = 5.0
HOLD_SECONDS = 900.0  # a held session lasts at most this long
HOLD_IDLE = 30.0  # ... and ends after this long without a byte from the client


def _dual_stack(kind: int, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", port))
    sock.setblocking(False)
    return sock


def _bound_udp(address: str, port: int) -> socket.socket:
    """A UDP socket bound to one address.

    Replies must leave *from* the address the probe reached, which a wildcard socket does not guarantee
    (the kernel would pick the outgoing interface's address, and the ISP's NAT would then drop the reply
    as unrelated).
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.setblocking(False)
    return sock


def _local(addr: tuple[object, ...] | None) -> str:
    host = str(addr[0]) if addr else "?"
    return host.removeprefix("::ffff:")


def dns_reply(query: bytes) -> bytes | None:
    """A minimal DNS response to ``query`` (same id and question, RCODE 0, no answers), or None."""
    if len(query) < 17:
        return None
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    if flags & 0x8000 or qdcount != 1:
        return None
    pos = 12
    while pos < len(query) and query[pos] != 0:
        pos += 1 + query[pos]
    end = pos + 5
    if end > len(query):
        return None
    header = struct.pack("!HHHHHH", ident, 0x8180 | (flags & 0x0100), 1, 0, 0, 0)
    return header + query[12:end]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, port: int) -> None:
        self.port = port
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if self.transport is None:
            return
        reply = dns_reply(data) if self.port == 53 else None
        if reply is None:
            local = _local(self.transport.get_extra_info("sockname"))
            reply = f"canary udp/{self.port} {local} from {_local(addr)} ".encode() + data[:512]
        self.transport.sendto(reply, addr)


async def _hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes) -> None:
    """Echo mode of a held-open session: send back every chunk until the client stops or time is up."""
    loop = asyncio.get_running_loop()
    end = loop.time() + HOLD_SECONDS
    while data and loop.time() < end:
        writer.write(data)
        await asyncio.wait_for(writer.drain(), timeout=CONNECTION_SECONDS)
        data = await asyncio.wait_for(reader.read(READ_LIMIT), timeout=min(HOLD_IDLE, end - loop.time()))


async def _tcp(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int, slots: asyncio.Semaphore
) -> None:
    if slots.locked():
        writer.close()
        return
    async with slots:
        local = _local(writer.get_extra_info("sockname"))
        peer = _local(writer.get_extra_info("peername"))
        try:
            data = b""
            with contextlib.suppress(TimeoutError):
                data = await asyncio.wait_for(reader.read(READ_LIMIT), timeout=0.3)
            if data[:4] == b"HOLD":
                await _hold(reader, writer, data)
            elif data[:4] in (b"GET ", b"HEAD", b"POST"):
                body = f"canary tcp/{port} {local} from {peer}\n".encode()
                writer.write(
                    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                    + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
                )
            else:
                writer.write(f"canary tcp/{port} {local} from {peer}\r\n".encode())
            await asyncio.wait_for(writer.drain(), timeout=CONNECTION_SECONDS)
        except (OSError, TimeoutError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), timeout=1.0)


async def serve(
    tcp_ports: list[int], udp_ports: list[int], addresses: list[str], ready_fd: int | None
) -> None:
    """Serve until SIGTERM/SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    slots = asyncio.Semaphore(MAX_CONNECTIONS)
    servers = []
    for port in tcp_ports:

        async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, port: int = port) -> None:
            await _tcp(r, w, port, slots)

        servers.append(await asyncio.start_server(handler, sock=_dual_stack(socket.SOCK_STREAM, port)))
    transports = []
    for port in udp_ports:
        for address in addresses:
            transport, _ = await loop.create_datagram_endpoint(
                lambda port=port: _Udp(port), sock=_bound_udp(address, port)  # type: ignore[misc]
            )
            transports.append(transport)
    if ready_fd is not None:
        os.write(ready_fd, b"ready\n")
        os.close(ready_fd)
    await stop.wait()
    for server in servers:
        server.close()
    for transport in transports:
        transport.close()


def _ports(text: str) -> list[int]:
    return sorted({int(p) for p in text.split(",") if p.strip()})


def main(argv: list[str] | None = None) -> None:
    """Process entry point."""
    parser = argparse.ArgumentParser(prog="egressctl_lab.canary")
    parser.add_argument("--tcp", type=_ports, default=[])
    parser.add_argument("--udp", type=_ports, default=[])
    parser.add_argument("--address", action="append", default=[], help="a local address UDP answers on")
    parser.add_argument("--ready-fd", type=int, default=None)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.tcp, args.udp, args.address, args.ready_fd))


if __name__ == "__main__":
    main()
