"""Batched session clears on the lab (issue 10 leftover): many denied sessions end in a few clears, over
netmiko to the emulators and the real Linux box, and nothing allowed goes with them.

Namespaces ``h15t*``, loopback ports from 28110; the hold server listens inside the lab's internet
namespace on 28142-28143, and the lab canary answers 203.0.113.10:443 (held open by ``HOLD``). From the
device's vantage point a client holds 30 idle TCP connections to the web canary (denied), 5 to a denied
port of the CERT's host (whose other ports the policy allows, so that host may only be cleared by protocol
and port), one TCP connection to the CERT's TLS port and the CERT's VPN flow (both always allowed).
``clear_sessions`` with the isolated policy must end exactly the 35 in two filtered clears, keep the
allowed ones in the device's own table, and leave the driver's management session working. The devices
stay at ``normal``: which sessions to end is decided by the policy given, and the denied connections are
idle, so nothing re-creates their entries (the cut itself, with packets, is covered by
``test_sessions_lab``). Every process is bounded and killed.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from egressctl.inventory.credentials import resolve
from egressctl.policy import compute_policy
from egressctl.registry import driver_class
from tests.support.labkit import running_lab
from tests.support.sessions_kit import CERT_VPN, WEB, in_ns, site

pytestmark = [pytest.mark.lab, pytest.mark.slow]
DENIED, DENIED_AT_CERT, C2, AT_CERT = 28142, 28143, 30, 5
STATEFUL = ("table inet h15t_site {\n chain forward {\n"
            "  type filter hook forward priority 0; policy accept;\n"
            "  ct state established,related accept\n }\n}\n")
SERVER = f"""
import socket, threading, time
END = time.monotonic() + 600
held = []
def serve(host, port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
    except OSError:
        return  # the lab's own canary answers there
    s.listen(128); s.settimeout(1.0)
    while time.monotonic() < END:
        try:
            held.append(s.accept()[0])
        except OSError:
            pass
for a in (("{WEB}", {DENIED}), ("{CERT_VPN}", {DENIED_AT_CERT}), ("{CERT_VPN}", 443)):
    threading.Thread(target=serve, args=a, daemon=True).start()
time.sleep(0.3)
print("ready", flush=True)
time.sleep(600)
"""
CLIENT = f"""
import socket, time
held = [socket.create_connection(("{WEB}", {DENIED}), timeout=5) for _ in range({C2})]
held += [socket.create_connection(("{CERT_VPN}", {DENIED_AT_CERT}), timeout=5) for _ in range({AT_CERT})]
tls = socket.create_connection(("{CERT_VPN}", 443), timeout=5); tls.send(b"HOLD\\n")  # the canary echoes
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(("{CERT_VPN}", 4500)); u.send(b"vpn")
time.sleep(0.3)
print("ready", flush=True)
end = time.monotonic() + 120
while time.monotonic() < end:
    u.send(b"vpn"); tls.send(b"line\\n"); tls.recv(4096); time.sleep(0.5)
"""
CASES = {"fw-b": "srv1", "ce-b": "srv1", "core-b": "srv1", "fw-a": "ws1"}


@contextlib.contextmanager
def process(lab: Any, node: str, code: str) -> Iterator[None]:
    """A Python process in ``node`` that prints ``ready``; killed however the body ends."""
    from egressctl_lab import node_exec_prefix

    argv = [*node_exec_prefix(node, state_dir=lab.state), sys.executable, "-u", "-c", code]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", node
        yield
    finally:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_lab(tmp_path_factory, "h15t", 28110) as instance:
        in_ns(instance, "core-b", "nft", "-f", "-", stdin=STATEFUL)
        with process(instance, "inet", SERVER):
            yield instance


def established(lab: Any, node: str, proto: str, port: int) -> int:
    """Live entries to ``port`` in ``node``'s own table (the emulators' session table is conntrack)."""
    out = in_ns(lab, node, "conntrack", "-L", "-p", proto, "--dport", str(port))
    return sum(1 for line in out.splitlines() if "ESTABLISHED" in line or (proto == "udp" and "src=" in line))


def forget(lab: Any) -> None:
    """Earlier cases' entries go first (a client killed mid-way leaves them behind on the other devices)."""
    for node in CASES:
        for port in (DENIED, DENIED_AT_CERT, 443):
            in_ns(lab, node, "conntrack", "-D", "-p", "tcp", "--dport", str(port))


@pytest.mark.parametrize("device", list(CASES))
def test_many_denied_sessions_end_in_two_clears_and_the_allowed_stay(lab: Any, device: str) -> None:
    forget(lab)
    with process(lab, CASES[device], CLIENT):
        assert established(lab, device, "tcp", DENIED) == C2
        assert established(lab, device, "tcp", 443) == 1
        dev = site(lab).device(device)
        drv = driver_class(dev.platform)(dev, timeout=60.0)  # type: ignore[call-arg]
        drv.open(resolve(dev.credential))
        try:
            report = drv.clear_sessions(compute_policy(site(lab), "isolated"), site(lab).inside)
            print(f"\n{device}: {report.detail}")
            assert (report.matched, report.cleared) == (C2 + AT_CERT, C2 + AT_CERT)
            assert "2 clears (2 filters, 0 single)" in report.detail and "WARNING" not in report.detail
            assert drv.session_handling() is not None  # the driver's own management session still answers
        finally:
            drv.close()
        assert established(lab, device, "tcp", DENIED) == 0
        assert established(lab, device, "tcp", DENIED_AT_CERT) == 0
        assert established(lab, device, "tcp", 443) == 1, "the CERT's TLS session must survive"
        assert established(lab, device, "udp", 4500) >= 1, "the CERT's VPN flow must survive"
