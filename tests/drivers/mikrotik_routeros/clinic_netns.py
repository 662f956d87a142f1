"""A clinic LAN behind an emulated RouterOS router, in three namespaces (prefix ``h11-``), for packet proof.

``h11-in`` (10.78.1.2, fd78:1::2: a workstation, and the server the NOC manages on tcp 22) -- ``h11-rt`` (the
router: ``lan0`` = bridge toward the clinic, ``e1`` = ether1, the uplink) -- ``h11-up`` (10.78.2.2,
fd78:2::2: the far side of the uplink, with web servers on 80/443 and an echo server on 8080). The RouterOS
emulator runs as a process in ``h11-rt`` with the nft data plane, listening on that namespace's loopback;
the driver runs on a worker thread that joined ``h11-rt`` (so its sockets live there), and probes run on
threads that joined the client's namespace. Nothing is added to the host namespace, and
:meth:`Clinic.destroy` removes everything (fixtures call it in ``finally``).
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from egressctl_lab import hostkeys

from tests.support.emulator_in_netns import in_netns, sh, wait_for

T = TypeVar("T")
_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000
INSIDE, SWITCH, UPLINK = "h11-in", "h11-rt", "h11-up"
SPEC = {"interfaces": {"ether1": "e1", "bridge": "lan0"}}
KEY_NAME = "h11-rt"


def _join(ns: str) -> None:
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
    """Whether the echo server answers ``data`` on an established connection within 2 s."""
    try:
        conn.sendall(data)
        return conn.recv(64) == data
    except OSError:
        return False


class Clinic:
    """The three namespaces, the servers, the emulator process and the driver's worker thread."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.servers: list[socket.socket] = []
        self.worker = ThreadPoolExecutor(1, initializer=_join, initargs=(SWITCH,))

    def build(self) -> None:
        """Namespaces, links, addresses (no DAD wait), routes, forwarding and the servers."""
        for ns in (INSIDE, SWITCH, UPLINK):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        for ns, peer in ((INSIDE, "lan0"), (UPLINK, "e1")):
            sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", peer,
               "netns", SWITCH)
        for ns, dev, v4, v6 in ((INSIDE, "eth0", "10.78.1.2/24", "fd78:1::2/64"),
                                (SWITCH, "lan0", "10.78.1.1/24", "fd78:1::1/64"),
                                (SWITCH, "e1", "10.78.2.1/24", "fd78:2::1/64"),
                                (UPLINK, "eth0", "10.78.2.2/24", "fd78:2::2/64")):
            sh("ip", "-n", ns, "addr", "add", v4, "dev", dev)
            sh("ip", "-n", ns, "addr", "add", v6, "dev", dev, "nodad")
            sh("ip", "-n", ns, "link", "set", dev, "up")
        for ns, gw4, gw6 in ((INSIDE, "10.78.1.1", "fd78:1::1"), (UPLINK, "10.78.2.1", "fd78:2::1")):
            sh("ip", "-n", ns, "route", "add", "default", "via", gw4)
            sh("ip", "-n", ns, "-6", "route", "add", "default", "via", gw6)
        sh("ip", "netns", "exec", SWITCH, "sysctl", "-qw", "net.ipv4.ip_forward=1",
           "net.ipv6.conf.all.forwarding=1")
        for port, echo in ((80, False), (443, False), (8080, True)):
            self.servers.append(in_netns(UPLINK, lambda p=port, e=echo: _server(p, e)))  # type: ignore[misc]
        self.servers.append(in_netns(INSIDE, lambda: _server(22, False)))
        # link-local addresses finish duplicate detection before IPv6 neighbours resolve: wait (bounded)
        assert wait_for(lambda: tcp_open(INSIDE, "fd78:2::2", 443), 15), "no IPv6 across the router"

    def start(self, tmp: Path, password: str, port: int, scale: float) -> None:
        """The RouterOS emulator process in ``h11-rt`` with the nft data plane (ready once rules are in)."""
        spec = tmp / "spec.json"
        spec.touch(mode=0o600)
        spec.write_text(json.dumps({"name": "rtr-h11", "hostname": "rtr-h11", "username": "admin",
                                    "password": password, **SPEC}))
        key = hostkeys.write_private(KEY_NAME, tmp / "key")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", SWITCH, sys.executable, "-m", "egressctl_lab.emu", "--platform",
             "mikrotik_routeros", "--spec-file", str(spec), "--listen", "127.0.0.1", "--port", str(port),
             "--host-key-file", str(key), "--time-scale", str(scale), "--dataplane", "nft"],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        assert ready and self.proc.stdout.readline() == "ready\n"

    def on_router(self, fn: Callable[[], T], timeout: float = 120.0) -> T:
        """Run ``fn`` on the worker thread inside ``h11-rt`` (the driver's sockets are made there)."""
        return self.worker.submit(fn).result(timeout)

    def nft_table(self) -> str:
        """The emulator's table as the kernel holds it."""
        argv = ["ip", "netns", "exec", SWITCH, "nft", "list", "table", "inet", "egressctl_emu"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        return done.stdout

    def destroy(self) -> None:
        """Stop the emulator, close the servers, delete the namespaces (never raises)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for s in self.servers:
            s.close()
        self.worker.shutdown(wait=False, cancel_futures=True)
        for ns in (INSIDE, SWITCH, UPLINK):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20, check=False)


def _server(port: int, echo: bool) -> socket.socket:
    """A dual-stack TCP server on ``port``: closes each connection, or echoes what it receives."""
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


def conntrack(ns: str = SWITCH) -> str:
    """The router namespace's connection table (conntrack -L), for the test's own eyes."""
    done = subprocess.run(["ip", "netns", "exec", ns, "conntrack", "-L"], capture_output=True, text=True,
                          timeout=10, check=False)
    return done.stdout
