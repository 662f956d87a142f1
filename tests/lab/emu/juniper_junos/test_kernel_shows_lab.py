"""juniper_junos emulator in its own namespace: the factory ``interfaces`` stanza and the interface shows.

The emulator process runs with ``--dataplane nft`` in namespace ``h7-jr`` between ``h7-jh1`` and ``h7-jh2``
(lab prefix ``h7``, port 27621; :mod:`tests.support.kernel_backed_emulator`): its ``interfaces`` stanza
carries the kernel's addresses at boot, and ``show interfaces [terse]`` read by netmiko's ``juniper_junos``
class show them and the kernel's counters.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ntc_templates.parse import parse_output

from tests.support.emulator_in_netns import Site, tcp_open
from tests.support.kernel_backed_emulator import connect, kernel_backed

pytestmark = pytest.mark.lab

PASSWORD = "h7-Junos-ns-pw"
PORT = 27621
SPEC = {"name": "h7-ce-b", "hostname": "ce-b", "username": "admin", "password": PASSWORD,
        "interfaces": {"ge-0/0/1.0": "ge-0-0-1", "ge-0/0/0.0": "ge-0-0-0"},
        "zones": {"trust": ["ge-0/0/1.0"], "untrust": ["ge-0/0/0.0"]}}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with kernel_backed("h7", "j", ("ge-0-0-1", "ge-0-0-0"), "juniper_junos", SPEC,
                       tmp_path_factory.mktemp("h7junosns"), PORT) as s:
        yield s


def test_interfaces_stanza_and_shows_carry_kernel_addresses(site: Site) -> None:
    conn = connect(site, "juniper_junos", PORT, PASSWORD, fast_cli=True)
    try:
        stanza = conn.send_command("show configuration interfaces | display set")
        assert tcp_open(site.h1, "10.71.2.2", 443)
        detail = parse_output(platform="juniper_junos", command="show interfaces",
                              data=conn.send_command("show interfaces"))
        terse = conn.send_command("show interfaces terse")
    finally:
        conn.disconnect()
    assert stanza.strip().split("\n") == ["set interfaces ge-0/0/1 unit 0 family inet address 10.71.1.1/24",
                                  "set interfaces ge-0/0/0 unit 0 family inet address 10.71.2.1/24"]
    units = {d["interface"]: d for d in detail}
    assert units["ge-0/0/1.0"]["local"] == "10.71.1.1"
    assert units["ge-0/0/0.0"]["destination"] == "10.71.2.0/24"
    assert "ge-0/0/1.0              up    up   inet     10.71.1.1/24" in terse.split("\n")
