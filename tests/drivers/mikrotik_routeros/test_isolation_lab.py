"""mikrotik_routeros: isolate, stages and full restore on the emulated router, proven with packets; a held
connection kept by FastTrack until the driver removes it; the management rule dropped by a bad change and the
router's own scheduler putting it back, also across a reboot.

The driver (netmiko ``mikrotik_routeros``, the executor's lifecycle: read, load, diff, arm the revert and
send, read back, a fresh session, confirm, then end the denied sessions) changes the RouterOS emulator running
in namespace ``h11-rt``, whose filter is real nftables rules there and whose connection table is that
namespace's conntrack (:mod:`tests.support.device_netns`, the clinic described by :data:`CLINIC`). Packets
from the clinic (``h11-in``) toward the far side of the uplink (``h11-up``) show what the filter lets through.
Namespace prefix ``h11-``, port 27953; nothing outside the namespaces is touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_lab.testing.emulator import wait_until
from egressctl_lab.testing.lifecycle import at

from egressctl.driver import SessionHandling
from egressctl.policy import Policy, compute_policy
from tests.support.device_netns import DeviceNet
from tests.support.emulator_in_netns import lab_available
from tests.support.netns_change import CONFIRMED_REVERT, REVERT_IN, Rig, bad_isolation, running_rig
from tests.support.netns_probes import echoes

pytestmark = [pytest.mark.lab, pytest.mark.slow,
              pytest.mark.skipif(not lab_available(), reason="needs root, ip and nft")]

INVENTORY = Path(__file__).with_name("netns_site.yaml")
PORT = 27953
SCALE = 0.1  # one device minute = 6 s
#: h11-in (10.78.1.2: a workstation, and the server the NOC manages on tcp 22) -- h11-rt (lan0 = bridge
#: toward the clinic, e1 = ether1, the uplink) -- h11-up (10.78.2.2, the NOC beyond the uplink).
CLINIC = DeviceNet(prefix="h11", role="rt", platform="mikrotik_routeros", lan_port="lan0", wan_port="e1",
                   spec={"name": "rtr-h11", "hostname": "rtr-h11", "username": "admin",
                         "interfaces": {"ether1": "e1", "bridge": "lan0"}},
                   probes={"noc-ssh": ("up", "10.78.1.2", 22)}, ssh_on=("in",), time_scale=SCALE)
ALL_OPEN = CLINIC.expect()
ISOLATED = CLINIC.expect("web4", "web6", "other4")


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(CLINIC, INVENTORY, "h11net", "rtr-h11", tmp_path_factory.mktemp("h11-clinic"),
                     PORT) as rig:
        yield rig


def change(rig: Rig, policy: Policy, *, confirm: bool = True, revert_in: int = CONFIRMED_REVERT) -> Any:
    """The executor's lifecycle; after a confirmed cut, the denied sessions ended (the session report)."""
    def kill(drv: Any) -> Any:
        return drv.clear_sessions(policy, rig.site.inside)

    cut = confirm and not policy.is_normal
    return rig.change(policy, confirm=confirm, revert_in=revert_in, then=kill if cut else None)


def test_isolate_session_kill_stage_and_full_restore_with_packets(clinic: Rig) -> None:
    net, site = clinic.net, clinic.site
    assert net.settled(ALL_OPEN) == ALL_OPEN
    before = clinic.snapshot()
    with clinic.held_session("the held session works (fasttracked) before the cut", tries=2) as session:
        iso = compute_policy(site, "isolated")
        # cut without ending sessions first: FastTrack keeps the established connection past the new rules
        assert clinic.with_driver(lambda d: d.session_handling()) == SessionHandling.KEPT
        change(clinic, iso, confirm=False)
        session.settimeout(2.0)
        assert echoes(session, b"kept by fasttrack\n"), "FastTrack should keep an established connection"
        assert net.settled(ISOLATED) == ISOLATED
        clinic.with_driver(lambda d: d.rollback())
        report = change(clinic, iso)
        assert report.handling == SessionHandling.KEPT and report.matched >= 1 and report.cleared >= 1, report
        assert "8080" in report.detail, report
        assert not [ln for ln in net.conntrack().splitlines() if "dport=8080" in ln and "ESTABLISHED" in ln]
        assert not echoes(session, b"after the kill\n"), "the denied session outlived the cut"
    assert net.settled(ISOLATED) == ISOLATED
    assert net.reach()["noc-ssh"], "management kept"
    change(clinic, compute_policy(site, "web"))
    assert net.settled(CLINIC.expect("other4")) == CLINIC.expect("other4")
    change(clinic, compute_policy(site, "normal"))
    assert net.settled(ALL_OPEN) == ALL_OPEN
    assert clinic.state().is_normal
    after = clinic.snapshot()
    assert after.splitlines()[1:] == before.splitlines()[1:], "the full restore left something behind"


def test_management_rule_dropped_is_reverted_by_the_scheduler(clinic: Rig) -> None:
    armed = clinic.cut_management_unconfirmed(lambda p, **kw: change(clinic, p, **kw))
    clinic.management_back(armed, REVERT_IN * SCALE, "the scheduler")
    clinic.isolated_and_settled()


def test_a_reboot_fires_the_startup_revert(clinic: Rig) -> None:
    """The bad change is saved like any RouterOS change; after a reboot the startup item undoes it."""
    net = clinic.net
    iso, bad = bad_isolation(clinic.site)
    if not at(clinic.state(), iso):
        change(clinic, iso)
    change(clinic, bad, confirm=False, revert_in=3600)
    assert not net.probe("noc-ssh")

    def reboot(d: Any) -> None:
        d.conn.send_command("/system reboot", expect_string=r"\[y/N\]:")
        d.conn.write_channel("y\r\n")

    clinic.with_driver(reboot)
    assert wait_until(lambda: net.probe("noc-ssh"), 30, 0.5), "the startup item did not revert"
    assert net.settled(ISOLATED) == ISOLATED, "the confirmed isolation survived the reboot"
    change(clinic, compute_policy(clinic.site, "normal"))
    assert net.settled(ALL_OPEN) == ALL_OPEN
