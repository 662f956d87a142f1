"""A three-namespace testbed for the probe engine and the leak watch (tests and benchmarks).

    {prefix}in  10.77.1.2 fd77:1::2  --  {prefix}rt (router, nftables rules you set)  --  {prefix}out
                                                                   10.77.2.2 fd77:2::2, answers for every
                                                                   address of 198.18.0.0/22 and
                                                                   2001:db8:77::/64 (AnyIP local routes)

The outside namespace answers TCP on :data:`TCP_PORTS` (the kernel's SYN-ACK), UDP on :data:`UDP_PORTS`
(an echo server that replies from the address that was asked, via IP_PKTINFO) and ICMP echo (kernel).
Everything lives in namespaces whose names start with the given prefix, and :meth:`Testbed.down` removes
them all (the context manager guarantees it, also on failure).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

TCP_PORTS = (25, 80, 443, 8080)
UDP_PORTS = (53, 443, 500)
OUT_V4, OUT_V6 = "198.18.0.0/22", "2001:db8:77::/64"
IN_V4, IN_V6 = "10.77.1.2", "fd77:1::2"
IP_PKTINFO = 8  # Linux; not exported by the socket module
IPV6_FREEBIND = 78


def sh(*argv: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, raising with its stderr on failure."""
    res = subprocess.run(list(argv), capture_output=True, text=True, input=input, check=False, timeout=30)
    if check and res.returncode:
        raise RuntimeError(f"{' '.join(argv)}: {res.stderr.strip()}")
    return res


class Testbed:
    """Build and tear down the testbed (root only)."""

    __test__ = False  # not a pytest class

    def __init__(self, prefix: str = "vb-t-") -> None:
        self.prefix = prefix
        self.ns = {n: f"{prefix}{n}" for n in ("in", "rt", "out")}
        self._server: subprocess.Popen[bytes] | None = None

    def exec_prefix(self, node: str) -> list[str]:
        """Argv prefix running a command in testbed node ``in``, ``rt`` or ``out``."""
        return ["ip", "netns", "exec", self.ns[node]]

    @staticmethod
    def exec_prefix_for_netns(netns: str) -> list[str]:
        """Argv prefix running a command in namespace ``netns`` (the ``exec_prefix`` verify_active takes)."""
        return ["ip", "netns", "exec", netns]

    def up(self) -> Testbed:
        """Create namespaces, links, addresses, routes and the outside services."""
        self.down()
        for name in self.ns.values():
            sh("ip", "netns", "add", name)
            sh("ip", "-n", name, "link", "set", "lo", "up")
            # No duplicate address detection: link-local addresses would stay tentative for ~2 s.
            sh("ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
               "net.ipv6.conf.default.accept_dad=0")
        i, r, o = self.ns["in"], self.ns["rt"], self.ns["out"]
        sh("ip", "-n", i, "link", "add", "eth0", "type", "veth", "peer", "name", "in0", "netns", r)
        sh("ip", "-n", r, "link", "add", "out0", "type", "veth", "peer", "name", "eth0", "netns", o)
        plan = [(i, "eth0", "10.77.1.2/24", "fd77:1::2/64"), (r, "in0", "10.77.1.1/24", "fd77:1::1/64"),
                (r, "out0", "10.77.2.1/24", "fd77:2::1/64"), (o, "eth0", "10.77.2.2/24", "fd77:2::2/64")]
        for ns, dev, a4, a6 in plan:
            sh("ip", "-n", ns, "addr", "add", a4, "dev", dev)
            sh("ip", "-n", ns, "addr", "add", a6, "dev", dev, "nodad")
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1",
           "net.ipv6.conf.all.forwarding=1")
        sh("ip", "-n", i, "route", "add", "default", "via", "10.77.1.1")
        sh("ip", "-n", i, "-6", "route", "add", "default", "via", "fd77:1::1")
        sh("ip", "-n", o, "route", "add", "default", "via", "10.77.2.1")
        sh("ip", "-n", o, "-6", "route", "add", "default", "via", "fd77:2::1")
        sh("ip", "-n", r, "route", "add", OUT_V4, "via", "10.77.2.2")
        sh("ip", "-n", r, "-6", "route", "add", OUT_V6, "via", "fd77:2::2")
        sh("ip", "-n", o, "route", "add", "local", OUT_V4, "dev", "lo")
        sh("ip", "-n", o, "-6", "route", "add", "local", OUT_V6, "dev", "lo")
        self._wait_link_local()
        self._start_server()
        return self

    def _wait_link_local(self, limit_s: float = 10.0) -> None:
        """Wait for every link-local address: IPv6 neighbour discovery needs them to forward."""
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            counts = [sh("ip", "-n", ns, "-6", "-o", "addr", "show", "scope", "link").stdout
                      for ns in self.ns.values()]
            if all(c.count("fe80") == want and "tentative" not in c for c, want in zip(counts, (1, 2, 1),
                                                                                       strict=True)):
                return
            time.sleep(0.1)
        raise RuntimeError("testbed: IPv6 link-local addresses did not come up")

    def _start_server(self) -> None:
        rfd, wfd = os.pipe()
        self._server = subprocess.Popen(
            [*self.exec_prefix("out"), sys.executable, "-m", "egressctl_lab.testing.probe_testbed", str(wfd)],
            pass_fds=(wfd,), start_new_session=True)
        os.close(wfd)
        ready, _, _ = select.select([rfd], [], [], 15)
        line = os.read(rfd, 16) if ready else b""
        os.close(rfd)
        if line.strip() != b"ready":
            self.down()
            raise RuntimeError("testbed services did not start")

    def nft(self, ruleset: str) -> None:
        """Replace the router's egress filter (table ``inet vbtest``) with ``ruleset`` (nft syntax body)."""
        sh("ip", "netns", "exec", self.ns["rt"], "nft", "-f", "-",
           input=f"table inet vbtest\ndelete table inet vbtest\ntable inet vbtest {{\n{ruleset}\n}}\n")

    def down(self) -> None:
        """Remove everything (idempotent)."""
        if self._server is not None:
            self._server.terminate()
            try:
                self._server.wait(5)
            except subprocess.TimeoutExpired:
                self._server.kill()
            self._server = None
        for name in self.ns.values():
            if Path(f"/run/netns/{name}").exists():
                for pid in sh("ip", "netns", "pids", name, check=False).stdout.split():
                    with contextlib.suppress(ProcessLookupError, ValueError):
                        os.kill(int(pid), 9)
                sh("ip", "netns", "del", name, check=False)

    def __enter__(self) -> Testbed:
        return self.up()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.down()


def _udp_echo(family: int, port: int) -> socket.socket:
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    s = socket.socket(af, socket.SOCK_DGRAM)
    if family == 4:
        s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    else:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)  # reply from AnyIP addresses
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("0.0.0.0" if family == 4 else "::", port))  # noqa: S104 (inside the testbed namespace)
    return s


def _echo_once(s: socket.socket) -> None:
    """Answer one datagram from the very address it was sent to (AnyIP has thousands)."""
    data, anc, _flags, peer = s.recvmsg(2048, 256)
    for level, kind, value in anc:
        if s.family == socket.AF_INET and (level, kind) == (socket.IPPROTO_IP, IP_PKTINFO):
            _idx, _spec, addr = struct.unpack("I4s4s", value[:12])
            s.sendmsg([data], [(level, kind, struct.pack("I4s4s", 0, addr, b"\0" * 4))], 0, peer)
            return
        if s.family == socket.AF_INET6 and (level, kind) == (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO):
            addr6, _ = struct.unpack("16sI", value[:20])
            s.sendmsg([data], [(level, socket.IPV6_PKTINFO, struct.pack("16sI", addr6, 0))], 0, peer)
            return


def serve(ready_fd: int, limit_s: float = 3600.0) -> None:
    """Outside services (runs inside the ``out`` namespace until terminated; bounded in time)."""
    socks: list[socket.socket] = []
    listeners: list[socket.socket] = []
    for family in (4, 6):
        for port in TCP_PORTS:
            t = socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == 6:
                t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            t.bind(("0.0.0.0" if family == 4 else "::", port))  # noqa: S104 (inside the testbed namespace)
            t.listen(4096)
            listeners.append(t)
        socks += [_udp_echo(family, port) for port in UDP_PORTS]
    os.write(ready_fd, b"ready\n")
    os.close(ready_fd)
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        readable, _, _ = select.select(socks + listeners, [], [], 1.0)
        for s in readable:
            if s in listeners:
                conn, _ = s.accept()
                conn.close()
            else:
                with contextlib.suppress(OSError):
                    _echo_once(s)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
