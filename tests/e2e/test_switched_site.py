"""Issue 15: the hospital isolated at its switches only (lab/hospital-switched.yaml), proven by packets.

The site's only egressctl devices are an Arista EOS distribution switch (``dist``, ACLs out on its uplinks
to both firewalls) and a Catalyst access switch (``closet``, cisco_ios role switch, ACLs on Vlan20 and its
uplink); the firewalls and CE routers are plain forwarding namespaces. One lab (prefix ``h16``, loopback
ports 28150-28151 of the range 28150-28199) serves the module, brought down in ``finally`` with a check
that no ``h16`` namespace is left. In file order:

1. ``egressctl isolate hospital-sw --yes`` (one command, CLI subprocess): cut-confirmed; from ws1 (LAN,
   behind dist, exit primary) and ws2 (closet, behind both switches, exit backup) every canary is silent,
   the always-allowed destinations answer; our own probes agree, and the NOC's in-band SSH to a firewall
   and to a closet host (listeners this test opens in those namespaces) still connects while a
   workstation's SSH to the same firewall does not;
2. ``restore --stage ministry``: exactly the stage's destinations open (the mail relay from both sides);
3. ``restore --full``: both switches' configurations equal their baseline and the canaries answer again.

Timings (lab up, each command, lab down) are printed, not asserted.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from egressctl_lab import Lab

from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from tests.conftest import lab_available
from tests.support.emulator_in_netns import in_netns
from tests.support.site_e2e_support import (
    ROOT,
    Event,
    SiteLab,
    answered,
    config_diff,
    matrix,
    should_answer,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]
SOURCE = ROOT / "lab" / "hospital-switched.yaml"
SITE = "hospital-sw"
PREFIX = "h16"
PORT_BASE = 28150
WEB, CERT_TLS, MAIL = "192.0.2.80", "203.0.113.10", "203.0.113.25"
FW_A, WS2 = "10.10.101.2", "10.10.2.12"   # where the test's port-22 listeners sit (nodes fw-a, ws2)
TIMINGS: dict[str, float] = {}


@dataclass
class SwitchedSite(SiteLab):
    """The e2e kit's SiteLab on site ``hospital-sw``, plus the listeners this module opened."""

    listeners: tuple[socket.socket, ...] = ()

    @property
    def site(self) -> Site:
        """The switched site as the effective inventory describes it."""
        return load_inventory(self.inventory).site(SITE)

    def timed(self, label: str, *args: str) -> tuple[int, list[Event], Event]:
        """``cli_json(args)``, its wall time recorded under ``label``."""
        t0 = time.monotonic()
        out = self.cli_json(*args)
        TIMINGS[label] = time.monotonic() - t0
        return out


def _namespaces() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10, check=False)
    return [ln.split()[0] for ln in out.stdout.splitlines() if ln.startswith(PREFIX)]


def _listen(node: str, address: str) -> socket.socket:
    """A TCP listener on ``address``:22 inside lab node ``node`` (the kernel completes handshakes)."""
    def make() -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((address, 22))
        s.listen(64)
        return s

    return in_netns(PREFIX + node, make)


def tcp_open(node: str, host: str, port: int, attempts: int = 3) -> bool:
    """Whether any of up to ``attempts`` bounded TCP connects from lab node ``node`` succeeds.

    A permitted connect can miss its 1 s time-out on a loaded machine and a dropped one never succeeds, so
    retrying makes the "open" checks robust and the "cut" checks stricter.
    """
    def probe() -> bool:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.settimeout(1.0)
            return s.connect_ex((host, port)) == 0

    return any(in_netns(PREFIX + node, probe) for _ in range(attempts))


def silent(node: str, host: str, port: int) -> bool:
    """Whether one bounded TCP connect from ``node`` fails (a dropped connect never succeeds)."""
    return not tcp_open(node, host, port, attempts=1)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwitchedSite]:
    """The switched hospital, up for the module, with both switches' baseline configurations recorded."""
    if not lab_available():
        pytest.skip("network namespaces are not available")
    state = tmp_path_factory.mktemp("h16state")
    lab = Lab(SOURCE, prefix=PREFIX, port_base=PORT_BASE, state_dir=state)
    sl = SwitchedSite(lab, state)
    try:
        t0 = time.monotonic()
        lab.up()
        TIMINGS["lab up"] = time.monotonic() - t0
        sl.listeners = (_listen("fw-a", FW_A), _listen("ws2", WS2))
        sl.baseline = sl.snapshots()
        yield sl
    finally:
        for s in sl.listeners:
            s.close()
        t0 = time.monotonic()
        lab.down()
        TIMINGS["lab down"] = time.monotonic() - t0
        print("\nh16 timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in TIMINGS.items()))
        assert _namespaces() == [], "lab down left namespaces behind"


def test_only_the_switches_are_devices(site: SwitchedSite) -> None:
    assert {(d.name, d.platform) for d in site.devices} == {("dist", "arista_eos"), ("closet", "cisco_ios")}
    # before the cut, both sides reach the web canary (so what follows is the switches' doing)
    assert tcp_open("ws1", WEB, 80) and tcp_open("ws2", WEB, 80) and tcp_open("ws3", WEB, 443)


def test_isolate_by_one_command_cuts_at_both_switches(site: SwitchedSite) -> None:
    rc, _, res = site.timed("isolate", "isolate", SITE, "--yes")
    assert rc == 0, res["message"]
    assert res["state"] == "isolated"
    assert {d["device"]: d["after"] for d in res["devices"]} == {"dist": "isolated", "closet": "isolated"}
    ver = res["verification"]
    assert ver["verdict"] == "cut-confirmed", ver["summary"]
    cells = matrix(ver)
    assert {c["vantage"] for c in cells} == {"ws1", "ws2"}
    assert answered(cells) == should_answer(site.site, "isolated", cells)
    for vp in ("ws1", "ws2"):  # always-allowed kept on both switches' sides
        assert any(c["vantage"] == vp and c["dst"] == CERT_TLS for c in cells if c["observed"] == "answered")
    # our own packets: canaries cut, always-allowed kept, on both sides
    for node in ("ws1", "srv1", "ws2", "ws3"):
        assert silent(node, WEB, 80) and silent(node, WEB, 443), node
        assert tcp_open(node, CERT_TLS, 443), node
    # management kept: the NOC's SSH to a firewall (through dist) and to a closet host (through closet)
    assert tcp_open("ops", FW_A, 22) and tcp_open("ops", WS2, 22)
    assert silent("ws1", FW_A, 22), "a workstation's SSH to the firewall crossed the isolated uplink"


def test_restore_stage_ministry_opens_exactly_its_destinations(site: SwitchedSite) -> None:
    rc, _, res = site.timed("restore --stage ministry", "restore", SITE, "--stage", "ministry", "--yes")
    assert rc == 0, res["message"]
    assert res["state"] == "stage:ministry"
    ver = res["verification"]
    assert ver["ok"], ver["summary"]
    cells = matrix(ver)
    assert answered(cells) == should_answer(site.site, "ministry", cells)
    for node in ("ws1", "ws2"):
        assert tcp_open(node, MAIL, 25) and silent(node, WEB, 80), node


def test_restore_full_returns_both_switches_to_their_baseline(site: SwitchedSite) -> None:
    rc, _, res = site.timed("restore --full", "restore", SITE, "--full", "--yes")
    assert rc == 0, res["message"]
    assert res["state"] == "normal" and res["verification"]["verdict"] == "normal-ok"
    after = site.snapshots()
    diffs = {n: config_diff(site.baseline[n], after[n], n) for n in site.baseline}
    assert {n: d for n, d in diffs.items() if d} == {}
    assert tcp_open("ws1", WEB, 80) and tcp_open("ws2", WEB, 80)
