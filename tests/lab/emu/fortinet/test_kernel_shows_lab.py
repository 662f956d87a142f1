"""fortinet emulator in its own namespace: ``get system interface physical`` reads the kernel's ports.

The emulator process runs with ``--dataplane nft`` in namespace ``h12-fr`` between ``h12-fh1`` and
``h12-fh2`` (lab prefix ``h12``, port 28020; :mod:`tests.support.kernel_backed_emulator`); netmiko's
``fortinet`` class reads the show, ntc-templates parses it, and each port's address and state are those of
the kernel interface behind it (a port whose link goes down says so; a configured ``set ip`` wins over the
kernel's address).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ntc_templates.parse import parse_output

from tests.support.emulator_in_netns import Site, sh
from tests.support.kernel_backed_emulator import connect, kernel_backed

pytestmark = pytest.mark.lab

PASSWORD = "h12-Forti-ns-pw"
PORT = 28020
SPEC = {"name": "h12-fw-b", "hostname": "fw-b", "username": "admin", "password": PASSWORD,
        "interfaces": {"port1": "wan0", "port2": "lan0"}}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with kernel_backed("h12", "f", ("lan0", "wan0"), "fortinet", SPEC, tmp_path_factory.mktemp("h12fns"),
                       PORT) as s:
        yield s


def _ports(conn: Any) -> dict[str, dict[str, str]]:
    raw = conn.send_command("get system interface physical")
    return {p["name"]: p for p in parse_output(platform="fortinet", command="get system interface physical",
                                                data=raw)}


def test_physical_ports_carry_the_kernels_addresses_and_state(site: Site) -> None:
    conn = connect(site, "fortinet", PORT, PASSWORD, timeout=20)
    try:
        ports = _ports(conn)
        assert (ports["port2"]["ip_address"], ports["port2"]["netmask"]) == ("10.71.1.1", "255.255.255.0")
        assert ports["port1"]["ip_address"] == "10.71.2.1" and ports["port1"]["status"] == "up"
        sh("ip", "-n", site.r, "link", "set", "wan0", "down")
        try:
            assert _ports(conn)["port1"]["status"] == "down"
        finally:
            sh("ip", "-n", site.r, "link", "set", "wan0", "up")
        conn.send_config_set(["config system interface", "edit port2", "set ip 10.71.9.1 255.255.255.0",
                              "next", "end"], error_pattern="Command fail")
        assert _ports(conn)["port2"]["ip_address"] == "10.71.9.1"
    finally:
        conn.disconnect()
