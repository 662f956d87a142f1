"""A clinic LAN behind an emulated ASA, in three network namespaces (prefix ``h9-``), for packet proof.

``h9-in`` (10.78.1.2, fd78:1::2: the operators' station and a workstation) -- ``h9-fw`` (the ASA: ``gi1`` =
GigabitEthernet0/1, nameif ``inside``, security 100; ``gi0`` = GigabitEthernet0/0, nameif ``outside``,
security 0) -- ``h9-up`` (10.78.2.2, fd78:2::2: beyond the uplink, web servers on 80/443, an echo server on
8080 and the NOC's jump host on 22; it also plays the *revert host*, the second machine the revert job
runs on). The ASA emulator runs as a process in ``h9-fw`` with the nft data plane, listening on every
address of that namespace (the revert job reaches it on the outside address, 10.78.2.1, as a bastion
reaches a firewall's management); the driver runs on a worker thread that joined ``h9-fw``. The probe
helpers are the EOS closet's (:mod:`tests.drivers.arista_eos.closet_netns`). Nothing is added to the host
namespace, and :meth:`Clinic.destroy` removes everything (fixtures call it in ``finally``).
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
INSIDE, FIREWALL, UPLINK = "h9-in", "h9-fw", "h9-up"
ASA_OUTSIDE = "10.78.2.1"
SPEC = {"interfaces": {"GigabitEthernet0/0": "gi0", "GigabitEthernet0/1": "gi1"},
        "options": {"nameif:GigabitEthernet0/0": "outside", "nameif:GigabitEthernet0/1": "inside",
                    "address:GigabitEthernet0/0": "10.78.2.1/24",
                    "address:GigabitEthernet0/1": "10.78.1.1/24"}}
KEY_NAME = "h9-fw"


class Clinic:
    """The three namespaces, the servers, the emulator process and the driver's worker thread."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.servers: list[object] = []
        self.worker = ThreadPoolExecutor(1, initializer=_join, initargs=(FIREWALL,))

    def build(self) -> None:
        """Namespaces, links, addresses (no DAD wait), routes, forwarding and the servers."""
        for ns in (INSIDE, FIREWALL, UPLINK):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        for ns, peer in ((INSIDE, "gi1"), (UPLINK, "gi0")):
            sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", peer,
               "netns", FIREWALL)
        for ns, dev, v4, v6 in ((INSIDE, "eth0", "10.78.1.2/24", "fd78:1::2/64"),
                                (FIREWALL, "gi1", "10.78.1.1/24", "fd78:1::1/64"),
                                (FIREWALL, "gi0", "10.78.2.1/24", "fd78:2::1/64"),
                                (UPLINK, "eth0", "10.78.2.2/24", "fd78:2::2/64")):
            sh("ip", "-n", ns, "addr", "add", v4, "dev", dev)
            sh("ip", "-n", ns, "addr", "add", v6, "dev", dev, "nodad")
            sh("ip", "-n", ns, "link", "set", dev, "up")
        for ns, gw4, gw6 in ((INSIDE, "10.78.1.1", "fd78:1::1"), (UPLINK, "10.78.2.1", "fd78:2::1")):
            sh("ip", "-n", ns, "route", "add", "default", "via", gw4)
            sh("ip", "-n", ns, "-6", "route", "add", "default", "via", gw6)
        sh("ip", "netns", "exec", FIREWALL, "sysctl", "-qw", "net.ipv4.ip_forward=1",
           "net.ipv6.conf.all.forwarding=1")
        for port, echo in ((22, False), (80, False), (443, False), (8080, True)):
            self.servers.append(in_netns(UPLINK, lambda p=port, e=echo: _server(p, e)))  # type: ignore[misc]
        assert wait_for(lambda: tcp_open(INSIDE, "fd78:2::2", 443), 15), "no IPv6 across the firewall"

    def start(self, tmp: Path, password: str, port: int) -> None:
        """The ASA emulator process in ``h9-fw`` with the nft data plane (ready once its baseline is in)."""
        spec = tmp / "spec.json"
        spec.touch(mode=0o600)
        spec.write_text(json.dumps({"name": "asa-h9", "hostname": "asa-h9", "username": "admin",
                                    "password": password, **SPEC}))
        key = hostkeys.write_private(KEY_NAME, tmp / "key")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", FIREWALL, sys.executable, "-m", "egressctl_lab.emu", "--platform",
             "cisco_asa", "--spec-file", str(spec), "--listen", "0.0.0.0", "--port", str(port),
             "--host-key-file", str(key), "--dataplane", "nft"],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        assert ready and self.proc.stdout.readline() == "ready\n"

    def on_firewall(self, fn: Callable[[], T], timeout: float = 120.0) -> T:
        """Run ``fn`` on the worker thread inside ``h9-fw`` (the driver's sockets are made there)."""
        return self.worker.submit(fn).result(timeout)

    def in_uplink(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        """Run a command on the revert host (``h9-up``)."""
        return subprocess.run(["ip", "netns", "exec", UPLINK, *argv], capture_output=True, text=True,
                              timeout=timeout, check=False)

    def nft_table(self) -> str:
        """The emulator's table as the kernel holds it."""
        argv = ["ip", "netns", "exec", FIREWALL, "nft", "list", "table", "inet", "egressctl_emu"]
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
        for ns in (INSIDE, FIREWALL, UPLINK):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20, check=False)
