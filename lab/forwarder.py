"""The controller's way into the lab: loopback listeners relayed from the operators' station.

The listening sockets are bound on ``127.0.0.1:<port>`` in the *host's* network namespace by ``Lab.up`` (a
socket keeps the namespace it was created in), then handed to this process, which runs inside the ``ops``
namespace. Each accepted connection is relayed by opening a new TCP connection *from ops* to the device's
management address, port 22. So the controller's SSH really travels the site's management path: through
the out-of-band bridge, or in band through fw-a or core-b and fw-b. A cut that forgets the management path
makes that connect time out here, and the controller sees the connection close: locked out, as on site.

Usage: ``python -m egressctl_lab.forwarder --map FD=ADDR:PORT ... [--ready-fd FD]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket

MAX_PER_LISTENER = 32
CONNECT_SECONDS = 5.0
CHUNK = 65536


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(OSError):
            if writer.can_write_eof():
                writer.write_eof()


async def _relay(
    client_r: asyncio.StreamReader,
    client_w: asyncio.StreamWriter,
    target: tuple[str, int],
    slots: asyncio.Semaphore,
) -> None:
    if slots.locked():
        client_w.close()
        return
    async with slots:
        try:
            dev_r, dev_w = await asyncio.wait_for(asyncio.open_connection(*target), timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError):
            client_w.close()
            return
        try:
            await asyncio.gather(_pipe(client_r, dev_w), _pipe(dev_r, client_w))
        finally:
            for w in (dev_w, client_w):
                w.close()


async def serve(mapping: list[tuple[int, tuple[str, int]]], ready_fd: int | None) -> None:
    """Relay every listener in ``mapping`` (fd -> target) until SIGTERM/SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    servers = []
    for fd, target in mapping:
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)
        slots = asyncio.Semaphore(MAX_PER_LISTENER)

        async def handler(
            r: asyncio.StreamReader, w: asyncio.StreamWriter, target: tuple[str, int] = target,
            slots: asyncio.Semaphore = slots,
        ) -> None:
            await _relay(r, w, target, slots)

        servers.append(await asyncio.start_server(handler, sock=sock))
    if ready_fd is not None:
        os.write(ready_fd, b"ready\n")
        os.close(ready_fd)
    await stop.wait()
    for server in servers:
        server.close()


def _map(text: str) -> tuple[int, tuple[str, int]]:
    fd, _, target = text.partition("=")
    host, _, port = target.rpartition(":")
    return int(fd), (host.strip("[]"), int(port))


def main(argv: list[str] | None = None) -> None:
    """Process entry point."""
    parser = argparse.ArgumentParser(prog="egressctl_lab.forwarder")
    parser.add_argument("--map", type=_map, action="append", default=[], help="FD=ADDR:PORT")
    parser.add_argument("--ready-fd", type=int, default=None)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.map, args.ready_fd))


if __name__ == "__main__":
    main()
