"""mikrotik_routeros: isolate, stages and full restore on the emulated router, proven with packets; a held
connection kept by FastTrack until the driver removes it; the management rule dropped by a bad change and the
router's own scheduler putting it back, also across a reboot.

The driver (netmiko ``mikrotik_routeros``, the executor's lifecycle: read, load, diff, arm the revert and
send, read back, a fresh session, confirm, then end the denied sessions) changes the RouterOS emulator running
in namespace ``h11-rt``, whose filter is real nftables rules there and whose connection table is that
namespace's conntrack (:mod:`tests.drivers.mikrotik_routeros.clinic_netns`). Packets from the clinic
(``h11-in``) toward the far side of the uplink (``h11-up``) show what the filter lets through. Namespace
prefix ``h11-``, port 27953; nothing outside the namespaces is touched.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_lab import hostkeys
from egressctl_lab.testing.emulator import wait_for_timer, wait_until
from egressctl_lab.testing.lifecycle import at, make

from egressctl.driver import SessionHandling
from egressctl.inventory.credentials import Secret, remember
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device, Site
from egressctl.policy import Policy, compute_policy
from tests.drivers.mikrotik_routeros.clinic_netns import (
    INSIDE,
    KEY_NAME,
    UPLINK,
    Clinic,
    conntrack,
    echoes,
    held,
    tcp_open,
)
from tests.support.emulator_in_netns import lab_available

pytestmark = [pytest.mark.lab, pytest.mark.slow,
              pytest.mark.skipif(not lab_available(), reason="needs root, ip and nft")]

INVENTORY = Path(__file__).with_name("netns_site.yaml")
PORT = 27953
SCALE = 0.1  # one device minute = 6 s
CONFIRMED_REVERT = 600  # the timer of changes the test confirms: 60 s real, never reached
SERVER, FAR4, FAR6 = "10.78.1.2", "10.78.2.2", "fd78:2::2"


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Clinic, Device, Secret, Site]]:
    site = load_inventory(INVENTORY).site("h11net")
    password = "h11-" + secrets.token_urlsafe(12)
    remember(password)
    pin = hostkeys.public_line(KEY_NAME)
    device = site.device("rtr-h11").model_copy(update={"port": PORT, "host_key": pin})
    net = Clinic()
    try:
        net.build()
        net.start(tmp_path_factory.mktemp("h11-clinic"), password, PORT, SCALE)
        yield net, device, Secret(password=password), site
    finally:
        net.destroy()


def reach() -> dict[str, bool]:
    """What the clinic reaches beyond the uplink, and whether the NOC reaches the server inside."""
    return {
        "web4": tcp_open(INSIDE, FAR4, 80), "web6": tcp_open(INSIDE, FAR6, 80),
        "https4": tcp_open(INSIDE, FAR4, 443), "https6": tcp_open(INSIDE, FAR6, 443),
        "other4": tcp_open(INSIDE, FAR4, 8080), "noc-ssh": tcp_open(UPLINK, SERVER, 22),
    }


def settled(expected: dict[str, bool], tries: int = 3) -> dict[str, bool]:
    """``reach()`` until it equals ``expected``, at most ``tries`` times.

    On a loaded machine a permitted connect can miss its 1 s time-out; a dropped one never succeeds, so a
    retry only removes false drops.
    """
    seen = reach()
    for _ in range(tries - 1):
        if seen == expected:
            break
        time.sleep(0.5)
        seen = reach()
    return seen


def change(net: Clinic, device: Device, secret: Secret, policy: Policy, site: Site, *, confirm: bool = True,
           revert_in: int = CONFIRMED_REVERT) -> Any:
    """The executor's lifecycle for one device, on the router's namespace thread; the session report."""
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
            return drv.clear_sessions(policy, site.inside) if target_is_cut(policy) else None
        finally:
            drv.close()

    return net.on_router(run)


def target_is_cut(policy: Policy) -> bool:
    return not policy.is_normal


def on_router(net: Clinic, device: Device, secret: Secret, fn: Any) -> Any:
    """``fn(driver)`` over a new session."""
    def run() -> Any:
        drv = make(device, timeout=20.0)
        drv.open(secret)
        try:
            return fn(drv)
        finally:
            drv.close()

    return net.on_router(run)


ALL_OPEN = {"web4": True, "web6": True, "https4": True, "https6": True, "other4": True, "noc-ssh": True}
ISOLATED = {"web4": False, "web6": False, "https4": True, "https6": True, "other4": False, "noc-ssh": True}


def test_isolate_session_kill_stage_and_full_restore_with_packets(
        clinic: tuple[Clinic, Device, Secret, Site]) -> None:
    net, device, secret, site = clinic
    assert settled(ALL_OPEN) == ALL_OPEN
    before = on_router(net, device, secret, lambda d: d.snapshot())
    session = held(INSIDE, FAR4, 8080)
    try:
        assert echoes(session) and echoes(session), "the held session works (fasttracked) before the cut"
        iso = compute_policy(site, "isolated")
        # cut without ending sessions first: FastTrack keeps the established connection past the new rules
        assert on_router(net, device, secret, lambda d: d.session_handling()) == SessionHandling.KEPT
        change(net, device, secret, iso, site, confirm=False)
        session.settimeout(2.0)
        assert echoes(session, b"kept by fasttrack\n"), "FastTrack should keep an established connection"
        assert settled(ISOLATED) == ISOLATED
        on_router(net, device, secret, lambda d: d.rollback())
        report = change(net, device, secret, iso, site)
        assert report.handling == SessionHandling.KEPT and report.matched >= 1 and report.cleared >= 1, report
        assert "8080" in report.detail, report
        assert not [ln for ln in conntrack().splitlines() if "dport=8080" in ln and "ESTABLISHED" in ln]
        assert not echoes(session, b"after the kill\n"), "the denied session outlived the cut"
    finally:
        session.close()
    assert settled(ISOLATED) == ISOLATED
    assert reach()["noc-ssh"], "management kept"
    change(net, device, secret, compute_policy(site, "web"), site)
    assert settled({**ISOLATED, "web4": True, "web6": True}) == {**ISOLATED, "web4": True, "web6": True}
    change(net, device, secret, compute_policy(site, "normal"), site)
    assert settled(ALL_OPEN) == ALL_OPEN
    assert on_router(net, device, secret, lambda d: d.read_state()).is_normal
    after = on_router(net, device, secret, lambda d: d.snapshot())
    assert after.splitlines()[1:] == before.splitlines()[1:], "the full restore left something behind"


def test_management_rule_dropped_is_reverted_by_the_scheduler(
        clinic: tuple[Clinic, Device, Secret, Site]) -> None:
    net, device, secret, site = clinic
    iso = compute_policy(site, "isolated")
    change(net, device, secret, iso, site)
    assert reach()["noc-ssh"]
    # a bad change: the isolated policy without its management rules, left unconfirmed (the controller dies)
    bad = Policy(site.name, "isolated", tuple(r for r in iso.rules if r.kind != "management"))
    change(net, device, secret, bad, site, confirm=False, revert_in=60)
    armed = time.monotonic()
    assert not tcp_open(UPLINK, SERVER, 22), "the bad change should cut the NOC's path"
    assert tcp_open(INSIDE, FAR4, 443), "the rest of the isolated policy is in force"
    back = wait_for_timer(lambda: tcp_open(UPLINK, SERVER, 22), armed_at=armed, due_after=60 * SCALE)
    assert back, "the scheduler did not put the management path back"
    state = on_router(net, device, secret, lambda d: d.read_state())
    assert at(state, iso) and not state.pending_commit


def test_a_reboot_fires_the_startup_revert(clinic: tuple[Clinic, Device, Secret, Site]) -> None:
    """The bad change is saved like any RouterOS change; after a reboot the startup item undoes it."""
    net, device, secret, site = clinic
    iso = compute_policy(site, "isolated")
    if not at(on_router(net, device, secret, lambda d: d.read_state()), iso):
        change(net, device, secret, iso, site)
    bad = Policy(site.name, "isolated", tuple(r for r in iso.rules if r.kind != "management"))
    change(net, device, secret, bad, site, confirm=False, revert_in=3600)
    assert not tcp_open(UPLINK, SERVER, 22)

    def reboot(d: Any) -> None:
        d.conn.send_command("/system reboot", expect_string=r"\[y/N\]:")
        d.conn.write_channel("y\r\n")

    on_router(net, device, secret, reboot)
    assert wait_until(lambda: tcp_open(UPLINK, SERVER, 22), 30, 0.5), "the startup item did not revert"
    assert settled(ISOLATED) == ISOLATED, "the confirmed isolation survived the reboot"
    change(net, device, secret, compute_policy(site, "normal"), site)
    assert settled(ALL_OPEN) == ALL_OPEN
