"""One emulated device between a LAN and its uplink, in three network namespaces, for packet proof.

``<prefix>-in`` (the LAN host, ``<net4>.1.2`` / ``<net6>:1::2``) -- ``<prefix>-<role>`` (the device: its
LAN-side port ``<net4>.1.1`` and its uplink port ``<net4>.2.1``) -- ``<prefix>-up`` (``<net4>.2.2`` /
``<net6>:2::2``, the far side of the uplink: web servers on 80/443 and an echo server on 8080). TCP 22 is
served wherever the description says (the server the NOC manages, the NOC's jump host, the switch's own
SSH). The emulator runs as a process in the device's namespace with the nft data plane; the driver runs on
a worker thread that joined that namespace (its sockets live there) and probes run on threads that joined
the client's namespace. Nothing is added to the host namespace, and :func:`running` removes everything,
also when a test fails.

Each platform's test module keeps what is its own and passes it as data, a :class:`DeviceNet`: its
namespace prefix and port names, its emulator spec, its addresses, its management path. The lab tests of
arista_eos (``h8``), cisco_asa (``h9``), vyos (``h10``), mikrotik_routeros (``h11``) and cisco_ios's
switch role (``h13``) use it; the driver lifecycle they run on it is :mod:`tests.support.netns_change`.
"""

from __future__ import annotations

import json
import secrets
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from egressctl_lab import hostkeys

from egressctl.inventory.credentials import Secret, remember
from tests.support.emulator_in_netns import in_netns, sh, wait_for
from tests.support.netns_probes import join_netns, serve_tcp, tcp_open

T = TypeVar("T")
#: The probes every site answers: (client side, far address key, port); ``far4``/``far6`` are the uplink host.
WEB_PROBES = {"web4": ("in", "far4", 80), "web6": ("in", "far6", 80), "https4": ("in", "far4", 443),
              "https6": ("in", "far6", 443), "other4": ("in", "far4", 8080)}


@dataclass(frozen=True)
class DeviceNet:
    """What one platform's namespace site is: its names, its addresses, its emulator, its management path.

    ``probes`` are the site's own reachability checks beyond :data:`WEB_PROBES`, by name: (client side
    ``in`` or ``up``, address, port); the first is the management path a bad change cuts.
    """

    prefix: str                      # "h8": namespaces h8-in, h8-<role>, h8-up
    role: str                        # "sw": the device's namespace suffix (also its host key's name)
    platform: str
    lan_port: str                    # the device's kernel port toward the LAN
    wan_port: str                    # the device's kernel port toward the uplink
    spec: Mapping[str, Any]          # the emulator's spec without its password
    probes: Mapping[str, tuple[str, str, int]]
    net4: str = "10.78"              # <net4>.1.0/24 the LAN, <net4>.2.0/24 the uplink
    net6: str = "fd78"
    ssh_on: tuple[str, ...] = ("up",)  # sides ("in", "dev", "up") with a TCP 22 server
    listen: str = "127.0.0.1"
    time_scale: float | None = 0.1   # None: the emulator's own default
    worker_timeout: float = 120.0
    names: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = {"in": f"{self.prefix}-in", "dev": f"{self.prefix}-{self.role}", "up": f"{self.prefix}-up",
                 "far4": f"{self.net4}.2.2", "far6": f"{self.net6}:2::2", "lan4": f"{self.net4}.1.2",
                 "gw4": f"{self.net4}.1.1", "out4": f"{self.net4}.2.1"}
        object.__setattr__(self, "names", names)

    @property
    def inside(self) -> str:
        """The LAN host's namespace."""
        return self.names["in"]

    @property
    def device(self) -> str:
        """The device's namespace (also the name of its pinned host key)."""
        return self.names["dev"]

    @property
    def uplink(self) -> str:
        """The namespace beyond the uplink."""
        return self.names["up"]

    @property
    def management(self) -> str:
        """The name of the management probe (the first of :attr:`probes`)."""
        return next(iter(self.probes))

    def expect(self, *closed: str) -> dict[str, bool]:
        """Every probe's expected answer: open, but for the ``closed`` ones."""
        unknown = set(closed) - set(WEB_PROBES) - set(self.probes)
        assert not unknown, unknown
        return {name: name not in closed for name in (*WEB_PROBES, *self.probes)}

    def host_key(self) -> str:
        """The public line of the emulator's host key, for the inventory's pin."""
        return hostkeys.public_line(self.device)


class DeviceSite:
    """The three namespaces of a :class:`DeviceNet`, its servers, its emulator and the driver's thread."""

    def __init__(self, plan: DeviceNet) -> None:
        self.plan = plan
        self.proc: subprocess.Popen[str] | None = None
        self.servers: list[Any] = []
        self.worker = ThreadPoolExecutor(1, initializer=join_netns, initargs=(plan.device,))

    def build(self) -> None:
        """Namespaces, links, addresses (no DAD wait), routes, forwarding and the servers."""
        p, n = self.plan, self.plan.names
        for ns in (p.inside, p.device, p.uplink):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        for ns, peer in ((p.inside, p.lan_port), (p.uplink, p.wan_port)):
            sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", peer,
               "netns", p.device)
        for ns, dev, net, host in ((p.inside, "eth0", 1, 2), (p.device, p.lan_port, 1, 1),
                                   (p.device, p.wan_port, 2, 1), (p.uplink, "eth0", 2, 2)):
            sh("ip", "-n", ns, "addr", "add", f"{p.net4}.{net}.{host}/24", "dev", dev)
            sh("ip", "-n", ns, "addr", "add", f"{p.net6}:{net}::{host}/64", "dev", dev, "nodad")
            sh("ip", "-n", ns, "link", "set", dev, "up")
        for ns, net in ((p.inside, 1), (p.uplink, 2)):
            sh("ip", "-n", ns, "route", "add", "default", "via", f"{p.net4}.{net}.1")
            sh("ip", "-n", ns, "-6", "route", "add", "default", "via", f"{p.net6}:{net}::1")
        sh("ip", "netns", "exec", p.device, "sysctl", "-qw", "net.ipv4.ip_forward=1",
           "net.ipv6.conf.all.forwarding=1")
        for port, echo in ((80, False), (443, False), (8080, True)):
            self.servers.append(in_netns(p.uplink, lambda p=port, e=echo: serve_tcp(p, e)))  # type: ignore[misc]
        for side in p.ssh_on:
            self.servers.append(in_netns(n[side], lambda: serve_tcp(22, False)))
        # link-local addresses finish duplicate detection before IPv6 neighbours resolve: wait (bounded)
        assert wait_for(lambda: tcp_open(p.inside, n["far6"], 443), 15), f"no IPv6 across {p.device}"

    def start(self, tmp: Path, password: str, port: int, options: Mapping[str, str] | None = None) -> None:
        """The emulator process in the device's namespace, nft data plane (ready once its baseline is in).

        ``options`` replace the spec's own (a restart as another version); a running emulator stops first.
        """
        self.stop()
        p = self.plan
        spec = {**p.spec, "password": password, **({"options": dict(options)} if options is not None else {})}
        spec_file = tmp / f"spec-{port}.json"
        spec_file.touch(mode=0o600)
        spec_file.write_text(json.dumps(spec))
        key = hostkeys.write_private(p.device, tmp / f"key-{port}")
        scale = [] if p.time_scale is None else ["--time-scale", str(p.time_scale)]
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", p.device, sys.executable, "-m", "egressctl_lab.emu", "--platform",
             p.platform, "--spec-file", str(spec_file), "--listen", p.listen, "--port", str(port),
             "--host-key-file", str(key), *scale, "--dataplane", "nft"],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        assert ready and self.proc.stdout.readline() == "ready\n"

    def on_device(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the worker thread inside the device's namespace (the driver's sockets live there)."""
        return self.worker.submit(fn).result(self.plan.worker_timeout)

    def run(self, side: str, argv: list[str], timeout: float = 10) -> subprocess.CompletedProcess[str]:
        """Run a command in one of the site's namespaces (``in``, ``dev``, ``up``)."""
        return subprocess.run(["ip", "netns", "exec", self.plan.names[side], *argv], capture_output=True,
                              text=True, timeout=timeout, check=False)

    def nft_table(self) -> str:
        """The emulator's table as the kernel holds it."""
        return self.run("dev", ["nft", "list", "table", "inet", "egressctl_emu"]).stdout

    def conntrack(self) -> str:
        """The device namespace's connection table (``conntrack -L``), for the test's own eyes."""
        return self.run("dev", ["conntrack", "-L"]).stdout

    def probe(self, name: str) -> bool:
        """One named reachability check (:data:`WEB_PROBES` or the plan's own): a bounded TCP connect."""
        side, host, port = WEB_PROBES.get(name) or self.plan.probes[name]
        return tcp_open(self.plan.names[side], self.plan.names.get(host, host), port)

    def reach(self) -> dict[str, bool]:
        """Every probe's answer now."""
        return {name: self.probe(name) for name in self.plan.expect()}

    def settled(self, expected: dict[str, bool], tries: int = 3) -> dict[str, bool]:
        """:meth:`reach` until it equals ``expected``, at most ``tries`` times.

        On a loaded machine a permitted connect can miss its 1 s time-out; a dropped one never succeeds, so
        a retry only removes false drops.
        """
        seen = self.reach()
        for _ in range(tries - 1):
            if seen == expected:
                break
            time.sleep(0.5)
            seen = self.reach()
        return seen

    def stop(self) -> None:
        """Stop the emulator process (its nft table stays until the next one replaces it)."""
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
            s.close()
        self.worker.shutdown(wait=False, cancel_futures=True)
        for ns in (self.plan.inside, self.plan.device, self.plan.uplink):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20, check=False)


@contextmanager
def running(plan: DeviceNet, tmp: Path, port: int) -> Iterator[tuple[DeviceSite, Secret]]:
    """The site built and its emulator serving ``port`` with a fresh password; all removed at the end."""
    password = f"{plan.prefix}-" + secrets.token_urlsafe(12)
    remember(password)
    net = DeviceSite(plan)
    try:
        net.build()
        net.start(tmp, password, port)
        yield net, Secret(password=password)
    finally:
        net.destroy()
