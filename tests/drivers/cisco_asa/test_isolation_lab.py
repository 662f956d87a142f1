"""cisco_asa: isolate, stages and full restore on the emulated ASA, proven with packets; connections kept
by the ASA until ``clear conn``; the management rule dropped by a bad change and the revert job, run on a
second host with the controller gone, putting it back.

The driver (netmiko ``cisco_asa``, the executor's lifecycle: read, render, commit, read back, a fresh
session, confirm) changes the ASA emulator running in namespace ``h9-fw``, whose ACLs are real nftables
rules there behind the connection table (:mod:`tests.drivers.cisco_asa.clinic_netns`). Packets from the
clinic (``h9-in``) toward the far side of the uplink (``h9-up``) show what the ACL lets through; a
connection held open across the cut keeps working (the ASA checks ACLs at set-up only) until the driver's
``clear_sessions`` ends it. Namespace prefix ``h9-``, port 27820.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_drivers.cisco_asa import revert
from egressctl_drivers.common.marker import PendingMarker
from egressctl_lab import hostkeys
from egressctl_lab.testing.lifecycle import at, make

from egressctl.driver import SessionHandling
from egressctl.inventory.credentials import Secret, remember
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device, Site
from egressctl.policy import Policy, compute_policy
from tests.drivers.arista_eos.closet_netns import echoes, held, tcp_open
from tests.drivers.cisco_asa.clinic_netns import ASA_OUTSIDE, INSIDE, KEY_NAME, Clinic
from tests.support.emulator_in_netns import lab_available

pytestmark = [pytest.mark.lab, pytest.mark.slow,
              pytest.mark.skipif(not lab_available(), reason="needs root, ip and nft")]

INVENTORY = Path(__file__).with_name("netns_site.yaml")
PORT = 27820
CONFIRMED_REVERT = 600  # the watchdog of changes the test confirms: never reached
FAR4, FAR6 = "10.78.2.2", "fd78:2::2"
Setup = tuple[Clinic, Device, Secret, Site]


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    site = load_inventory(INVENTORY).site("h9net")
    password = "h9-" + secrets.token_urlsafe(12)
    remember(password)
    pin = hostkeys.public_line(KEY_NAME)
    device = site.device("asa-h9").model_copy(update={"port": PORT, "host_key": pin})
    net = Clinic()
    try:
        net.build()
        net.start(tmp_path_factory.mktemp("h9-clinic"), password, PORT)
        yield net, device, Secret(password=password), site
    finally:
        net.destroy()


def reach() -> dict[str, bool]:
    """What the clinic reaches beyond the uplink (the operators' jump host path included)."""
    return {
        "web4": tcp_open(INSIDE, FAR4, 80), "web6": tcp_open(INSIDE, FAR6, 80),
        "https4": tcp_open(INSIDE, FAR4, 443), "https6": tcp_open(INSIDE, FAR6, 443),
        "other4": tcp_open(INSIDE, FAR4, 8080), "noc-jump": tcp_open(INSIDE, FAR4, 22),
    }


def change(net: Clinic, device: Device, secret: Secret, policy: Policy, *, confirm: bool = True) -> list[str]:
    """The executor's lifecycle for one device on the firewall's namespace thread; returns the undo lines.

    Unconfirmed, the controller "dies": its watchdog is cancelled and the session closed, so nothing of the
    controller can revert the change any more.
    """
    def run() -> list[str]:
        drv = make(device, timeout=20.0)
        drv.open(secret)
        try:
            state = drv.read_state()
            drv.load_candidate(policy, state)
            assert drv.diff().strip()
            drv.commit(CONFIRMED_REVERT)
            assert drv.has_pending_commit() and at(drv.read_state(), policy)
            if confirm:
                fresh = make(device, timeout=20.0)
                fresh.open(secret)
                try:
                    assert at(fresh.read_state(), policy)
                finally:
                    fresh.close()
                drv.confirm()
                assert not drv.has_pending_commit()
            else:
                drv._watchdog.cancel()
            return list(drv._undo)
        finally:
            drv.close()

    return net.on_firewall(run)


def driver_call(net: Clinic, device: Device, secret: Secret, fn: Any) -> Any:
    """``fn(driver)`` over a new session."""
    def run() -> Any:
        drv = make(device, timeout=20.0)
        drv.open(secret)
        try:
            return fn(drv)
        finally:
            drv.close()

    return net.on_firewall(run)


ALL_OPEN = {"web4": True, "web6": True, "https4": True, "https6": True, "other4": True, "noc-jump": True}


def test_isolate_clear_conn_stage_and_full_restore_with_packets(clinic: Setup) -> None:
    net, device, secret, site = clinic
    assert reach() == ALL_OPEN
    before = driver_call(net, device, secret, lambda d: d.snapshot())
    session = held(INSIDE, FAR4, 8080)
    try:
        assert echoes(session), "the held connection works before the cut"
        iso = compute_policy(site, "isolated")
        change(net, device, secret, iso)
        assert 'oifname "gi0" jump' in net.nft_table()
        assert reach() == {"web4": False, "web6": False, "https4": True, "https6": True, "other4": False,
                           "noc-jump": True}
        session.settimeout(2.0)
        assert echoes(session, b"kept\n"), "the ASA keeps an established connection across an ACL change"
        report = driver_call(net, device, secret, lambda d: d.clear_sessions(iso, site.inside))
        assert report.handling is SessionHandling.KEPT and report.cleared >= 1, report
        assert not echoes(session, b"after clear conn\n"), "clear conn did not end the denied connection"
    finally:
        session.close()
    change(net, device, secret, compute_policy(site, "web"))
    assert reach() == {"web4": True, "web6": True, "https4": True, "https6": True, "other4": False,
                       "noc-jump": True}
    change(net, device, secret, compute_policy(site, "normal"))
    assert reach() == ALL_OPEN
    assert driver_call(net, device, secret, lambda d: d.read_state()).is_normal
    assert driver_call(net, device, secret, lambda d: d.snapshot()) == before, "the restore left something"


def test_management_rule_dropped_is_reverted_by_the_job_on_a_second_host(clinic: Setup) -> None:
    net, device, secret, site = clinic
    iso = compute_policy(site, "isolated")
    change(net, device, secret, iso)
    assert reach()["noc-jump"]
    # a bad change: the isolated policy without its management rules, never confirmed (the controller dies)
    bad = Policy(site.name, "isolated", tuple(r for r in iso.rules if r.kind != "management"))
    undo = change(net, device, secret, bad, confirm=False)
    PendingMarker("cisco_asa", device.name).clear()  # the controller's own record dies with it here
    assert not tcp_open(INSIDE, FAR4, 22), "the bad change should cut the operators' path"
    assert tcp_open(INSIDE, FAR4, 443), "the rest of the isolated policy is in force"
    with tempfile.TemporaryDirectory(prefix="h9-revert-") as tmp:  # the revert host's job directory
        d = Path(tmp)
        there = device.model_copy(update={"mgmt_address": ASA_OUTSIDE, "options": {"revert_port": PORT}})
        for name, content in revert.files(there, 2, secret, undo, "op=h9 owner=test"):
            (d / name).write_text(content)
            (d / name).chmod(0o700 if name in ("job.sh", "askpass") else 0o600)
        started = time.monotonic()
        done = net.in_uplink(["sh", str(d / "job.sh")], timeout=120)
        took = time.monotonic() - started
        result = (d / "result").read_text().strip() if (d / "result").exists() else ""
        transcript = (d / "out").read_text(errors="replace") if (d / "out").exists() else ""
    assert done.returncode == 0 and result == "fired-ok", transcript[-2000:]
    assert secret.password not in transcript
    print(f"revert job on h9-up: fired after 2 s, done in {took:.1f} s")
    assert tcp_open(INSIDE, FAR4, 22), "the revert job did not put the management path back"
    state = driver_call(net, device, secret, lambda d: d.read_state())
    assert at(state, iso) and not state.pending_commit
    change(net, device, secret, compute_policy(site, "normal"))
    assert reach() == ALL_OPEN
