"""Issue 15: the hospital isolated at its switches only (lab/hospital-switched.yaml), proven by packets.

The site's only egressctl devices are an Arista EOS distribution switch (``dist``, ACLs out on its uplinks
to both firewalls) and a Catalyst access switch (``closet``, cisco_ios role switch, ACLs on Vlan20 and its
uplink); the firewalls and CE routers are plain forwarding namespaces. One lab (prefix ``h16``, loopback
ports 28150-28151 of the range 28150-28199) serves the module, brought down in ``finally`` with a check
that no ``h16`` namespace is left (:mod:`tests.support.one_command_site`). In file order:

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

from collections.abc import Iterator

import pytest

from tests.support.one_command_site import TimedSite, site_up
from tests.support.site_e2e_support import ROOT

pytestmark = [pytest.mark.lab, pytest.mark.slow]
SOURCE = ROOT / "lab" / "hospital-switched.yaml"
WEB, CERT_TLS, MAIL = "192.0.2.80", "203.0.113.10", "203.0.113.25"
FW_A, WS2 = "10.10.101.2", "10.10.2.12"   # where the test's port-22 listeners sit (nodes fw-a, ws2)


def _listeners(ts: TimedSite) -> None:
    ts.listen("fw-a", FW_A)
    ts.listen("ws2", WS2)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TimedSite]:
    """The switched hospital, up for the module, with both switches' baseline configurations recorded."""
    with site_up(SOURCE, "hospital-sw", "h16", 28150, tmp_path_factory.mktemp("h16state"), _listeners) as ts:
        yield ts


def test_only_the_switches_are_devices(site: TimedSite) -> None:
    assert {(d.name, d.platform) for d in site.devices} == {("dist", "arista_eos"), ("closet", "cisco_ios")}
    # before the cut, both sides reach the web canary (so what follows is the switches' doing)
    assert site.tcp_open("ws1", WEB, 80) and site.tcp_open("ws2", WEB, 80) and site.tcp_open("ws3", WEB, 443)


def test_isolate_by_one_command_cuts_at_both_switches(site: TimedSite) -> None:
    cells = site.isolate_by_one_command({"dist", "closet"}, {"ws1", "ws2"})
    for vp in ("ws1", "ws2"):  # always-allowed kept on both switches' sides
        assert any(c["vantage"] == vp and c["dst"] == CERT_TLS for c in cells if c["observed"] == "answered")
    # our own packets: canaries cut, always-allowed kept, on both sides
    for node in ("ws1", "srv1", "ws2", "ws3"):
        assert site.silent(node, WEB, 80) and site.silent(node, WEB, 443), node
        assert site.tcp_open(node, CERT_TLS, 443), node
    # management kept: the NOC's SSH to a firewall (through dist) and to a closet host (through closet)
    assert site.tcp_open("ops", FW_A, 22) and site.tcp_open("ops", WS2, 22)
    assert site.silent("ws1", FW_A, 22), "a workstation's SSH to the firewall crossed the isolated uplink"


def test_restore_stage_ministry_opens_exactly_its_destinations(site: TimedSite) -> None:
    site.restore_stage("ministry")
    for node in ("ws1", "ws2"):
        assert site.tcp_open(node, MAIL, 25) and site.silent(node, WEB, 80), node


def test_restore_full_returns_both_switches_to_their_baseline(site: TimedSite) -> None:
    after = site.restore_full()
    site.assert_at_baseline(after)
    assert site.tcp_open("ws1", WEB, 80) and site.tcp_open("ws2", WEB, 80)
