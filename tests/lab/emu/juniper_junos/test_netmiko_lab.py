"""juniper_junos emulator driven by netmiko's real ``juniper_junos`` class; then real packets through nft.

Part 1 runs the emulator in a thread (``serve_in_thread``, no data plane). Part 2 (``lab``) runs the
emulator process with ``--dataplane nft`` in its own namespace between two host namespaces (prefix
``x1-``): a deny policy in Junos syntax stops packets once committed, and a ``commit confirmed`` left
unconfirmed restores them.
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

PASSWORD = "x1-Junos-pw"
SPEC = DeviceSpec(
    name="x1-ce-b", hostname="ce-b", username="admin", password=PASSWORD,
    interfaces={"ge-0/0/1.0": "ge-0-0-1", "ge-0/0/0.0": "ge-0-0-0"},
    zones={"trust": ["ge-0/0/1.0"], "untrust": ["ge-0/0/0.0"]},
)
ERRORS = r"syntax error|unknown command|error:|is ambiguous"
POL = "security policies from-zone trust to-zone untrust policy"


def connect(port: int, sock: socket.socket | None = None) -> Any:
    return ConnectHandler(
        device_type="juniper_junos", host="127.0.0.1", port=port, username="admin", password=PASSWORD,
        fast_cli=True, sock=sock, conn_timeout=10,
    )


def deny_lines(name: str, app: str) -> list[str]:
    return [
        f"set {POL} {name} match source-address any destination-address any application {app}",
        f"set {POL} {name} then deny",
        f"insert {POL} {name} before policy trust-to-untrust",
    ]


# -- part 1: netmiko against the threaded emulator ---------------------------------------------------------
@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with threaded_emulator("juniper_junos", SPEC, 23230, tmp_path_factory.mktemp("junos"), key_name="x1-ce-b",
                           time_scale=0.01) as running:
        yield running


def test_netmiko_connect_config_commit(emu: RunningEmulator) -> None:
    conn = connect(emu.port)
    try:
        assert conn.find_prompt() == "admin@ce-b>"
        assert conn.base_prompt == "admin@ce-b"
        out = conn.send_config_set(
            ["set security address-book global address x1-web 192.0.2.80/32",
             "set applications application x1-http protocol tcp destination-port 80",
             f"set {POL} x1-web match source-address any destination-address x1-web application x1-http",
             f"set {POL} x1-web then deny", f"insert {POL} x1-web before policy trust-to-untrust"],
            exit_config_mode=False, error_pattern=ERRORS,
        )
        assert "[edit]" in out
        assert conn.check_config_mode()
        assert "+    address x1-web 192.0.2.80/32;" in conn.send_command("show | compare")
        assert "configuration check succeeds" in conn.commit(check=True)
        assert "commit complete" in conn.commit(comment="x1 deny web")
        assert conn.send_command("show | compare").strip() == ""
        conn.exit_config_mode()
        shown = conn.send_command(
            "show configuration security policies from-zone trust to-zone untrust | display set")
        assert shown.index("policy x1-web") < shown.index("policy trust-to-untrust")
        assert "x1 deny web" in conn.send_command("show system commit")
    finally:
        conn.disconnect()


def test_netmiko_error_pattern_changes_nothing(emu: RunningEmulator) -> None:
    conn = connect(emu.port)
    try:
        with pytest.raises(ConfigInvalidException):
            conn.send_config_set(["set security polices from-zone trust"], exit_config_mode=False,
                                 error_pattern=ERRORS)
        assert conn.send_command("show | compare").strip() == ""
        out = conn.send_command("commit", expect_string=r"#")
        assert "commit complete" in out
    finally:
        conn.disconnect()


def test_netmiko_exit_with_uncommitted_changes_keeps_candidate(emu: RunningEmulator) -> None:
    conn = connect(emu.port)
    try:
        conn.send_config_set(["set system host-name x1-renamed"], error_pattern=ERRORS)  # exits config mode
        assert conn.find_prompt() == "admin@ce-b>"
        conn.config_mode()
        assert "x1-renamed" in conn.send_command("show | compare")
        conn.send_config_set(["rollback 0"], exit_config_mode=False, error_pattern=ERRORS)
        assert conn.send_command("show | compare").strip() == ""
    finally:
        conn.disconnect()


def test_netmiko_commit_confirmed_rolls_back(emu: RunningEmulator) -> None:
    conn = connect(emu.port)
    try:
        conn.send_config_set(deny_lines("x1-cc", "any"), exit_config_mode=False, error_pattern=ERRORS)
        out = conn.commit(confirm=True, confirm_delay=1)
        assert "commit confirmed will be automatically rolled back in 1 minutes unless confirmed" in out
        assert "x1-cc" in conn.send_command("run show configuration security policies | display set")
        deadline = time.monotonic() + 10  # 1 device minute = 0.6 s at time scale 0.01
        device: Any = emu.device
        while time.monotonic() < deadline and emu.call(lambda: device.rollbacks) == 0:
            time.sleep(0.2)
        shown = conn.send_command("run show configuration security policies | display set")
        assert "x1-cc" not in shown
        assert "x1-cc" not in conn.send_command("show | display set")
    finally:
        conn.disconnect()


# -- part 2: real namespaces, real nftables, real packets --------------------------------------------------
PORT_NS = 23231


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not lab_available():
        pytest.skip("needs root, iproute2 and nft for network namespaces")
    s = Site("j", "ge-0-0-1", "ge-0-0-0")
    try:
        s.build()
        spec = json.dumps({"name": "x1-ce-b", "hostname": "ce-b", "username": "admin", "password": PASSWORD,
                           "interfaces": SPEC.interfaces, "zones": SPEC.zones})
        s.start("juniper_junos", spec, tmp_path_factory.mktemp("junosns"), PORT_NS, 0.05)
        yield s
    finally:
        s.destroy()


@pytest.mark.lab
def test_deny_policy_stops_packets_after_commit(site: Site) -> None:
    assert tcp_open(site.h1, "10.71.2.2", 80) and tcp_open(site.h1, "10.71.2.2", 443)
    assert not tcp_open(site.h2, "10.71.1.2", 22)  # untrust -> trust: default deny
    conn = connect(PORT_NS, site.socket_to_emulator(PORT_NS))
    try:
        conn.send_config_set(deny_lines("x1-no-http", "junos-http"), exit_config_mode=False,
                             error_pattern=ERRORS)
        assert tcp_open(site.h1, "10.71.2.2", 80)  # candidate only: nothing enforced yet
        assert "commit complete" in conn.commit()
        assert not tcp_open(site.h1, "10.71.2.2", 80)
        assert tcp_open(site.h1, "10.71.2.2", 443)
        conn.send_config_set([f"delete {POL} x1-no-http"], exit_config_mode=False, error_pattern=ERRORS)
        conn.commit()
        assert tcp_open(site.h1, "10.71.2.2", 80)
    finally:
        conn.disconnect()


@pytest.mark.lab
def test_commit_confirmed_left_unconfirmed_restores_packets(site: Site) -> None:
    conn = connect(PORT_NS, site.socket_to_emulator(PORT_NS))
    try:
        conn.send_config_set(deny_lines("x1-cut-all", "any"), exit_config_mode=False, error_pattern=ERRORS)
        conn.commit(confirm=True, confirm_delay=1)
        assert not tcp_open(site.h1, "10.71.2.2", 443)
        # 1 device minute = 3 s at time scale 0.05; nobody confirms.
        assert wait_for(lambda: tcp_open(site.h1, "10.71.2.2", 443), 12)
        assert "x1-cut-all" not in conn.send_command("run show configuration | display set")
    finally:
        conn.disconnect()


@pytest.mark.lab
def test_sigterm_removes_the_table(site: Site) -> None:
    assert "ct state established,related accept" in site.nft_table()
    assert site.stop_emulator() == 0
    assert site.nft_table() == ""
