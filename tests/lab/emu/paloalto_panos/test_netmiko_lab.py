"""netmiko's real ``paloalto_panos`` class against the PAN-OS emulator (real SSH, keyboard-interactive),
and its real nft data plane.

netmiko's PAN-OS ``check_config_mode`` waits >= 2 s per call (a timing read), so each ``send_config_set``
costs ~9 s and each ``commit()`` ~9 s; the tests keep the number of those calls small.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.paloalto_panos import PanDevice
from egressctl_lab.emu.server import RunningEmulator
from egressctl_lab.testing.emulator import threaded_emulator
from netmiko import BaseConnection
from netmiko.exceptions import ConfigInvalidException

from tests.support import firewall_netns
from tests.support.firewall_netns import cmd

#: Every test here drives the emulator over real SSH (netmiko); the data-plane ones also build namespaces.
pytestmark = pytest.mark.ssh

PASSWORD = "x2-panos-secret"
SPEC = DeviceSpec(
    name="fw-a",
    hostname="fw-a",
    username="admin",
    password=PASSWORD,
    interfaces={"ethernet1/1": "wan0", "ethernet1/2": "lan0"},
    zones={"trust": ["ethernet1/2"], "untrust": ["ethernet1/1"]},
    options={"commit_seconds": "1"},
)
ERRORS = r"Invalid syntax|Server error|Unknown command"
DENY_OUTSIDE = [
    "set address x2-out ip-netmask 10.20.2.2/32",
    "set rulebase security rules egressctl-deny from trust to untrust source any destination x2-out "
    'application any service any action deny description "egressctl target=isolated"',
    "move rulebase security rules egressctl-deny top",
]


def connect(port: int) -> BaseConnection:
    return firewall_netns.connect("paloalto_panos", port, PASSWORD)


def dev(emu: RunningEmulator) -> PanDevice:
    return cast(PanDevice, emu.device)


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with threaded_emulator("paloalto_panos", SPEC, 23320, tmp_path_factory.mktemp("x2p"), key_name="x2-fw-a",
                           time_scale=0.1) as running:
        yield running


def test_lifecycle_with_netmiko(emu: RunningEmulator) -> None:
    conn = connect(emu.port)
    try:
        assert conn.base_prompt == "admin@fw-a"
        assert "operational-mode: normal" in cmd(conn, "show system info")
        conn.send_config_set(
            ["save config to egressctl-snapshot.xml", *DENY_OUTSIDE], error_pattern=ERRORS
        )
        assert emu.call(lambda: list(dev(emu).running.rules)) == ["allow-outbound"]
        assert cmd(conn, "check pending-changes").strip() == "yes"
        output = conn.commit()
        assert "Configuration committed successfully" in output and "100%" in output
        assert emu.call(lambda: list(dev(emu).running.rules)) == ["egressctl-deny", "allow-outbound"]
        active = cmd(conn, "show running security-policy | match index")
        assert active.splitlines()[0] == '"egressctl-deny; index: 1" {'
        with pytest.raises(ConfigInvalidException, match="Invalid syntax"):
            conn.send_config_set(["set address bad ip-netmask 300.1.1.1"], error_pattern=ERRORS)
        conn.exit_config_mode()
        assert cmd(conn, "check pending-changes").strip() == "no"
    finally:
        conn.disconnect()


@pytest.mark.lab
@pytest.mark.skipif(not firewall_netns.available(), reason="needs root, ip and nft (network namespaces)")
def test_deny_stops_packets_and_snapshot_restores_them(tmp_path: Path) -> None:
    with firewall_netns.topology("p", tmp_path) as topo, firewall_netns.nft_plane(topo) as plane, \
            threaded_emulator("paloalto_panos", SPEC, 23321, tmp_path, key_name="x2-fw-a", time_scale=0.1,
                              dataplane=plane) as emu:
        assert topo.wait_reachable(True, 5), "baseline rule allow-outbound should forward"
        conn = connect(emu.port)
        try:
            conn.send_config_set(
                ["save config to egressctl-snapshot.xml", *DENY_OUTSIDE],
                error_pattern=ERRORS,
                exit_config_mode=False,
            )
            assert topo.reachable(), "a candidate change must not reach the data plane before commit"
            assert "committed successfully" in conn.commit()
            assert not topo.reachable(), "the committed deny rule must stop inside packets"
            conn.config_mode()
            loaded = cmd(conn, "load config from egressctl-snapshot.xml", expect_string=r"#")
            assert "Config loaded from egressctl-snapshot.xml" in loaded
            assert "committed successfully" in conn.commit()
            assert topo.wait_reachable(True, 5), "commit of the snapshot must restore forwarding"
            assert plane.failures == 0
        finally:
            conn.disconnect()
