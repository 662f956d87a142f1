"""cisco_ios switch role: isolate, stage and full restore in ACL mode, isolate and normal in shutdown-uplink
mode, proven with packets; a management rule dropped and the IOS revert timer putting it back; the timer
also reopening an unconfirmed uplink shutdown.

The driver (netmiko ``cisco_ios``, the executor's lifecycle: read, load, commit inside ``configure terminal
revert timer``, read back, a fresh session, ``configure confirm`` then ``write memory``) changes the IOS
emulator's Catalyst personality running in namespace ``h13-sw``, whose ACLs and shut ports are real nftables
rules there (:mod:`tests.drivers.cisco_ios.switch_netns`). Namespace prefix ``h13-``, port 28050.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_lab import hostkeys
from egressctl_lab.testing.emulator import wait_for_timer
from egressctl_lab.testing.lifecycle import at, make

from egressctl.inventory.credentials import Secret, remember
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device, Site
from egressctl.policy import Policy, compute_policy
from tests.drivers.arista_eos.closet_netns import echoes, held, tcp_open
from tests.drivers.cisco_ios.switch_netns import INSIDE, KEY_NAME, UPLINK, UPLINK_PORT, SwitchCloset
from tests.support.emulator_in_netns import lab_available

pytestmark = [pytest.mark.lab, pytest.mark.slow,
              pytest.mark.skipif(not lab_available(), reason="needs root, ip and nft")]

INVENTORY = Path(__file__).with_name("netns_site.yaml")
PORT = 28050
SCALE = 0.1  # one device minute = 6 s
CONFIRMED_REVERT = 600  # the timer of changes the test confirms: 10 device minutes, 60 s real, never reached
SERVER, SWITCH_SVI, FAR4, FAR6 = "10.78.1.2", "10.78.1.1", "10.78.2.2", "fd78:2::2"


Rig = tuple[SwitchCloset, dict[str, Device], Secret, dict[str, Site]]


@pytest.fixture(scope="module")
def closet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    inv = load_inventory(INVENTORY)
    sites = {s.name: s for s in inv.sites}
    password = "h13-" + secrets.token_urlsafe(12)
    remember(password)
    pin = hostkeys.public_line(KEY_NAME)
    devices = {n: s.device("sw-h13").model_copy(update={"port": PORT, "host_key": pin})
               for n, s in sites.items()}
    net = SwitchCloset()
    try:
        net.build()
        net.start(tmp_path_factory.mktemp("h13-closet"), password, PORT, SCALE)
        yield net, devices, Secret(password=password), sites
    finally:
        net.destroy()


def reach() -> dict[str, bool]:
    """What the closet reaches beyond the uplink, and who reaches the server and the switch's SSH."""
    return {
        "web4": tcp_open(INSIDE, FAR4, 80), "web6": tcp_open(INSIDE, FAR6, 80),
        "https4": tcp_open(INSIDE, FAR4, 443), "https6": tcp_open(INSIDE, FAR6, 443),
        "other4": tcp_open(INSIDE, FAR4, 8080), "noc-ssh": tcp_open(UPLINK, SERVER, 22),
        "closet-ops": tcp_open(INSIDE, SWITCH_SVI, 22),
    }


ALL_OPEN = dict.fromkeys(("web4", "web6", "https4", "https6", "other4", "noc-ssh", "closet-ops"), True)


def change(net: SwitchCloset, device: Device, secret: Secret, policy: Policy, *, confirm: bool = True,
           revert_in: int = CONFIRMED_REVERT) -> None:
    """The executor's lifecycle for one device, on the switch's namespace thread."""
    def run() -> None:
        drv = make(device, timeout=20.0)
        drv.open(secret)
        try:
            drv.load_candidate(policy, drv.read_state())
            assert drv.diff().strip()
            drv.commit(revert_in)
            assert drv.has_pending_commit() and at(drv.read_state(), policy)
            if confirm:
                fresh = make(device, timeout=20.0)
                fresh.open(secret)
                try:
                    assert at(fresh.read_state(), policy)
                finally:
                    fresh.close()
                drv.confirm()
                assert not drv.has_pending_commit() and drv.ensure_saved() == ""  # saved by the confirm
        finally:
            drv.close()

    net.on_switch(run)


def device_says(net: SwitchCloset, device: Device, secret: Secret, command: str) -> Any:
    """One command over a new session (``state``: read_state(), ``preflight``: egressctl check's)."""
    def run() -> Any:
        drv = make(device, timeout=20.0)
        drv.open(secret)
        try:
            if command == "preflight":
                return drv.preflight()
            return drv.read_state() if command == "state" else drv.send(command)
        finally:
            drv.close()

    return net.on_switch(run)


def test_acl_mode_isolate_stage_and_full_restore_with_packets(closet: Rig) -> None:
    net, devices, secret, sites = closet
    device, site = devices["h13net"], sites["h13net"]
    assert reach() == ALL_OPEN
    checks = {r.name: r for r in device_says(net, device, secret, "preflight")}
    assert checks["switch-role"].status == "ok", checks["switch-role"]
    before = device_says(net, device, secret, "show running-config")
    session = held(INSIDE, FAR4, 8080)
    try:
        assert echoes(session), "the held session works before the cut"
        change(net, device, secret, compute_policy(site, "isolated"))
        table = net.nft_table()
        assert 'iifname "vl10"' in table and 'oifname "gi48"' in table
        got = reach()
        assert got == {**ALL_OPEN, "web4": False, "web6": False, "other4": False, "closet-ops": False}, got
        session.settimeout(2.0)
        assert not echoes(session, b"after the cut\n"), "a session outlived the cut (stateless ACL)"
    finally:
        session.close()
    change(net, device, secret, compute_policy(site, "web"))
    assert reach() == {**ALL_OPEN, "other4": False, "closet-ops": False}
    startup = device_says(net, device, secret, "show startup-config | include access-group|traffic-filter")
    assert "ip access-group EGRESSCTL-V4-B out" in startup, "the confirmed stage was not saved"
    change(net, device, secret, compute_policy(site, "normal"))
    assert reach() == ALL_OPEN
    assert device_says(net, device, secret, "state").is_normal
    after = device_says(net, device, secret, "show running-config")
    strip = [ln for ln in before.splitlines() if "Current configuration" not in ln]
    assert [ln for ln in after.splitlines() if "Current configuration" not in ln] == strip


def test_acl_mode_management_rule_dropped_is_reverted_by_the_revert_timer(closet: Rig) -> None:
    net, devices, secret, sites = closet
    device, site = devices["h13net"], sites["h13net"]
    iso = compute_policy(site, "isolated")
    change(net, device, secret, iso)
    assert reach()["noc-ssh"]
    bad = Policy(site.name, "isolated", tuple(r for r in iso.rules if r.kind != "management"))
    change(net, device, secret, bad, confirm=False, revert_in=60)  # unconfirmed: the controller died
    armed = time.monotonic()
    assert not tcp_open(UPLINK, SERVER, 22), "the bad change should cut the NOC's path"
    assert tcp_open(INSIDE, FAR4, 443), "the rest of the isolated policy is in force"
    back = wait_for_timer(lambda: tcp_open(UPLINK, SERVER, 22), armed_at=armed, due_after=60 * SCALE)
    assert back, "the revert timer did not put the management path back"
    state = device_says(net, device, secret, "state")
    assert at(state, iso) and not state.pending_commit
    change(net, device, secret, compute_policy(site, "normal"))
    assert reach() == ALL_OPEN


def test_shutdown_mode_isolate_and_normal_and_the_timer_reopening_the_uplink(closet: Rig) -> None:
    net, devices, secret, sites = closet
    device, site = devices["h13cut"], sites["h13cut"]
    assert reach() == ALL_OPEN
    change(net, device, secret, compute_policy(site, "isolated"))
    assert 'iifname "gi48" drop' in net.nft_table()
    cut = reach()
    # everything over the uplink stops, the always-allowed https included; the closet still reaches the
    # switch on its SVI (management inside the closet, kept by construction)
    assert cut == {**dict.fromkeys(ALL_OPEN, False), "closet-ops": True}, cut
    startup = device_says(net, device, secret, f"show startup-config | section {UPLINK_PORT}")
    assert " shutdown" in startup, "the confirmed shutdown was not saved"
    change(net, device, secret, compute_policy(site, "normal"))
    assert reach() == ALL_OPEN
    # an isolation left unconfirmed: IOS's own revert timer opens the uplink again
    change(net, device, secret, compute_policy(site, "isolated"), confirm=False, revert_in=60)
    armed = time.monotonic()
    assert not tcp_open(INSIDE, FAR4, 443)
    assert wait_for_timer(lambda: tcp_open(INSIDE, FAR4, 443), armed_at=armed, due_after=60 * SCALE)
    state = device_says(net, device, secret, "state")
    assert state.is_normal and not state.pending_commit
    assert reach() == ALL_OPEN
