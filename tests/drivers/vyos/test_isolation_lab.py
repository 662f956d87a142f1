"""vyos: isolate, stages and full restore on the emulated router, proven with packets; a held session kept
by the state policy and ended by the driver's conntrack deletes; the management rule dropped by a bad change
and the router's commit-confirm putting it back, by reload in place (1.5) and by a reboot (1.4).

The driver (netmiko ``vyos``, the executor's lifecycle: read, load, diff, commit-confirm, read back, a fresh
session, confirm, session kill) changes the VyOS emulator running in namespace ``h10-vy``, whose firewall is
real nftables rules there and whose session table is that namespace's conntrack
(:mod:`tests.drivers.vyos.router_netns`). Packets from the clinic (``h10-in``) toward the far side of the
uplink (``h10-up``) show what the chains let through. Namespace prefix ``h10-``, ports 27920-27921.
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

from egressctl.driver import SessionHandling
from egressctl.inventory.credentials import Secret, remember
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device, Site
from egressctl.policy import Policy, compute_policy
from tests.drivers.arista_eos.closet_netns import echoes, held, tcp_open
from tests.drivers.vyos.router_netns import INSIDE, KEY_NAME, Router
from tests.support.emulator_in_netns import lab_available

pytestmark = [pytest.mark.lab, pytest.mark.slow,
              pytest.mark.skipif(not lab_available(), reason="needs root, ip, nft and conntrack")]

INVENTORY = Path(__file__).with_name("netns_site.yaml")
PORT, OLD_PORT = 27920, 27921
SCALE = 0.1  # one device minute = 6 s
CONFIRMED_REVERT = 600  # the timer of changes the test confirms: 60 s real, never reached
FAR4, FAR6 = "10.78.2.2", "fd78:2::2"
NEW = {"version": "1.5-rolling-202501010000"}
Lab = tuple[Router, Device, Secret, Site, Path]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    site = load_inventory(INVENTORY).site("h10net")
    password = "h10-" + secrets.token_urlsafe(12)
    remember(password)
    pin = hostkeys.public_line(KEY_NAME)
    device = site.device("vy-h10").model_copy(update={"port": PORT, "host_key": pin})
    net = Router()
    tmp = tmp_path_factory.mktemp("h10-router")
    try:
        net.build()
        net.start(tmp, password, PORT, SCALE, NEW)
        yield net, device, Secret(password=password), site, tmp
    finally:
        net.destroy()


def reach() -> dict[str, bool]:
    """What the clinic reaches beyond the uplink (the admin host's SSH to the NOC is the management path)."""
    return {"web4": tcp_open(INSIDE, FAR4, 80), "web6": tcp_open(INSIDE, FAR6, 80),
            "https4": tcp_open(INSIDE, FAR4, 443), "https6": tcp_open(INSIDE, FAR6, 443),
            "other4": tcp_open(INSIDE, FAR4, 8080), "noc-ssh": tcp_open(INSIDE, FAR4, 22)}


ALL_OPEN = {"web4": True, "web6": True, "https4": True, "https6": True, "other4": True, "noc-ssh": True}
ISOLATED = {"web4": False, "web6": False, "https4": True, "https6": True, "other4": False, "noc-ssh": True}


def change(net: Router, device: Device, secret: Secret, site: Site, policy: Policy, *, confirm: bool = True,
           revert_in: int = CONFIRMED_REVERT, kill: bool = False) -> Any:
    """The executor's lifecycle for one device on the router's namespace thread; the kill report if asked."""
    def run() -> Any:
        drv = make(device, timeout=20.0)
        drv.open(secret)
        try:
            state = drv.read_state()
            drv.load_candidate(policy, state)
            assert drv.diff().strip()
            drv.commit(revert_in)
            assert drv.has_pending_commit() and at(drv.read_state(), policy)
            if not confirm:
                return None
            fresh = make(device, timeout=20.0)
            fresh.open(secret)
            try:
                assert at(fresh.read_state(), policy)
            finally:
                fresh.close()
            drv.confirm()
            assert not drv.has_pending_commit()
            return drv.clear_sessions(policy, site.inside) if kill else None
        finally:
            drv.close()

    return net.on_router(run)


def read(net: Router, device: Device, secret: Secret, what: str = "state") -> Any:
    """``read_state()`` (or ``snapshot()``) over a new session."""
    def run() -> Any:
        drv = make(device, timeout=20.0)
        drv.open(secret)
        try:
            return drv.read_state() if what == "state" else drv.snapshot()
        finally:
            drv.close()

    return net.on_router(run)


def firewall_lines(snapshot: str) -> list[str]:
    return [ln for ln in snapshot.splitlines() if ln.startswith("set firewall")]


def test_isolate_stage_and_full_restore_with_packets_and_session_kill(lab: Lab) -> None:
    net, device, secret, site, _ = lab
    assert reach() == ALL_OPEN
    before = read(net, device, secret, "snapshot")
    session = held(INSIDE, FAR4, 8080)
    try:
        assert echoes(session), "the held session works before the cut"
        report = change(net, device, secret, site, compute_policy(site, "isolated"), kill=True)
        assert 'oifname "e0"' in net.nft_table() and "jump n4_EGRESSCTL_V4" in net.nft_table()
        assert reach() == ISOLATED
        assert report.handling is SessionHandling.KEPT and report.cleared >= 1, report
        assert "10.78.2.2:8080" in report.detail, report.detail
        session.settimeout(2.0)
        assert not echoes(session, b"after the kill\n"), "the denied session outlived the conntrack delete"
    finally:
        session.close()
    change(net, device, secret, site, compute_policy(site, "web"))
    assert reach() == {**ISOLATED, "web4": True, "web6": True}
    change(net, device, secret, site, compute_policy(site, "normal"))
    assert reach() == ALL_OPEN
    assert read(net, device, secret).is_normal
    after = read(net, device, secret, "snapshot")
    assert firewall_lines(after) == firewall_lines(before), "the full restore left a firewall line behind"
    # the one line egressctl leaves: the reload revert it set before its first change (stated in the docs)
    extra = set(after.splitlines()) - set(before.splitlines())
    assert extra <= {"set system config-management commit-confirm action 'reload'"}, extra


def test_a_held_session_survives_a_cut_without_the_kill(lab: Lab) -> None:
    """The state policy keeps established connections: only the conntrack delete ends them."""
    net, device, secret, site, _ = lab
    session = held(INSIDE, FAR4, 8080)
    try:
        assert echoes(session)
        change(net, device, secret, site, compute_policy(site, "isolated"))
        assert not tcp_open(INSIDE, FAR4, 8080), "a new connection is cut"
        assert echoes(session, b"still here\n"), "VyOS keeps established sessions (state policy)"
    finally:
        session.close()
    change(net, device, secret, site, compute_policy(site, "normal"))


def bad_change(net: Router, device: Device, secret: Secret, site: Site) -> float:
    """Isolated without its management rules, left unconfirmed (the controller dies); returns when armed."""
    iso = compute_policy(site, "isolated")
    change(net, device, secret, site, iso)
    assert reach()["noc-ssh"]
    bad = Policy(site.name, "isolated", tuple(r for r in iso.rules if r.kind != "management"))
    change(net, device, secret, site, bad, confirm=False, revert_in=60)
    armed = time.monotonic()
    assert not tcp_open(INSIDE, FAR4, 22), "the bad change should cut the management path"
    assert tcp_open(INSIDE, FAR4, 443), "the rest of the isolated policy is in force"
    return armed


def test_management_rule_dropped_is_reloaded_back_by_commit_confirm(lab: Lab) -> None:
    net, device, secret, site, _ = lab
    armed = bad_change(net, device, secret, site)
    back = wait_for_timer(lambda: tcp_open(INSIDE, FAR4, 22), armed_at=armed, due_after=60 * SCALE)
    assert back, "commit-confirm did not put the management path back"
    assert tcp_open(INSIDE, FAR4, 443), "reloaded in place: no outage"
    state = read(net, device, secret)
    assert at(state, compute_policy(site, "isolated")) and not state.pending_commit
    change(net, device, secret, site, compute_policy(site, "normal"))
    assert reach() == ALL_OPEN


def test_on_14_the_safety_net_fires_by_rebooting(lab: Lab) -> None:
    """VyOS 1.4: the router reboots (nothing forwards while it boots) and comes back on its saved config."""
    net, device, secret, site, tmp = lab
    net.start(tmp, secret.password or "", 27921, SCALE, {"version": "1.4.0", "boot_seconds": "150"})
    old = device.model_copy(update={"port": 27921})
    armed = bad_change(net, old, secret, site)
    down = wait_for_timer(lambda: not tcp_open(INSIDE, FAR4, 443), armed_at=armed, due_after=60 * SCALE)
    assert down, "the reboot should stop all forwarding while the router boots"
    up = wait_for_timer(lambda: tcp_open(INSIDE, FAR4, 22), armed_at=armed, due_after=(60 + 150) * SCALE)
    assert up, "the router did not come back with the management path"
    assert reach() == ISOLATED, "back on the saved configuration: the confirmed isolation"
    change(net, old, secret, site, compute_policy(site, "normal"))
    assert reach() == ALL_OPEN
