"""cisco_ios switch role: isolate, stage and full restore in ACL mode, isolate and normal in shutdown-uplink
mode, proven with packets; a management rule dropped and the IOS revert timer putting it back; the timer
also reopening an unconfirmed uplink shutdown.

The driver (netmiko ``cisco_ios``, the executor's lifecycle: read, load, commit inside ``configure terminal
revert timer``, read back, a fresh session, ``configure confirm`` then ``write memory``) changes the IOS
emulator's Catalyst personality running in namespace ``h13-sw``, whose ACLs and shut ports are real nftables
rules there (:mod:`tests.support.device_netns`, the closet described in
:mod:`tests.drivers.cisco_ios.switch_netns`). Namespace prefix ``h13-``, port 28050.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_lab.testing.emulator import wait_for_timer

from egressctl.inventory.loader import load_inventory
from egressctl.policy import Policy, compute_policy
from tests.drivers.cisco_ios.switch_netns import CLOSET, SCALE, UPLINK_PORT
from tests.support.device_netns import running
from tests.support.emulator_in_netns import lab_available
from tests.support.netns_change import CONFIRMED_REVERT, REVERT_IN, Rig, rig_for
from tests.support.netns_probes import echoes

pytestmark = [pytest.mark.lab, pytest.mark.slow,
              pytest.mark.skipif(not lab_available(), reason="needs root, ip and nft")]

INVENTORY = Path(__file__).with_name("netns_site.yaml")
PORT = 28050
ALL_OPEN = CLOSET.expect()
Rigs = dict[str, Rig]  # by site: h13net (ACL mode), h13cut (shutdown-uplink mode), one switch


@pytest.fixture(scope="module")
def closet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rigs]:
    inv = load_inventory(INVENTORY)
    with running(CLOSET, tmp_path_factory.mktemp("h13-closet"), PORT) as (net, secret):
        yield {s.name: rig_for(net, secret, s, "sw-h13", PORT) for s in inv.sites}


def change(rig: Rig, policy: Policy, *, confirm: bool = True, revert_in: int = CONFIRMED_REVERT) -> None:
    """The executor's lifecycle on the switch's thread; a confirmed change is saved by its confirm."""
    def saved(drv: Any) -> None:
        assert drv.ensure_saved() == ""

    rig.change(policy, confirm=confirm, revert_in=revert_in, then=saved if confirm else None)


def device_says(rig: Rig, command: str) -> Any:
    """One command over a new session (``state``: read_state(), ``preflight``: egressctl check's)."""
    def run(drv: Any) -> Any:
        if command == "preflight":
            return drv.preflight()
        return drv.read_state() if command == "state" else drv.send(command)

    return rig.with_driver(run)


def test_acl_mode_isolate_stage_and_full_restore_with_packets(closet: Rigs) -> None:
    rig = closet["h13net"]
    net, site = rig.net, rig.site
    assert net.reach() == ALL_OPEN
    checks = {r.name: r for r in device_says(rig, "preflight")}
    assert checks["switch-role"].status == "ok", checks["switch-role"]
    before = device_says(rig, "show running-config")
    with rig.held_session() as session:
        change(rig, compute_policy(site, "isolated"))
        table = net.nft_table()
        assert 'iifname "vl10"' in table and 'oifname "gi48"' in table
        got = net.reach()
        assert got == CLOSET.expect("web4", "web6", "other4", "closet-ops"), got
        session.settimeout(2.0)
        assert not echoes(session, b"after the cut\n"), "a session outlived the cut (stateless ACL)"
    change(rig, compute_policy(site, "web"))
    assert net.reach() == CLOSET.expect("other4", "closet-ops")
    startup = device_says(rig, "show startup-config | include access-group|traffic-filter")
    assert "ip access-group EGRESSCTL-V4-B out" in startup, "the confirmed stage was not saved"
    change(rig, compute_policy(site, "normal"))
    assert net.reach() == ALL_OPEN
    assert device_says(rig, "state").is_normal
    after = device_says(rig, "show running-config")
    strip = [ln for ln in before.splitlines() if "Current configuration" not in ln]
    assert [ln for ln in after.splitlines() if "Current configuration" not in ln] == strip


def test_acl_mode_management_rule_dropped_is_reverted_by_the_revert_timer(closet: Rigs) -> None:
    rig = closet["h13net"]
    armed = rig.cut_management_unconfirmed(lambda p, **kw: change(rig, p, **kw))
    rig.management_back(armed, REVERT_IN * SCALE, "the revert timer")
    rig.isolated_and_settled()
    change(rig, compute_policy(rig.site, "normal"))
    assert rig.net.reach() == ALL_OPEN


def test_shutdown_mode_isolate_and_normal_and_the_timer_reopening_the_uplink(closet: Rigs) -> None:
    rig = closet["h13cut"]
    net, site = rig.net, rig.site
    assert net.reach() == ALL_OPEN
    change(rig, compute_policy(site, "isolated"))
    assert 'iifname "gi48" drop' in net.nft_table()
    cut = net.reach()
    # everything over the uplink stops, the always-allowed https included; the closet still reaches the
    # switch on its SVI (management inside the closet, kept by construction)
    assert cut == {**dict.fromkeys(ALL_OPEN, False), "closet-ops": True}, cut
    startup = device_says(rig, f"show startup-config | section {UPLINK_PORT}")
    assert " shutdown" in startup, "the confirmed shutdown was not saved"
    change(rig, compute_policy(site, "normal"))
    assert net.reach() == ALL_OPEN
    # an isolation left unconfirmed: IOS's own revert timer opens the uplink again
    change(rig, compute_policy(site, "isolated"), confirm=False, revert_in=60)
    armed = time.monotonic()
    assert not net.probe("https4")
    assert wait_for_timer(lambda: net.probe("https4"), armed_at=armed, due_after=60 * SCALE)
    state = device_says(rig, "state")
    assert state.is_normal and not state.pending_commit
    assert net.reach() == ALL_OPEN
