"""An emulator *process* enforcing its rules in a router namespace between two hosts (IOS and Junos tests).

Three namespaces, ``x1-<tag>h1 -- x1-<tag>r -- x1-<tag>h2``, with the emulator process running in the
middle one with ``--dataplane nft``. The controller side (netmiko) reaches the emulator through a socket
created inside the router namespace (``in_netns``), so no address is ever added to the host namespace.
Everything is removed in :meth:`Site.destroy`, which fixtures call in ``finally``.
"""

from __future__ import annotations

import ctypes
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from egressctl_lab import hostkeys

T = TypeVar("T")

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000


def in_netns(ns: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` on a thread that joined namespace ``ns`` (sockets made there stay there)."""
    box: dict[str, Any] = {}

    def run() -> None:
        fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            if _libc.setns(fd, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns {ns}")
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc
        finally:
            os.close(fd)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(15)
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def tcp_open(ns: str, host: str, port: int) -> bool:
    def probe() -> bool:
        with socket.socket() as s:
            s.settimeout(0.7)
            return s.connect_ex((host, port)) == 0

    return in_netns(ns, probe)


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=20)


def lab_available() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None and shutil.which("nft") is not None


class Site:
    """h1 -- (inside) router (outside) -- h2, the router running the emulator process with nft."""

    def __init__(self, tag: str, inside: str, outside: str) -> None:
        self.h1, self.r, self.h2 = f"x1-{tag}h1", f"x1-{tag}r", f"x1-{tag}h2"
        self.inside, self.outside = inside, outside
        self.proc: subprocess.Popen[str] | None = None
        self.listeners: list[socket.socket] = []

    def build(self) -> None:
        for ns in (self.h1, self.r, self.h2):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", "eth0", "netns", self.h1, "type", "veth", "peer", "name", self.inside,
           "netns", self.r)
        sh("ip", "link", "add", "eth0", "netns", self.h2, "type", "veth", "peer", "name", self.outside,
           "netns", self.r)
        for ns, dev, addr in ((self.h1, "eth0", "10.71.1.2/24"), (self.r, self.inside, "10.71.1.1/24"),
                              (self.r, self.outside, "10.71.2.1/24"), (self.h2, "eth0", "10.71.2.2/24")):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", self.h1, "route", "add", "default", "via", "10.71.1.1")
        sh("ip", "-n", self.h2, "route", "add", "default", "via", "10.71.2.1")
        sh("ip", "netns", "exec", self.r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for port in (80, 443):
            self.listeners.append(in_netns(self.h2, lambda p=port: _listener(p)))  # type: ignore[misc]

    def start(self, platform: str, spec_json: str, tmp: Path, port: int, scale: float) -> None:
        spec_file = tmp / "spec.json"
        spec_file.touch(mode=0o600)
        spec_file.write_text(spec_json)
        key = hostkeys.write_private(self.r, tmp / "key")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.r, sys.executable, "-m", "egressctl_lab.emu", "--platform", platform,
             "--spec-file", str(spec_file), "--listen", "127.0.0.1", "--port", str(port), "--host-key-file",
             str(key), "--time-scale", str(scale), "--dataplane", "nft"],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        assert ready and self.proc.stdout.readline() == "ready\n"

    def socket_to_emulator(self, port: int) -> socket.socket:
        return in_netns(self.r, lambda: socket.create_connection(("127.0.0.1", port), timeout=10))

    def nft_table(self) -> str:
        argv = ["ip", "netns", "exec", self.r, "nft", "list", "table", "inet", "egressctl_emu"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        return done.stdout if done.returncode == 0 else ""

    def stop_emulator(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def destroy(self) -> None:
        self.stop_emulator()
        for s in self.listeners:
            s.close()
        for ns in (self.h1, self.r, self.h2):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20, check=False)


def _listener(port: int) -> socket.socket:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(64)

    def accept_loop() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=accept_loop, daemon=True).start()
    return srv


def wait_for(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()
