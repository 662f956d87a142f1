"""An in-process emulator whose nft data plane is a firewall namespace between two hosts (FortiOS, PAN-OS).

``x2-<tag>in`` (10.20.1.2) -- lan0 [``x2-<tag>fw``] wan0 -- ``x2-<tag>out`` (10.20.2.2, TCP listener on
8080). The emulator itself runs in the test process (``serve_in_thread``, SSH on the host's loopback),
and its data plane is the real :class:`~egressctl_lab.emu.dataplane.NftDataPlane`, pointed at the
firewall namespace by a two-line ``nft`` wrapper script, so the personality's rules are enforced by the
kernel on the packets that cross ``x2-<tag>fw``. No address or route is added to the host. Everything is
deleted on teardown, also after a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from egressctl_lab.emu.dataplane import NftDataPlane
from netmiko import BaseConnection, ConnectHandler

LISTENER = (
    "import socket,time\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('10.20.2.2', 8080)); s.listen(64); s.settimeout(1.0)\n"
    "end=time.monotonic()+600\n"
    "while time.monotonic()<end:\n"
    "    try:\n"
    "        c,_=s.accept(); c.close()\n"
    "    except OSError:\n"
    "        pass\n"
)
PROBE = "import socket; socket.create_connection(('10.20.2.2', 8080), timeout=1).close()"


def available() -> bool:
    """Root with ``ip`` and ``nft`` and the right to create a namespace."""
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("nft"):
        return False
    probe = "x2-probe"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, timeout=10, check=False)
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=10, check=False)
    return done.returncode == 0


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True, timeout=15)


class Topology:
    """inside host -- firewall namespace -- outside host."""

    def __init__(self, tag: str, workdir: Path) -> None:
        self.inside, self.fw, self.outside = f"x2-{tag}in", f"x2-{tag}fw", f"x2-{tag}out"
        self.nft_wrapper = workdir / f"nft-{tag}"
        self._listener: subprocess.Popen[bytes] | None = None

    def up(self) -> None:
        """Create namespaces, veths, addresses, routes and the outside listener."""
        self.down()
        for name in (self.inside, self.fw, self.outside):
            _ip("netns", "add", name)
            _ip("-n", name, "link", "set", "lo", "up")
        for host, fw_side in ((self.inside, "lan0"), (self.outside, "wan0")):
            _ip("-n", host, "link", "add", "eth0", "type", "veth", "peer", "name", fw_side, "netns", self.fw)
        for ns, dev, addr in (
            (self.inside, "eth0", "10.20.1.2/24"),
            (self.fw, "lan0", "10.20.1.1/24"),
            (self.fw, "wan0", "10.20.2.1/24"),
            (self.outside, "eth0", "10.20.2.2/24"),
        ):
            _ip("-n", ns, "addr", "add", addr, "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
        _ip("-n", self.inside, "route", "add", "default", "via", "10.20.1.1")
        _ip("-n", self.outside, "route", "add", "default", "via", "10.20.2.1")
        subprocess.run(
            ["ip", "netns", "exec", self.fw, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
            check=True,
            capture_output=True,
            timeout=15,
        )
        self.nft_wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {self.fw} nft "$@"\n')
        self.nft_wrapper.chmod(0o700)
        self._listener = subprocess.Popen(
            ["ip", "netns", "exec", self.outside, sys.executable, "-c", LISTENER]
        )
        deadline = time.monotonic() + 10
        while not self.reachable() and time.monotonic() < deadline:
            time.sleep(0.2)

    def reachable(self) -> bool:
        """One bounded TCP connect from the inside host to the outside listener."""
        done = subprocess.run(
            ["ip", "netns", "exec", self.inside, sys.executable, "-c", PROBE],
            capture_output=True,
            timeout=10,
            check=False,
        )
        return done.returncode == 0

    def wait_reachable(self, expected: bool, timeout: float) -> bool:
        """Probe (at most every 0.3 s) until reachability equals ``expected`` or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            if self.reachable() == expected:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.3)

    def down(self) -> None:
        """Remove everything (idempotent)."""
        if self._listener is not None:
            self._listener.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._listener.wait(5)
            if self._listener.poll() is None:
                self._listener.kill()
            self._listener = None
        for name in (self.inside, self.fw, self.outside):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=15, check=False)


@contextlib.contextmanager
def topology(tag: str, workdir: Path) -> Iterator[Topology]:
    """A :class:`Topology` that is always torn down."""
    topo = Topology(tag, workdir)
    try:
        topo.up()
        yield topo
    finally:
        topo.down()


@contextlib.contextmanager
def nft_plane(topo: Topology) -> Iterator[NftDataPlane]:
    """The real nft data plane of ``topo``'s firewall namespace, removed however the body ends."""
    plane = NftDataPlane(nft=str(topo.nft_wrapper))
    try:
        yield plane
    finally:
        plane.remove()


def connect(device_type: str, port: int, password: str) -> BaseConnection:
    """netmiko's real ``device_type`` class to an emulator on 127.0.0.1:``port`` as ``admin``."""
    return ConnectHandler(device_type=device_type, host="127.0.0.1", port=port, username="admin",
                          password=password, timeout=20)


def cmd(conn: BaseConnection, command: str, **kwargs: Any) -> str:
    """``send_command`` typed as ``str`` (netmiko may return parsed structures when asked to)."""
    return str(conn.send_command(command, **kwargs))
