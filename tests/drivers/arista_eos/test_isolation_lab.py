"""arista_eos: isolate, stages and full restore on the emulated switch, proven with packets; the management
rule dropped by a bad change and the switch's own commit timer putting it back.

The driver (netmiko ``arista_eos``, the executor's lifecycle: read, load, diff, commit with a timer, read
back, a fresh session, confirm) changes the EOS emulator running in namespace ``h8-sw``, whose ACLs are real
nftables rules there (:mod:`tests.support.device_netns`, the closet described by :data:`CLOSET`). Packets
from the closet (``h8-in``) toward the far side of the uplink (``h8-up``) show what the ACL lets through; a
connection held open across the cut shows that none outlives it (stateless ACLs). Namespace prefix ``h8-``,
port 27720.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from egressctl.policy import compute_policy
from tests.support.device_netns import DeviceNet
from tests.support.emulator_in_netns import lab_available
from tests.support.netns_change import REVERT_IN, Rig, running_rig
from tests.support.netns_probes import echoes

pytestmark = [pytest.mark.lab, pytest.mark.slow,
              pytest.mark.skipif(not lab_available(), reason="needs root, ip and nft")]

INVENTORY = Path(__file__).with_name("netns_site.yaml")
PORT = 27720
SCALE = 0.1  # one device minute = 6 s
#: h8-in (10.77.1.2: a workstation, and the server the NOC manages on tcp 22) -- h8-sw (vl10 = Vlan10 toward
#: the closet, et1 = Ethernet1, the uplink) -- h8-up (10.77.2.2, the NOC beyond the uplink).
CLOSET = DeviceNet(prefix="h8", role="sw", platform="arista_eos", lan_port="vl10", wan_port="et1",
                   spec={"name": "sw-h8", "hostname": "sw-h8", "username": "admin",
                         "interfaces": {"Ethernet1": "et1", "Vlan10": "vl10"}},
                   probes={"noc-ssh": ("up", "10.77.1.2", 22)}, net4="10.77", net6="fd77", ssh_on=("in",),
                   time_scale=SCALE)
ALL_OPEN = CLOSET.expect()


@pytest.fixture(scope="module")
def closet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with running_rig(CLOSET, INVENTORY, "h8net", "sw-h8", tmp_path_factory.mktemp("h8-closet"), PORT) as rig:
        yield rig


def test_isolate_stage_and_full_restore_with_packets(closet: Rig) -> None:
    net, site = closet.net, closet.site
    assert net.reach() == ALL_OPEN
    before = closet.snapshot()
    with closet.held_session() as session:
        closet.change(compute_policy(site, "isolated"))
        assert "EGRESSCTL-V4" not in net.nft_table() and 'oifname "et1"' in net.nft_table()
        assert net.reach() == CLOSET.expect("web4", "web6", "other4")
        session.settimeout(2.0)
        assert not echoes(session, b"after the cut\n"), "a session outlived the cut (stateless ACL)"
    closet.change(compute_policy(site, "web"))
    assert net.reach() == CLOSET.expect("other4")
    closet.change(compute_policy(site, "normal"))
    assert net.reach() == ALL_OPEN
    assert closet.state().is_normal
    assert closet.snapshot() == before, "the full restore left something behind"


def test_management_rule_dropped_is_reverted_by_the_commit_timer(closet: Rig) -> None:
    armed = closet.cut_management_unconfirmed()
    closet.management_back(armed, REVERT_IN * SCALE, "the commit timer")
    closet.isolated_and_settled()
    closet.change(compute_policy(closet.site, "normal"))
    assert closet.net.reach() == ALL_OPEN
