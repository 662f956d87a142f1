"""vyos: isolate, stages and full restore on the emulated router, proven with packets; a held session kept
by the state policy and ended by the driver's conntrack deletes; the management rule dropped by a bad change
and the router's commit-confirm putting it back, by reload in place (1.5) and by a reboot (1.4).

The driver (netmiko ``vyos``, the executor's lifecycle: read, load, diff, commit-confirm, read back, a fresh
session, confirm, session kill) changes the VyOS emulator running in namespace ``h10-vy``, whose firewall is
real nftables rules there and whose session table is that namespace's conntrack
(:mod:`tests.support.device_netns`, the clinic described by :data:`CLINIC`). Packets from the clinic
(``h10-in``) toward the far side of the uplink (``h10-up``) show what the chains let through. Namespace
prefix ``h10-``, ports 27920-27921.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_lab.testing.emulator import wait_for_timer

from egressctl.driver import SessionHandling
from egressctl.policy import compute_policy
from tests.support.device_netns import DeviceNet
from tests.support.emulator_in_netns import lab_available
from tests.support.netns_change import REVERT_IN, Rig, running_rig
from tests.support.netns_probes import echoes, held

pytestmark = [pytest.mark.lab, pytest.mark.slow,
              pytest.mark.skipif(not lab_available(), reason="needs root, ip, nft and conntrack")]

INVENTORY = Path(__file__).with_name("netns_site.yaml")
PORT, OLD_PORT = 27920, 27921
SCALE = 0.1  # one device minute = 6 s
#: h10-in (10.78.1.2: a workstation and the clinic's admin host) -- h10-vy (e1 = eth1 toward the LAN,
#: e0 = eth0, the uplink; its conntrack is the emulator's session table) -- h10-up (10.78.2.2: the NOC's
#: SSH on 22, the management path).
CLINIC = DeviceNet(prefix="h10", role="vy", platform="vyos", lan_port="e1", wan_port="e0",
                   spec={"name": "vy-h10", "hostname": "vy-h10", "username": "vyos",
                         "interfaces": {"eth0": "e0", "eth1": "e1"},
                         "options": {"version": "1.5-rolling-202501010000"}},
                   probes={"noc-ssh": ("in", "10.78.2.2", 22)}, time_scale=SCALE, worker_timeout=180.0)
ALL_OPEN = CLINIC.expect()
ISOLATED = CLINIC.expect("web4", "web6", "other4")
Lab = tuple[Rig, Path]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("h10-router")
    with running_rig(CLINIC, INVENTORY, "h10net", "vy-h10", tmp, PORT) as rig:
        yield rig, tmp


def kill(rig: Rig) -> Any:
    """Isolate (confirmed) and end the denied sessions by the driver's conntrack deletes: the kill report."""
    policy = compute_policy(rig.site, "isolated")
    return rig.change(policy, then=lambda drv: drv.clear_sessions(policy, rig.site.inside))


def firewall_lines(snapshot: str) -> list[str]:
    return [ln for ln in snapshot.splitlines() if ln.startswith("set firewall")]


def test_isolate_stage_and_full_restore_with_packets_and_session_kill(lab: Lab) -> None:
    rig, _ = lab
    net, site = rig.net, rig.site
    assert net.reach() == ALL_OPEN
    before = rig.snapshot()
    with rig.held_session() as session:
        report = kill(rig)
        assert 'oifname "e0"' in net.nft_table() and "jump n4_EGRESSCTL_V4" in net.nft_table()
        assert net.reach() == ISOLATED
        assert report.handling is SessionHandling.KEPT and report.cleared >= 1, report
        assert "10.78.2.2:8080" in report.detail, report.detail
        session.settimeout(2.0)
        assert not echoes(session, b"after the kill\n"), "the denied session outlived the conntrack delete"
    rig.change(compute_policy(site, "web"))
    assert net.reach() == CLINIC.expect("other4")
    rig.change(compute_policy(site, "normal"))
    assert net.reach() == ALL_OPEN
    assert rig.state().is_normal
    after = rig.snapshot()
    assert firewall_lines(after) == firewall_lines(before), "the full restore left a firewall line behind"
    # the one line egressctl leaves: the reload revert it set before its first change (stated in the docs)
    extra = set(after.splitlines()) - set(before.splitlines())
    assert extra <= {"set system config-management commit-confirm action 'reload'"}, extra


def test_a_held_session_survives_a_cut_without_the_kill(lab: Lab) -> None:
    """The state policy keeps established connections: only the conntrack delete ends them."""
    rig, _ = lab
    session = held(CLINIC.inside, "10.78.2.2", 8080)
    try:
        assert echoes(session)
        rig.change(compute_policy(rig.site, "isolated"))
        assert not rig.net.probe("other4"), "a new connection is cut"
        assert echoes(session, b"still here\n"), "VyOS keeps established sessions (state policy)"
    finally:
        session.close()
    rig.change(compute_policy(rig.site, "normal"))


def test_management_rule_dropped_is_reloaded_back_by_commit_confirm(lab: Lab) -> None:
    rig, _ = lab
    armed = rig.cut_management_unconfirmed()
    rig.management_back(armed, REVERT_IN * SCALE, "commit-confirm")
    assert rig.net.probe("https4"), "reloaded in place: no outage"
    rig.isolated_and_settled()
    rig.change(compute_policy(rig.site, "normal"))
    assert rig.net.reach() == ALL_OPEN


def test_on_14_the_safety_net_fires_by_rebooting(lab: Lab) -> None:
    """VyOS 1.4: the router reboots (nothing forwards while it boots) and comes back on its saved config."""
    rig, tmp = lab
    net = rig.net
    net.start(tmp, rig.secret.password or "", OLD_PORT, {"version": "1.4.0", "boot_seconds": "150"})
    old = dataclasses.replace(rig, device=rig.device.model_copy(update={"port": OLD_PORT}))
    armed = old.cut_management_unconfirmed()
    down = wait_for_timer(lambda: not net.probe("https4"), armed_at=armed, due_after=REVERT_IN * SCALE)
    assert down, "the reboot should stop all forwarding while the router boots"
    up = wait_for_timer(lambda: net.probe("noc-ssh"), armed_at=armed, due_after=(REVERT_IN + 150) * SCALE)
    assert up, "the router did not come back with the management path"
    assert net.reach() == ISOLATED, "back on the saved configuration: the confirmed isolation"
    old.change(compute_policy(rig.site, "normal"))
    assert net.reach() == ALL_OPEN
