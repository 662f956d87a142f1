"""paloalto_panos emulator in its own namespace: ``show interface all`` reads the kernel's ports.

The emulator process runs with ``--dataplane nft`` in namespace ``h12-pr`` between ``h12-ph1`` and
``h12-ph2`` (lab prefix ``h12``, port 28021); netmiko's ``paloalto_panos`` class reads the show,
ntc-templates parses it, and each port's MAC, state and address are those of the kernel interface behind it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from egressctl_lab.emu.base import DeviceSpec
from netmiko import ConnectHandler
from ntc_templates.parse import parse_output

from tests.support.emulator_in_netns import Site, lab_available, sh  # isort: skip

pytestmark = pytest.mark.lab

PASSWORD = "h12-Pan-ns-pw"
PORT = 28021
SPEC = DeviceSpec(name="h12-fw-a", hostname="fw-a", username="admin", password=PASSWORD,
                  interfaces={"ethernet1/1": "wan0", "ethernet1/2": "lan0"})


class H12Site(Site):
    """The shared three-namespace site under this module's own prefix."""

    def __init__(self, tag: str, inside: str, outside: str) -> None:
        super().__init__(tag, inside, outside)
        self.h1, self.r, self.h2 = f"h12-{tag}h1", f"h12-{tag}r", f"h12-{tag}h2"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not lab_available():
        pytest.skip("needs root, iproute2 and nft for network namespaces")
    s = H12Site("p", "lan0", "wan0")
    try:
        s.build()
        spec = json.dumps({"name": SPEC.name, "hostname": SPEC.hostname, "username": "admin",
                           "password": PASSWORD, "interfaces": SPEC.interfaces})
        s.start("paloalto_panos", spec, tmp_path_factory.mktemp("h12pns"), PORT, 0.05)
        yield s
    finally:
        s.destroy()


def _mac(ns: str, dev: str) -> str:
    out = subprocess.run(["ip", "-n", ns, "-j", "link", "show", "dev", dev], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    return str(json.loads(out)[0]["address"])


def _rows(conn: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = parse_output(platform="paloalto_panos", command="show interface all",
                                              data=conn.send_command("show interface all"))
    return rows


def test_interface_all_carries_the_kernels_macs_state_and_addresses(site: Site) -> None:
    conn = ConnectHandler(device_type="paloalto_panos", host="127.0.0.1", port=PORT, username="admin",
                          password=PASSWORD, conn_timeout=10, timeout=20, sock=site.socket_to_emulator(PORT))
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
