"""Issue 15: the satellite clinic (lab/clinic.yaml) isolated and restored by one command, proven by packets.

The clinic's three internet exits each go through one platform of the second wave: a Cisco ASA firewall
(``clinic-fw``, exit primary, its revert job on the NOC bastion), a MikroTik RouterOS router (``clinic-dsl``,
the backup DSL exit) and a VyOS 1.5 router (``clinic-vpn``, exit vpn, towards the ministry VPN). ws1 and the
operators' station leave by the ASA, srv1 by the MikroTik, ws2 by the VyOS router. One lab (prefix ``h18``,
loopback ports 28250-28253 of the range 28250-28299) serves the module, brought down in ``finally`` with a
check that no ``h18`` namespace is left (:mod:`tests.support.one_command_site`). In file order:

1. ``egressctl isolate clinic --yes`` (one command, CLI subprocess): exit 0, cut-confirmed, every device
   isolated; our own connects from every clinic host find the web canary cut and the national CERT's
   VPN concentrator (TLS) and DNS forwarder kept, on all three exits; the controller's out-of-band SSH to
   each device's management address still connects;
2. ``restore --stage ministry``: exactly the stage's destinations open (the mail relay from every host);
3. ``restore --full``: the three configurations equal their baseline and the canaries answer again.

Timings (lab up, each command, lab down) are printed, not asserted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.support.one_command_site import TimedSite, site_up
from tests.support.site_e2e_support import ROOT

pytestmark = [pytest.mark.lab, pytest.mark.slow]
SOURCE = ROOT / "lab" / "clinic.yaml"
WEB, WEB6, MAIL = "192.0.2.80", "2001:db8:c::80", "203.0.113.25"
CERT_TLS, DNS_FWD = "203.0.113.10", "203.0.113.53"  # always allowed (tcp 443, tcp/udp 53)
HOSTS = {"ws1": "primary", "ops": "primary", "srv1": "backup", "ws2": "vpn"}  # clinic host -> its exit
DEVICES = {("clinic-fw", "cisco_asa"), ("clinic-dsl", "mikrotik_routeros"), ("clinic-vpn", "vyos")}
MGMT = ("10.99.0.1", "10.99.0.2", "10.99.0.3")  # each device's out-of-band management address
RELOAD_ACTION = "set system config-management commit-confirm action 'reload'"
EXPORT_STAMP = re.compile(r"^# \d{4}-\d\d-\d\d \d\d:\d\d:\d\d by RouterOS ")  # when /export ran


def _stable(config: str) -> str:
    """A configuration without RouterOS's export time stamp and the VyOS driver's reload action line."""
    return "\n".join(ln for ln in config.splitlines()
                     if not EXPORT_STAMP.match(ln) and ln.rstrip() != RELOAD_ACTION)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TimedSite]:
    """The clinic, up for the module, with the three devices' baseline configurations recorded."""
    with site_up(SOURCE, "clinic", "h18", 28250, tmp_path_factory.mktemp("h18state")) as ts:
        yield ts


def test_one_platform_per_exit_and_open_before_the_cut(site: TimedSite) -> None:
    assert {(d.name, d.platform) for d in site.devices} == DEVICES
    assert {d.exit for d in site.devices} == set(HOSTS.values())
    assert site.site.device("clinic-fw").options.get("revert_host") == "bastion"
    for node in HOSTS:  # before the cut every host reaches the web canary (what follows is the devices')
        assert site.tcp_open(node, WEB, 80), node
    for node in ("ws1", "srv1", "ws2"):
        assert site.tcp_open(node, WEB6, 80), node


def test_isolate_by_one_command_cuts_every_exit(site: TimedSite) -> None:
    site.isolate_by_one_command({n for n, _ in DEVICES}, {"ws1", "srv1", "ws2"})
    # our own packets from every clinic host, over its own exit: web cut, the CERT and DNS kept
    for node in HOSTS:
        assert site.silent(node, WEB, 80) and site.silent(node, WEB, 443), node
        assert site.tcp_open(node, CERT_TLS, 443) and site.tcp_open(node, DNS_FWD, 53), node
    for node in ("ws1", "srv1", "ws2"):
        assert site.silent(node, WEB6, 80), node
    # management out of band kept: the operators' station still opens SSH to every device
    for address in MGMT:
        assert site.tcp_open("ops", address, 22), address


def test_restore_stage_ministry_opens_exactly_its_destinations(site: TimedSite) -> None:
    site.restore_stage("ministry")
    for node in HOSTS:
        assert site.tcp_open(node, MAIL, 25) and site.silent(node, WEB, 80), node


def test_restore_full_returns_every_device_to_its_baseline(site: TimedSite) -> None:
    after = site.restore_full()
    # VyOS keeps the one line the driver adds on purpose, in a commit of its own before its first change:
    # the commit-confirm action reload that makes its safety net a reload instead of a reboot
    assert RELOAD_ACTION in after["clinic-vpn"].splitlines()
    site.assert_at_baseline(after, _stable)
    for node in HOSTS:
        assert site.tcp_open(node, WEB, 80), node
