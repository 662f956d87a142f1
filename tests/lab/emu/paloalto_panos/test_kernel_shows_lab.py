"""paloalto_panos emulator in its own namespace: ``show interface all`` reads the kernel's ports.

The emulator process runs with ``--dataplane nft`` in namespace ``h12-pr`` between ``h12-ph1`` and
``h12-ph2`` (lab prefix ``h12``, port 28021; :mod:`tests.support.kernel_backed_emulator`); netmiko's
``paloalto_panos`` class reads the show, ntc-templates parses it, and each port's MAC, state and address are
those of the kernel interface behind it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from ntc_templates.parse import parse_output

from tests.support.emulator_in_netns import Site, sh
from tests.support.kernel_backed_emulator import connect, kernel_backed

pytestmark = pytest.mark.lab

PASSWORD = "h12-Pan-ns-pw"
PORT = 28021
SPEC = {"name": "h12-fw-a", "hostname": "fw-a", "username": "admin", "password": PASSWORD,
        "interfaces": {"ethernet1/1": "wan0", "ethernet1/2": "lan0"}}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with kernel_backed("h12", "p", ("lan0", "wan0"), "paloalto_panos", SPEC,
                       tmp_path_factory.mktemp("h12pns"), PORT) as s:
        yield s


def _mac(ns: str, dev: str) -> str:
    out = subprocess.run(["ip", "-n", ns, "-j", "link", "show", "dev", dev], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    return str(json.loads(out)[0]["address"])


def _rows(conn: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = parse_output(platform="paloalto_panos", command="show interface all",
                                              data=conn.send_command("show interface all"))
    return rows


def test_interface_all_carries_the_kernels_macs_state_and_addresses(site: Site) -> None:
    conn = connect(site, "paloalto_panos", PORT, PASSWORD, timeout=20)
    try:
        rows = _rows(conn)
        hardware = {r["interface"]: r for r in rows if r["mac_address"]}
        logical = {r["interface"]: r for r in rows if r["vsys"]}
        assert hardware["ethernet1/2"]["mac_address"] == _mac(site.r, "lan0")
        assert hardware["ethernet1/1"]["state"] == "up"
        assert logical["ethernet1/2"]["ip_address"] == ["10.71.1.1/24"]
        assert logical["ethernet1/1"]["ip_address"] == ["10.71.2.1/24"]
        assert logical["ethernet1/2"]["zone"] == "trust"
        sh("ip", "-n", site.r, "link", "set", "wan0", "down")
        try:
            down = {r["interface"]: r for r in _rows(conn) if r["mac_address"]}
            assert down["ethernet1/1"]["state"] == "down"
        finally:
            sh("ip", "-n", site.r, "link", "set", "wan0", "up")
    finally:
        conn.disconnect()
