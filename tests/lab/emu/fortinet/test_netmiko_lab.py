"""netmiko's real ``fortinet`` class against the FortiOS emulator (real SSH), and its real nft data plane."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.fortinet import FortiDevice
from egressctl_lab.emu.server import RunningEmulator
from egressctl_lab.testing.emulator import threaded_emulator
from netmiko import BaseConnection
from netmiko.exceptions import ConfigInvalidException

from tests.support import firewall_netns
from tests.support.firewall_netns import cmd

#: Every test here drives the emulator over real SSH (netmiko); the data-plane ones also build namespaces.
pytestmark = pytest.mark.ssh

PASSWORD = "x2-fortinet-secret"
SPEC = DeviceSpec(
    name="fw-b",
    hostname="fw-b",
    username="admin",
    password=PASSWORD,
    interfaces={"port1": "wan0", "port2": "lan0"},
)
ERRORS = r"Command fail|Unknown action"
DENY_OUTSIDE = [
    "config firewall address",
    "edit x2-out",
    "set subnet 10.20.2.2 255.255.255.255",
    "next",
    "end",
    "config firewall policy",
    "edit 0",
    "set name egressctl-deny",
    "set srcintf port2",
    "set dstintf port1",
    "set srcaddr all",
    "set dstaddr x2-out",
    "set action deny",
    "set schedule always",
    "set service ALL",
    'set comments "egressctl target=isolated"',
    "next",
    "move 2 before 1",
    "end",
]


def connect(port: int) -> BaseConnection:
    return firewall_netns.connect("fortinet", port, PASSWORD)


def dev(emu: RunningEmulator) -> FortiDevice:
    return cast(FortiDevice, emu.device)


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with threaded_emulator("fortinet", SPEC, 23310, tmp_path_factory.mktemp("x2f"), key_name="x2-fw-b",
                           time_scale=0.02) as running:
        yield running


def test_connect_paging_and_disconnect_restore_more(emu: RunningEmulator) -> None:
    conn = connect(emu.port)
    try:
        assert conn.base_prompt == "fw-b "
        assert emu.call(lambda: dev(emu).config["system console"][""]) == {"output": ("standard",)}
        status = cmd(conn, "get system status")
        assert "Virtual domain configuration: disable" in status and "Hostname: fw-b" in status
        assert cmd(conn, "get system console | grep output").strip() == "output              : standard"
    finally:
        conn.disconnect()
    deadline = time.monotonic() + 5
    while emu.call(lambda: dev(emu).config["system console"][""]) != {"output": ("more",)}:
        assert time.monotonic() < deadline, "netmiko's cleanup did not restore 'set output more'"
        time.sleep(0.1)


def test_config_block_and_rejected_line(emu: RunningEmulator) -> None:
    conn = connect(emu.port)
    try:
        conn.send_config_set(DENY_OUTSIDE, error_pattern=ERRORS)
        assert emu.call(lambda: list(dev(emu).config["firewall policy"])) == ["2", "1"]
        shown = cmd(conn, "show firewall policy | grep -f egressctl")
        assert 'set comments "egressctl target=isolated"' in shown and "edit 2" in shown
        before = emu.call(lambda: repr(dev(emu).config))
        with pytest.raises(ConfigInvalidException, match="Command fail"):
            conn.send_config_set(
                ["config firewall policy", "edit 2", "set dstaddr no-such-object", "next", "end"],
                error_pattern=ERRORS,
            )
        out = cmd(conn, "abort", expect_string=r"fw-b # ")
        assert "Command fail" not in out
        assert emu.call(lambda: repr(dev(emu).config)) == before
        conn.send_config_set(["config firewall policy", "delete 2", "end"], error_pattern=ERRORS)
        conn.send_config_set(["config firewall address", "delete x2-out", "end"], error_pattern=ERRORS)
        assert emu.call(lambda: list(dev(emu).config["firewall policy"])) == ["1"]
    finally:
        conn.disconnect()


@pytest.mark.lab
@pytest.mark.skipif(not firewall_netns.available(), reason="needs root, ip and nft (network namespaces)")
def test_deny_stops_packets_and_cfg_revert_timeout_restores_them(tmp_path: Path) -> None:
    with firewall_netns.topology("f", tmp_path) as topo, firewall_netns.nft_plane(topo) as plane, \
            threaded_emulator("fortinet", SPEC, 23311, tmp_path, key_name="x2-fw-b", time_scale=0.05,
                              dataplane=plane) as emu:
        assert topo.wait_reachable(True, 5), "baseline policy lan-to-wan should forward"
        conn = connect(emu.port)
        try:
            conn.send_config_set(
                ["config system global", "set cfg-save revert", "set cfg-revert-timeout 120", "end"],
                error_pattern=ERRORS,
            )
            conn.send_config_set(DENY_OUTSIDE, error_pattern=ERRORS)
            assert not topo.reachable(), "the deny policy must stop inside packets"
            assert plane.failures == 0
            # 120 device seconds at scale 0.05 = 6 s real: left unconfirmed, the change reverts, by a
            # reboot (90 device seconds: 4.5 s real) that drops this session; then the saved config forwards.
            assert topo.wait_reachable(True, 20), "cfg-revert-timeout should restore forwarding"
            assert emu.call(lambda: (dev(emu).reverts, dev(emu).reboots)) == (1, 1)
        finally:
            conn.disconnect()
        conn = connect(emu.port)
        try:
            assert "egressctl-deny" not in cmd(conn, "show firewall policy")
        finally:
            conn.disconnect()
