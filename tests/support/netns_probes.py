"""Packets from inside a network namespace: bounded TCP connects, held connections, small TCP servers.

A thread joins the namespace (``setns``) and makes its sockets there, so nothing is added to the host
namespace. Used by :mod:`tests.support.device_netns` and the lab tests on it.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading

from tests.support.emulator_in_netns import in_netns

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000


def join_netns(ns: str) -> None:
    """Move the calling thread into namespace ``ns`` (a worker pool's initializer)."""
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    finally:
        os.close(fd)


def tcp_open(ns: str, host: str, port: int, timeout: float = 1.0) -> bool:
    """One bounded TCP connect from inside ``ns`` (IPv4 or IPv6)."""
    def probe() -> bool:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.settimeout(timeout)
            return s.connect_ex((host, port)) == 0

    return in_netns(ns, probe)


def held(ns: str, host: str, port: int) -> socket.socket:
    """A TCP connection opened from ``ns`` and left open (the caller closes it)."""
    return in_netns(ns, lambda: socket.create_connection((host, port), timeout=2.0))


def echoes(conn: socket.socket, data: bytes = b"ping\n") -> bool:
    """Whether the echo server answers ``data`` on an established connection within its time-out."""
    try:
        conn.sendall(data)
        return conn.recv(64) == data
    except OSError:
        return False


def serve_tcp(port: int, echo: bool) -> socket.socket:
    """A dual-stack TCP server on ``port`` (call it inside a namespace): closes each connection, or echoes."""
    srv = socket.socket(socket.AF_INET6)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(("::", port))
    srv.listen(64)

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(60)
            while echo:
                try:
                    data = conn.recv(64)
                except OSError:
                    return
                if not data:
                    return
                conn.sendall(data)

    def accept_loop() -> None:
        for _ in range(1000):  # bounded: far more connections than any test makes
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    return srv
