"""cisco_ios emulator driven by netmiko's real ``cisco_ios`` class; then real packets through real nftables.

Part 1 runs the emulator in a thread (``serve_in_thread``, no data plane). Part 2 (``lab``) runs the
emulator process (``python -m egressctl_lab.emu --dataplane nft``) in its own namespace between two
host namespaces (prefix ``x1-``) and shows a vendor-syntax deny stopping packets and the revert timer
restoring them.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.server import RunningEmulator
from egressctl_lab.testing.emulator import threaded_emulator
from netmiko import ConnectHandler
from netmiko.exceptions import ConfigInvalidException

from tests.support.emulator_in_netns import Site, lab_available, tcp_open, wait_for  # isort: skip

#: Every test here drives the emulator over real SSH (netmiko); the data-plane ones also build namespaces.
pytestmark = pytest.mark.ssh

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
    with threaded_emulator("cisco_ios", SPEC, 23220, tmp_path_factory.mktemp("ios"), key_name="x1-ce-a",
                           time_scale=0.01) as running:
        yield running


def test_netmiko_session_lifecycle(emu: RunningEmulator) -> None:
    conn = connect(emu.port)
    try:
        assert conn.find_prompt() == "ce-a#"  # privilege 15 with login local: no enable needed
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
