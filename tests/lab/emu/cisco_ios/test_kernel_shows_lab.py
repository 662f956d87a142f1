"""cisco_ios emulator in its own namespace: ``show interfaces`` / ``show ip interface brief`` read the kernel.

The emulator process runs with ``--dataplane nft`` in namespace ``h7-ir`` between ``h7-ih1`` and ``h7-ih2``
(lab prefix ``h7``, port 27620; :mod:`tests.support.kernel_backed_emulator`); netmiko's ``cisco_ios`` class
reads the shows, ntc-templates parses them, and the addresses, MAC and packet counters are those of the
kernel interfaces behind GigabitEthernet0/0-1.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
from ntc_templates.parse import parse_output

from tests.support.emulator_in_netns import Site, tcp_open
from tests.support.kernel_backed_emulator import connect, kernel_backed

pytestmark = pytest.mark.lab

PASSWORD = "h7-Ios-ns-pw"
PORT = 27620
SPEC = {"name": "h7-ce-a", "hostname": "ce-a", "username": "admin", "password": PASSWORD,
        "interfaces": {"GigabitEthernet0/0": "gi0-0", "GigabitEthernet0/1": "gi0-1"}}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with kernel_backed("h7", "i", ("gi0-1", "gi0-0"), "cisco_ios", SPEC, tmp_path_factory.mktemp("h7iosns"),
                       PORT) as s:
        yield s


def _mac(ns: str, dev: str) -> str:
    out = subprocess.run(["ip", "-n", ns, "-j", "link", "show", "dev", dev], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    digits = json.loads(out)[0]["address"].replace(":", "")
    return ".".join(digits[i:i + 4] for i in range(0, 12, 4))


def test_shows_carry_kernel_addresses_macs_and_counters(site: Site) -> None:
    conn = connect(site, "cisco_ios", PORT, PASSWORD, fast_cli=True)
    try:
        before = {i["interface"]: i for i in conn.send_command("show interfaces", use_textfsm=True)}
        for _ in range(3):
            assert tcp_open(site.h1, "10.71.2.2", 80)
        after = {i["interface"]: i for i in conn.send_command("show interfaces", use_textfsm=True)}
        brief = parse_output(platform="cisco_ios", command="show ip interface brief",
                             data=conn.send_command("show ip interface brief"))
    finally:
        conn.disconnect()
    inside = after["GigabitEthernet0/1"]
    assert inside["ip_address"] == "10.71.1.1" and inside["prefix_length"] == "24"
    assert inside["mac_address"] == _mac(site.r, "gi0-1")
    assert int(inside["input_packets"]) >= int(before["GigabitEthernet0/1"]["input_packets"]) + 3
    outside_before = int(before["GigabitEthernet0/0"]["output_packets"])
    assert int(after["GigabitEthernet0/0"]["output_packets"]) > outside_before
    assert {(b["interface"], b["ip_address"]) for b in brief} == {("GigabitEthernet0/0", "10.71.2.1"),
                                                                 ("GigabitEthernet0/1", "10.71.1.1")}
