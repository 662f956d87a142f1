"""juniper_junos emulator in its own namespace: the factory ``interfaces`` stanza and the interface shows.

The emulator process runs with ``--dataplane nft`` in namespace ``h7-jr`` between ``h7-jh1`` and ``h7-jh2``
(lab prefix ``h7``, port 27621): its ``interfaces`` stanza carries the kernel's addresses at boot, and
``show interfaces [terse]`` read by netmiko's ``juniper_junos`` class show them and the kernel's counters.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from netmiko import ConnectHandler
from ntc_templates.parse import parse_output

from tests.support.emulator_in_netns import Site, lab_available, tcp_open  # isort: skip

pytestmark = pytest.mark.lab

PASSWORD = "h7-Junos-ns-pw"
PORT = 27621
INTERFACES = {"ge-0/0/1.0": "ge-0-0-1", "ge-0/0/0.0": "ge-0-0-0"}


class H7Site(Site):
    """The shared three-namespace site under this module's own prefix."""

    def __init__(self, tag: str, inside: str, outside: str) -> None:
        super().__init__(tag, inside, outside)
        self.h1, self.r, self.h2 = f"h7-{tag}h1", f"h7-{tag}r", f"h7-{tag}h2"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not lab_available():
        pytest.skip("needs root, iproute2 and nft for network namespaces")
    s = H7Site("j", "ge-0-0-1", "ge-0-0-0")
    try:
        s.build()
        spec = json.dumps({"name": "h7-ce-b", "hostname": "ce-b", "username": "admin", "password": PASSWORD,
                           "interfaces": INTERFACES,
                           "zones": {"trust": ["ge-0/0/1.0"], "untrust": ["ge-0/0/0.0"]}})
        s.start("juniper_junos", spec, tmp_path_factory.mktemp("h7junosns"), PORT, 0.05)
        yield s
    finally:
        s.destroy()


def _connect(site: Site) -> Any:
    return ConnectHandler(device_type="juniper_junos", host="127.0.0.1", port=PORT, username="admin",
                          password=PASSWORD, fast_cli=True, conn_timeout=10,
                          sock=site.socket_to_emulator(PORT))


def test_interfaces_stanza_and_shows_carry_kernel_addresses(site: Site) -> None:
    conn = _connect(site)
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
