"""A clinic LAN behind an emulated VyOS router, in three network namespaces (prefix ``h10-``), for packets.

``h10-in`` (10.78.1.2, fd78:1::2: a workstation and the clinic's admin host) -- ``h10-vy`` (the router:
``e1`` = eth1 toward the LAN, ``e0`` = eth0, the uplink) -- ``h10-up`` (10.78.2.2, fd78:2::2: the far side,
with the NOC's SSH on 22, web servers on 80/443 and an echo server on 8080). The VyOS emulator runs as a
process in ``h10-vy`` with the nft data plane and the namespace's real conntrack table as its session table,
listening on that namespace's loopback; the driver runs on a worker thread that joined ``h10-vy``, probes on
threads that joined the client's namespace. Nothing is added to the host namespace, and
:meth:`Router.destroy` removes everything (fixtures call it in ``finally``). The probes and the servers are
the EOS closet's (:mod:`tests.drivers.arista_eos.closet_netns`).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from egressctl_lab import hostkeys

from tests.drivers.arista_eos.closet_netns import _join, _server, tcp_open
from tests.support.emulator_in_netns import in_netns, sh, wait_for

T = TypeVar("T")
INSIDE, ROUTER, UPLINK = "h10-in", "h10-vy", "h10-up"
INTERFACES = {"eth0": "e0", "eth1": "e1"}
KEY_NAME = "h10-vy"


class Router:
    """The three namespaces, the servers, the emulator process and the driver's worker thread."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.servers: list[object] = []
        self.worker = ThreadPoolExecutor(1, initializer=_join, initargs=(ROUTER,))

    def build(self) -> None:
        """Namespaces, links, addresses (no DAD wait), routes, forwarding and the servers."""
        for ns in (INSIDE, ROUTER, UPLINK):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        for ns, peer in ((INSIDE, "e1"), (UPLINK, "e0")):
            sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", peer,
               "netns", ROUTER)
        for ns, dev, v4, v6 in ((INSIDE, "eth0", "10.78.1.2/24", "fd78:1::2/64"),
                                (ROUTER, "e1", "10.78.1.1/24", "fd78:1::1/64"),
                                (ROUTER, "e0", "10.78.2.1/24", "fd78:2::1/64"),
                                (UPLINK, "eth0", "10.78.2.2/24", "fd78:2::2/64")):
            sh("ip", "-n", ns, "addr", "add", v4, "dev", dev)
            sh("ip", "-n", ns, "addr", "add", v6, "dev", dev, "nodad")
            sh("ip", "-n", ns, "link", "set", dev, "up")
        for ns, gw4, gw6 in ((INSIDE, "10.78.1.1", "fd78:1::1"), (UPLINK, "10.78.2.1", "fd78:2::1")):
            sh("ip", "-n", ns, "route", "add", "default", "via", gw4)
            sh("ip", "-n", ns, "-6", "route", "add", "default", "via", gw6)
        sh("ip", "netns", "exec", ROUTER, "sysctl", "-qw", "net.ipv4.ip_forward=1",
           "net.ipv6.conf.all.forwarding=1")
        for port, echo in ((22, False), (80, False), (443, False), (8080, True)):
            self.servers.append(in_netns(UPLINK, lambda p=port, e=echo: _server(p, e)))  # type: ignore[misc]
        assert wait_for(lambda: tcp_open(INSIDE, "fd78:2::2", 443), 15), "no IPv6 across the router"

    def start(self, tmp: Path, password: str, port: int, scale: float, options: dict[str, str]) -> None:
        """The VyOS emulator process in ``h10-vy`` with the nft data plane (ready once its baseline is in)."""
        self.stop()
        spec = tmp / f"spec-{port}.json"
        spec.touch(mode=0o600)
        spec.write_text(json.dumps({"name": "vy-h10", "hostname": "vy-h10", "username": "vyos",
                                    "password": password, "interfaces": INTERFACES, "options": options}))
        key = hostkeys.write_private(KEY_NAME, tmp / f"key-{port}")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ROUTER, sys.executable, "-m", "egressctl_lab.emu", "--platform",
             "vyos", "--spec-file", str(spec), "--listen", "127.0.0.1", "--port", str(port),
             "--host-key-file", str(key), "--time-scale", str(scale), "--dataplane", "nft"],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        assert ready and self.proc.stdout.readline() == "ready\n"

    def on_router(self, fn: Callable[[], T], timeout: float = 180.0) -> T:
        """Run ``fn`` on the worker thread inside ``h10-vy`` (the driver's sockets are made there)."""
        return self.worker.submit(fn).result(timeout)

    def nft_table(self) -> str:
        """The emulator's table as the kernel holds it."""
        argv = ["ip", "netns", "exec", ROUTER, "nft", "list", "table", "inet", "egressctl_emu"]
        return subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False).stdout

    def conntrack(self) -> str:
        """The router namespace's conntrack table (``conntrack -L``)."""
        argv = ["ip", "netns", "exec", ROUTER, "conntrack", "-L"]
        return subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False).stdout

    def stop(self) -> None:
        """Stop the emulator process (its table stays until the next one replaces it)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def destroy(self) -> None:
        """Stop the emulator, close the servers, delete the namespaces (never raises)."""
        self.stop()
        for s in self.servers:
            s.close()  # type: ignore[attr-defined]
        self.worker.shutdown(wait=False, cancel_futures=True)
        for ns in (INSIDE, ROUTER, UPLINK):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20, check=False)
        os.environ.pop("H10_NETNS_SECRET", None)
