"""Held-open flows through the lab for the session tests (``test_sessions_*``): servers, clients, CLI.

A server process in the lab's internet namespace answers on ports no inventory rule allows: a TCP echo
(24250), a UDP echo bound to the web canary's address (24251, replies leave from the address reached) and a
UDP *push* (24252) that, once a client has said hello, sends it a line every 0.2 s (the inbound half of a
flow, which is what outlives a cut on a stateful Linux box). The always-allowed flow is the lab canary's own
UDP echo on the national CERT's VPN address (203.0.113.10:4500). A client process in ws1 or srv1 holds the
flows open (a line every 0.2 s each) and prints the name of a flow each time it hears from it; the test
stamps those lines as they arrive. Both processes stop by themselves after a bounded time and are killed
when the test ends, however it ends. Traffic only ever crosses the test's own namespaces.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from netmiko import BaseConnection, ConnectHandler

from egressctl.inventory.credentials import resolve
from egressctl.inventory.loader import load_inventory

ECHO_TCP, ECHO_UDP, PUSH_UDP = 24250, 24251, 24252
WEB, CERT_VPN = "192.0.2.80", "203.0.113.10"
INTERVAL = 0.2
SILENCE = 1.0  # no reply for this long (5 intervals) = the flow is dead

SERVER = f"""
import socket, threading, time
END = time.monotonic() + 240
def tcp():
    s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(("::", {ECHO_TCP})); s.listen(32)
    s.settimeout(1.0)
    while time.monotonic() < END:
        try:
            c, _ = s.accept()
        except OSError:
            continue
        threading.Thread(target=echo, args=(c,), daemon=True).start()
def echo(c):
    c.settimeout(1.0)
    while time.monotonic() < END:
        try:
            data = c.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            return
        if not data:
            return
        c.sendall(data)
def udp_echo():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("{WEB}", {ECHO_UDP})); u.settimeout(1.0)
    while time.monotonic() < END:
        try:
            data, peer = u.recvfrom(2048)
        except OSError:
            continue
        u.sendto(data, peer)
def push():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("{WEB}", {PUSH_UDP}))
    u.settimeout({INTERVAL})
    peers = {{}}
    while time.monotonic() < END:
        try:
            _, peer = u.recvfrom(2048); peers[peer] = time.monotonic() + 30
        except OSError:
            pass
        for p, until in list(peers.items()):
            if time.monotonic() > until:
                del peers[p]
            else:
                u.sendto(b"push\\n", p)
for f in (tcp, udp_echo, push):
    threading.Thread(target=f, daemon=True).start()
print("ready", flush=True)
time.sleep(240)
"""

CLIENT = f"""
import select, socket, sys, time
END = time.monotonic() + float(sys.argv[1])
flows = {{}}
for spec in sys.argv[2:]:
    name, kind, host, port = spec.split(":")
    if kind == "tcp":
        s = socket.create_connection((host, int(port)), timeout=3); s.setblocking(False)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((host, int(port)))
        s.setblocking(False)
        if kind == "push":
            s.send(b"hello\\n")
    flows[s] = (name, kind)
next_send = 0.0
while time.monotonic() < END:
    now = time.monotonic()
    if now >= next_send:
        next_send = now + {INTERVAL}
        for s, (name, kind) in flows.items():
            if kind == "push":
                continue
            try:
                s.send(b"line\\n")
            except OSError:
                pass
    ready, _, _ = select.select(list(flows), [], [], 0.05)
    for s in ready:
        try:
            data = s.recv(4096)
        except OSError:
            continue
        if data:
            print(flows[s][0], flush=True)
"""


class Flows:
    """A client holding flows open from one lab node; ``heard(name)`` is when a flow last answered."""

    def __init__(self, lab: Any, node: str, specs: dict[str, str], seconds: float = 90.0) -> None:
        from egressctl_lab import node_exec_prefix

        argv = [*node_exec_prefix(node, state_dir=lab.state), sys.executable, "-u", "-c", CLIENT,
                str(seconds)]
        argv += [f"{name}:{spec}" for name, spec in specs.items()]
        self.names = list(specs)
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            with self._lock:
                self._last[line.strip()] = time.monotonic()

    def heard(self, name: str) -> float:
        """Monotonic time of the last reply of ``name`` (0 when never)."""
        with self._lock:
            return self._last.get(name, 0.0)

    def alive(self, name: str) -> bool:
        """Heard within the last :data:`SILENCE` seconds."""
        return time.monotonic() - self.heard(name) < SILENCE

    def wait_alive(self, *names: str, timeout: float = 10.0) -> None:
        """Wait until every named flow answers (raises AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while not all(self.alive(n) for n in names):
            silent = [n for n in names if not self.alive(n)]
            assert time.monotonic() < deadline, f"flows never answered: {silent}"
            time.sleep(0.05)

    def died_within(self, name: str, since: float, seconds: float) -> float | None:
        """Seconds from ``since`` to the last reply of ``name`` if it then stays silent, else None."""
        deadline = since + seconds + SILENCE
        while time.monotonic() < deadline:
            time.sleep(0.05)
        last = self.heard(name)
        return max(0.0, last - since) if time.monotonic() - last >= SILENCE else None

    def kept_for(self, seconds: float, *names: str) -> bool:
        """Every named flow keeps answering throughout the next ``seconds``."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not all(self.alive(n) for n in names):
                return False
            time.sleep(0.1)
        return True

    def stop(self) -> None:
        """Kill the client (and its reader)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait(5)


def flow_specs(push: bool = False) -> dict[str, str]:
    """The denied TCP echo, a denied UDP flow (echo, or the inbound push) and the allowed CERT VPN flow."""
    udp = f"push:{WEB}:{PUSH_UDP}" if push else f"udp:{WEB}:{ECHO_UDP}"
    return {"c2-tcp": f"tcp:{WEB}:{ECHO_TCP}", "c2-udp": udp, "cert-vpn": f"udp:{CERT_VPN}:4500"}


@contextlib.contextmanager
def servers(lab: Any) -> Iterator[None]:
    """The echo/push server in the lab's internet namespace, killed however the body ends."""
    from egressctl_lab import node_exec_prefix

    argv = [*node_exec_prefix("inet", state_dir=lab.state), sys.executable, "-u", "-c", SERVER]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield
    finally:
        proc.kill()
        proc.wait(5)


@contextlib.contextmanager
def held(lab: Any, node: str, specs: dict[str, str]) -> Iterator[Flows]:
    """Flows held open from ``node`` until the body ends (then killed); earlier tests' flows go first."""
    forget_flows(lab)
    flows = Flows(lab, node, specs)
    try:
        flows.wait_alive(*specs)
        yield flows
    finally:
        flows.stop()


NETMIKO = {"fortinet": "fortinet", "paloalto_panos": "paloalto_panos", "juniper_junos": "juniper_junos",
           "linux_nftables": "linux", "cisco_ios": "cisco_ios"}


DEVICES = ("fw-a", "ce-a", "core-b", "fw-b", "ce-b")


def forget_flows(lab: Any) -> None:
    """Delete the entries of earlier tests' flows from every device on the way (a flow cut mid-way never
    closes: its entries on the devices before and after the cut would stay established for days)."""
    for node in DEVICES:
        for proto, port in (("tcp", ECHO_TCP), ("udp", ECHO_UDP), ("udp", PUSH_UDP)):
            in_ns(lab, node, "conntrack", "-D", "-p", proto, "--dport", str(port))


def site(lab: Any) -> Any:
    """The lab instance's effective site (its loopback ports and secret)."""
    return load_inventory(lab.inventory_path).site("lab")


def connect(lab: Any, device: str) -> BaseConnection:
    """netmiko's own device class to one lab device, as the operators' controller reaches it."""
    dev = site(lab).device(device)
    secret = resolve(dev.credential).password or ""
    return ConnectHandler(device_type=NETMIKO[dev.platform], host=dev.host, port=dev.port,
                          username=dev.username, password=secret, secret=secret, timeout=30)


def in_ns(lab: Any, node: str, *argv: str, stdin: str = "") -> str:
    """Run a command in a lab node's namespace (root) and return its output."""
    from egressctl_lab import node_exec_prefix

    done = subprocess.run([*node_exec_prefix(node, state_dir=lab.state), *argv], input=stdin,
                          capture_output=True, text=True, timeout=20, check=False)
    return done.stdout + done.stderr
