"""netmiko's own ``cisco_asa`` class drives the ASA emulator as it drives a real ASA, over real SSH.

Connect both ways netmiko does (with a secret: ``enable``; without: ``login`` with the user's own
credentials), ``terminal pager 0`` and ``terminal width 511`` in configuration mode, show commands parsed by
ntc-templates, configuration including lines egressctl never sends, ``save_config`` (``write mem`` ->
``[OK]``), and an invalid line caught by ``error_pattern``. Port 27810 (helper range 27800-27849); no
namespaces.
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
              pytest.mark.skipif(not available("cisco_asa"), reason="cisco_asa emulator not available")]

PORT = 27810
PASSWORD = "h9-netmiko-pw"
SPEC = DeviceSpec(name="h9-asa", hostname="clinic-asa", username="admin", password=PASSWORD,
                  interfaces={"GigabitEthernet0/0": "gi0", "GigabitEthernet0/1": "gi1"},
                  options={"nameif:GigabitEthernet0/0": "outside", "nameif:GigabitEthernet0/1": "inside"})


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    keys: Path = tmp_path_factory.mktemp("h9-keys")
    with threaded_emulator("cisco_asa", SPEC, PORT, keys, key_name="h9-asa", time_scale=1.0) as emu:
        yield emu


def connect(secret: str) -> BaseConnection:
    return ConnectHandler(device_type="cisco_asa", host="127.0.0.1", port=PORT, username="admin",
                          password=PASSWORD, secret=secret, conn_timeout=15, fast_cli=True)


@pytest.mark.parametrize("secret", [PASSWORD, ""], ids=["enable", "login"])
def test_connect_reaches_privileged_exec_and_shows_parse(emulator: RunningEmulator, secret: str) -> None:
    conn = connect(secret)
    try:
        assert conn.find_prompt() == "clinic-asa#" and conn.base_prompt == "clinic-asa"
        version = conn.send_command("show version", use_textfsm=True)
        assert isinstance(version, list) and version[0]["version"] == "9.16(4)", version
        assert version[0]["hostname"] == "clinic-asa"
        assert "Current privilege level : 15" in str(conn.send_command("show curpriv"))
    finally:
        conn.disconnect()


def test_config_save_and_error_pattern(emulator: RunningEmulator) -> None:
    conn = connect(PASSWORD)
    try:
        out = conn.send_config_set(["logging buffered informational", "object-group network H9-G",
                                    "network-object host 10.10.1.50", "access-list H9 extended permit ip "
                                    "object-group H9-G any4", "access-group H9 out interface outside",
                                    "access-group H9 in interface inside"],
                                   error_pattern=r"^ERROR:.*$")
        assert "ERROR" not in out
        shown = str(conn.send_command("show running-config access-group"))
        assert "access-group H9 out interface outside" in shown
        # ntc-templates' access-group template knows inbound bindings only (any other line is its error)
        groups = conn.send_command("show running-config access-group | include  in interface",
                                   use_textfsm=True)
        assert groups == [{"access_list": "H9", "interface": "inside"}], groups
        assert "[OK]" in conn.save_config()
        assert "logging buffered informational" in str(conn.send_command("show startup-config"))
        with pytest.raises(ConfigInvalidException):
            conn.send_config_set(["access-list H9 extended permit tcp any4 any4 eq nosuch"],
                                 error_pattern=r"^ERROR:.*$")
        assert conn.check_config_mode() is False or conn.exit_config_mode() is not None
    finally:
        conn.disconnect()
