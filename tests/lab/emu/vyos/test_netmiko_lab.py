"""netmiko's own ``vyos`` class drives the VyOS emulator as it drives a real router, over real SSH.

Connect (``set terminal width`` / ``length`` answered as netmiko requires), show commands (``show
interfaces`` parsed by ntc-templates on a 1.3 router), configuration including lines egressctl never sends,
``commit`` and ``save_config`` (netmiko's own), ``exit`` with uncommitted changes (netmiko answers ``exit
discard``), ``commit-confirm`` + its question + ``confirm``, and an invalid line caught by
``error_pattern``. Ports 27910-27911 (helper range 27900-27949); no namespaces. netmiko's VyOS
``check_config_mode`` waits ≥2 s per call, so the tests make few config calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.server import RunningEmulator
from egressctl_lab.testing.emulator import available, threaded_emulator
from netmiko import BaseConnection, ConnectHandler
from netmiko.exceptions import ConfigInvalidException

pytestmark = [pytest.mark.ssh,
              pytest.mark.skipif(not available("vyos"), reason="vyos emulator not available")]

PORT = 27910
PASSWORD = "h10-netmiko-pw"
SPEC = DeviceSpec(name="h10-vy", hostname="vy-h10", username="vyos", password=PASSWORD,
                  interfaces={"eth0": "e0", "eth1": "e1"}, options={"version": "1.3.8"})
ERR = r"^\s*(Set failed|Commit failed|Configuration path: .* is not valid)"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    keys: Path = tmp_path_factory.mktemp("h10-keys")
    with threaded_emulator("vyos", SPEC, PORT, keys, key_name="h10-vy", time_scale=0.05) as emu:
        yield emu


@pytest.fixture(scope="module")
def conn(emulator: RunningEmulator) -> Iterator[BaseConnection]:
    c = ConnectHandler(device_type="vyos", host="127.0.0.1", port=PORT, username="vyos",
                       password=PASSWORD, conn_timeout=15, fast_cli=True)
    try:
        yield c
    finally:
        c.disconnect()


def test_connect_and_show_commands_parse(conn: BaseConnection) -> None:
    assert conn.find_prompt() == "vyos@vy-h10:~$" and conn.base_prompt == "vyos@vy-h10"
    assert "Version:          VyOS 1.3.8" in str(conn.send_command("show version"))
    rows = conn.send_command("show interfaces", use_textfsm=True)
    assert isinstance(rows, list) and [r["interface"] for r in rows] == ["eth0", "eth1"]


def test_config_commit_and_save_with_lines_egressctl_never_sends(conn: BaseConnection) -> None:
    out = conn.send_config_set(["set system syslog global facility all level 'info'",
                                "set interfaces ethernet eth1 address '10.10.1.3/24'",
                                "set interfaces ethernet eth1 description 'LAN'"], error_pattern=ERR)
    assert "failed" not in out
    assert "No configuration changes" not in str(conn.commit())
    assert "Done" in conn.save_config()
    conn.exit_config_mode()
    shown = str(conn.send_command("show configuration commands | match syslog"))
    assert shown.strip() == "set system syslog global facility all level 'info'"
    rows = conn.send_command("show interfaces", use_textfsm=True)
    assert isinstance(rows, list) and rows[1]["ip_address"] == ["10.10.1.3/24"]


def test_exit_with_uncommitted_changes_discards(conn: BaseConnection, emulator: RunningEmulator) -> None:
    conn.send_config_set(["set system host-name 'never-committed'"], error_pattern=ERR)
    conn.exit_config_mode()  # "Cannot exit: configuration modified." -> netmiko sends exit discard
    assert conn.find_prompt() == "vyos@vy-h10:~$"
    assert "never-committed" not in str(conn.send_command("show configuration commands | match host-name"))


def test_invalid_line_is_caught_by_error_pattern(conn: BaseConnection) -> None:
    with pytest.raises(ConfigInvalidException):
        conn.send_config_set(["set firewall ipv4 name H10 rule 10 action 'bogus'"], error_pattern=ERR)
    conn.exit_config_mode()


def test_commit_confirm_then_confirm(conn: BaseConnection, emulator: RunningEmulator) -> None:
    conn.send_config_set(["set firewall ipv4 name H10 default-action 'drop'",
                          "set firewall ipv4 forward filter rule 1 action 'jump'",
                          "set firewall ipv4 forward filter rule 1 jump-target 'H10'",
                          "set firewall ipv4 forward filter rule 1 outbound-interface name 'eth0'"],
                         error_pattern=ERR, exit_config_mode=False)
    out = str(conn.send_command("commit-confirm 5", expect_string=r"\[confirm\]"))
    assert "automatically reboot in 5 minutes" in out
    out = str(conn.send_command("y", expect_string=r"vyos@vy-h10#"))
    assert "5 minutes to confirm before reboot" in out
    assert 'oifname "e0" counter jump n4_H10' in str(emulator.dataplane.last)  # type: ignore[attr-defined]
    assert "Reboot timer stopped" in str(conn.send_command("confirm", expect_string=r"vyos@vy-h10#"))
    conn.exit_config_mode()
