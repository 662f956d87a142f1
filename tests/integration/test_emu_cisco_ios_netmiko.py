"""cisco_ios emulator driven by netmiko's real ``cisco_ios`` class; then real packets through real nftables.

Part 1 runs the emulator in a thread (``serve_in_thread``, no data plane). Part 2 (``lab``) runs the
emulator process (``python -m egressctl.lab.emu --dataplane nft``) in its own namespace between two
host namespaces (prefix ``x1-``) and shows a vendor-syntax deny stopping packets and the revert timer
restoring them.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from netmiko import ConnectHandler
from netmiko.exceptions import ConfigInvalidException

from egressctl.lab import hostkeys
from egressctl.lab.emu.base import DeviceSpec
from egressctl.lab.emu.server import RunningEmulator, serve_in_thread

T = TypeVar("T")
PASSWORD = "x1-Ios-pw"
SPEC = DeviceSpec(
    name="x1-ce-a", hostname="ce-a", username="admin", password=PASSWORD,
    interfaces={"GigabitEthernet0/0": "gi0-0", "GigabitEthernet0/1": "gi0-1"},
)
ERRORS = r"% Invalid input|% Incomplete command|% Ambiguous command"


def connect(port: int, sock: socket.socket | None = None) -> Any:
    return ConnectHandler(
        device_type="cisco_ios", host="127.0.0.1", port=port, username="admin", password=PASSWORD,
        secret=PASSWORD, fast_cli=True, sock=sock, conn_timeout=10,
    )


# -- part 1: netmiko against the threaded emulator ---------------------------------------------------------
@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    key = hostkeys.write_private("x1-ce-a", tmp_path_factory.mktemp("ios") / "key")
    running = serve_in_thread("cisco_ios", SPEC, port=23220, host_key_path=key, time_scale=0.01)
    try:
        yield running
    finally:
        running.stop()


def test_netmiko_session_lifecycle(emu: RunningEmulator) -> None:
    conn = connect(emu.port)
    try:
        assert conn.find_prompt() == "ce-a>"
        conn.enable()
        assert conn.check_enable_mode()
        out = conn.send_config_set(
            ["ip access-list extended X1-NM", "remark x1", "permit tcp any host 192.0.2.80 eq 443",
             "deny ip any any", "interface GigabitEthernet0/0", "ip access-group X1-NM out"],
            error_pattern=ERRORS,
        )
        assert "ce-a(config-ext-nacl)#" in out
        assert not conn.check_config_mode()
        acl = conn.send_command("show access-lists X1-NM")
        assert "10 permit tcp any host 192.0.2.80 eq 443" in acl
        assert "20 deny ip any any" in acl
        assert "[OK]" in conn.save_config()
        assert " ip access-group X1-NM out" in conn.send_command("show running-config | include access-group")
    finally:
        conn.disconnect()


def test_netmiko_error_pattern_and_nothing_changes(emu: RunningEmulator) -> None:
    conn = connect(emu.port)
    try:
        conn.enable()
        before = conn.send_command("show running-config | section ip access-list")
        with pytest.raises(ConfigInvalidException) as info:
            conn.send_config_set(["ip access-list extended X1-BAD", "permit tcp any hots 1.2.3.4"],
                                 error_pattern=ERRORS)
        assert "matched error: % Invalid input" in str(info.value)
        conn.exit_config_mode()
        after = conn.send_command("show running-config | section ip access-list")
        assert "hots" not in after and "1.2.3.4" not in after
        # The header line was valid (IOS creates the empty ACL); the refused entry added nothing.
        kept = [ln for ln in after.splitlines() if ln != "ip access-list extended X1-BAD"]
        assert kept == before.splitlines()
    finally:
        conn.disconnect()


def test_netmiko_revert_timer_expires(emu: RunningEmulator) -> None:
    conn = connect(emu.port)
    try:
        conn.enable()
        conn.send_config_set(["archive", "path flash:archive"], error_pattern=ERRORS)
        out = conn.send_command("configure terminal revert timer 1", expect_string=r"\(config\)#")
        assert "Enter configuration commands" in out
        conn.send_config_set(["ip access-list extended X1-RV", "deny ip any any"], error_pattern=ERRORS)
        assert "X1-RV" in conn.send_command("show access-lists")
        deadline = time.monotonic() + 10  # 1 device minute = 0.6 s at time scale 0.01
        while "X1-RV" in conn.send_command("show access-lists") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "X1-RV" not in conn.send_command("show access-lists")
        assert conn.send_command("show archive config rollback timer").strip() == (
            "%No Rollback Confirmed Change pending"
        )
    finally:
        conn.disconnect()


# -- part 2: real namespaces, real nftables, real packets --------------------------------------------------
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
            ["ip", "netns", "exec", self.r, sys.executable, "-m", "egressctl.lab.emu", "--platform", platform,
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


PORT_NS = 23221


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not lab_available():
        pytest.skip("needs root, iproute2 and nft for network namespaces")
    s = Site("c", "gi0-1", "gi0-0")
    try:
        s.build()
        spec = json.dumps({"name": "x1-ce-a", "hostname": "ce-a", "username": "admin", "password": PASSWORD,
                           "interfaces": SPEC.interfaces})
        s.start("cisco_ios", spec, tmp_path_factory.mktemp("iosns"), PORT_NS, 0.05)
        yield s
    finally:
        s.destroy()


@pytest.mark.lab
def test_deny_by_ios_syntax_stops_packets(site: Site) -> None:
    assert tcp_open(site.h1, "10.71.2.2", 80) and tcp_open(site.h1, "10.71.2.2", 443)
    conn = connect(PORT_NS, site.socket_to_emulator(PORT_NS))
    try:
        conn.enable()
        cut = ["ip access-list extended X1-CUT", "deny tcp any any eq www", "permit ip any any",
               "interface GigabitEthernet0/0", "ip access-group X1-CUT out"]
        conn.send_config_set(cut, error_pattern=ERRORS)
        assert "jump" in site.nft_table()
        assert not tcp_open(site.h1, "10.71.2.2", 80)
        assert tcp_open(site.h1, "10.71.2.2", 443)
        with pytest.raises(ConfigInvalidException):
            conn.send_config_set(["interface GigabitEthernet0/0", "no ip access-group X1-CUT sideways"],
                                 error_pattern=ERRORS)
        conn.exit_config_mode()
        assert not tcp_open(site.h1, "10.71.2.2", 80)  # the refused line changed nothing
        conn.send_config_set(["interface GigabitEthernet0/0", "no ip access-group X1-CUT out"],
                             error_pattern=ERRORS)
        assert tcp_open(site.h1, "10.71.2.2", 80)
    finally:
        conn.disconnect()


@pytest.mark.lab
def test_revert_timer_left_unconfirmed_restores_packets(site: Site) -> None:
    conn = connect(PORT_NS, site.socket_to_emulator(PORT_NS))
    try:
        conn.enable()
        conn.send_config_set(["archive", "path flash:archive"], error_pattern=ERRORS)
        conn.send_command("configure terminal revert timer 1", expect_string=r"\(config\)#")
        conn.send_config_set(["ip access-list extended X1-ALL", "deny ip any any",
                              "interface GigabitEthernet0/1", "ip access-group X1-ALL in"],
                             error_pattern=ERRORS)
        assert not tcp_open(site.h1, "10.71.2.2", 443)
        # 1 device minute = 3 s at time scale 0.05; nobody confirms.
        assert wait_for(lambda: tcp_open(site.h1, "10.71.2.2", 443), 12)
        assert "access-group" not in conn.send_command("show running-config | include access-group")
    finally:
        conn.disconnect()


@pytest.mark.lab
def test_sigterm_removes_the_table(site: Site) -> None:
    assert site.nft_table() != ""
    assert site.stop_emulator() == 0
    assert site.nft_table() == ""
