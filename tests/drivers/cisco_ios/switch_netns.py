"""A closet LAN behind an emulated Catalyst switch (cisco_ios, spec option ``switch``), in three namespaces.

``h13-in`` (10.78.1.2, fd78:1::2: a workstation, and the server the NOC manages on tcp 22) -- ``h13-sw`` (the
switch: ``vl10`` = interface Vlan10, the SVI of the closet's VLAN; ``gi48`` = GigabitEthernet1/0/48, the
routed uplink; it also answers tcp 22 on its own addresses, standing for its SSH) -- ``h13-up`` (10.78.2.2,
fd78:2::2: beyond the uplink, web servers on 80/443, an echo server on 8080). The IOS emulator runs as a
process in ``h13-sw`` with the nft data plane, listening on that namespace's loopback (the out-of-band
management port); the driver runs on a worker thread that joined ``h13-sw``, probes on threads that joined
the client's namespace. Nothing is added to the host namespace or written outside the test's temporary
folder; :meth:`SwitchCloset.destroy` removes everything (fixtures call it in ``finally``).

The namespace plumbing (thread joins, servers, probes) is arista_eos's closet's (``h8-``), reused.
"""

from __future__ import annotations

import json
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
INSIDE, SWITCH, UPLINK = "h13-in", "h13-sw", "h13-up"
UPLINK_PORT = "GigabitEthernet1/0/48"
SPEC = {"interfaces": {"Vlan10": "vl10", UPLINK_PORT: "gi48", "GigabitEthernet1/0/1": "",
                       "GigabitEthernet1/0/2": ""},
        "options": {"switch": "true", "routed": UPLINK_PORT, "description:GigabitEthernet1/0/48": "uplink"}}
KEY_NAME = "h13-sw"


class SwitchCloset:
    """The three namespaces, the servers, the emulator process and the driver's worker thread."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.servers: list[object] = []
        self.worker = ThreadPoolExecutor(1, initializer=_join, initargs=(SWITCH,))

    def build(self) -> None:
        """Namespaces, links, addresses (no DAD wait), routes, forwarding and the servers."""
        for ns in (INSIDE, SWITCH, UPLINK):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        for ns, peer in ((INSIDE, "vl10"), (UPLINK, "gi48")):
            sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", peer,
               "netns", SWITCH)
        for ns, dev, v4, v6 in ((INSIDE, "eth0", "10.78.1.2/24", "fd78:1::2/64"),
                                (SWITCH, "vl10", "10.78.1.1/24", "fd78:1::1/64"),
                                (SWITCH, "gi48", "10.78.2.1/24", "fd78:2::1/64"),
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
        self.servers.append(in_netns(SWITCH, lambda: _server(22, False)))
        assert wait_for(lambda: tcp_open(INSIDE, "fd78:2::2", 443), 15), "no IPv6 across the switch"

    def start(self, tmp: Path, password: str, port: int, scale: float) -> None:
        """The IOS emulator process (switch personality) in ``h13-sw`` with the nft data plane."""
        spec = tmp / "spec.json"
        spec.touch(mode=0o600)
        spec.write_text(json.dumps({"name": "sw-h13", "hostname": "sw-h13", "username": "admin",
                                    "password": password, **SPEC}))
        key = hostkeys.write_private(KEY_NAME, tmp / "key")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", SWITCH, sys.executable, "-m", "egressctl_lab.emu", "--platform",
             "cisco_ios", "--spec-file", str(spec), "--listen", "127.0.0.1", "--port", str(port),
             "--host-key-file", str(key), "--time-scale", str(scale), "--dataplane", "nft"],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        assert ready and self.proc.stdout.readline() == "ready\n"

    def on_switch(self, fn: Callable[[], T], timeout: float = 120.0) -> T:
        """Run ``fn`` on the worker thread inside ``h13-sw`` (the driver's sockets are made there)."""
        return self.worker.submit(fn).result(timeout)

    def nft_table(self) -> str:
        """The emulator's table as the kernel holds it."""
        argv = ["ip", "netns", "exec", SWITCH, "nft", "list", "table", "inet", "egressctl_emu"]
        return subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False).stdout

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
            s.close()  # type: ignore[attr-defined]
        self.worker.shutdown(wait=False, cancel_futures=True)
        for ns in (INSIDE, SWITCH, UPLINK):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20, check=False)
