"""arista_eos: isolate, stages and full restore on the emulated switch, proven with packets; the management
rule dropped by a bad change and the switch's own commit timer putting it back.

The driver (netmiko ``arista_eos``, the executor's lifecycle: read, load, diff, commit with a timer, read
back, a fresh session, confirm) changes the EOS emulator running in namespace ``h8-sw``, whose ACLs are real
nftables rules there (:mod:`tests.drivers.arista_eos.closet_netns`). Packets from the closet (``h8-in``)
toward the far side of the uplink (``h8-up``) show what the ACL lets through; a connection held open across
the cut shows that none outlives it (stateless ACLs). Namespace prefix ``h8-``, port 27720.
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
from tests.drivers.arista_eos.closet_netns import INSIDE, KEY_NAME, UPLINK, Closet, echoes, held, tcp_open
from tests.support.emulator_in_netns import lab_available

pytestmark = [pytest.mark.lab, pytest.mark.slow,
              pytest.mark.skipif(not lab_available(), reason="needs root, ip and nft")]

INVENTORY = Path(__file__).with_name("netns_site.yaml")
PORT = 27720
SCALE = 0.1  # one device minute = 6 s
CONFIRMED_REVERT = 600  # the timer of changes the test confirms: 60 s real, never reached
SERVER, FAR4, FAR6 = "10.77.1.2", "10.77.2.2", "fd77:2::2"


@pytest.fixture(scope="module")
def closet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Closet, Device, Secret, Site]]:
    site = load_inventory(INVENTORY).site("h8net")
    password = "h8-" + secrets.token_urlsafe(12)
    remember(password)
    pin = hostkeys.public_line(KEY_NAME)
    device = site.device("sw-h8").model_copy(update={"port": PORT, "host_key": pin})
    net = Closet()
    try:
        net.build()
        net.start(tmp_path_factory.mktemp("h8-closet"), password, PORT, SCALE)
        yield net, device, Secret(password=password), site
    finally:
        net.destroy()


def reach() -> dict[str, bool]:
    """What the closet reaches beyond the uplink, and whether the NOC reaches the server inside."""
    return {
        "web4": tcp_open(INSIDE, FAR4, 80), "web6": tcp_open(INSIDE, FAR6, 80),
        "https4": tcp_open(INSIDE, FAR4, 443), "https6": tcp_open(INSIDE, FAR6, 443),
        "other4": tcp_open(INSIDE, FAR4, 8080), "noc-ssh": tcp_open(UPLINK, SERVER, 22),
    }


def change(net: Closet, device: Device, secret: Secret, policy: Policy, *, confirm: bool = True,
           revert_in: int = CONFIRMED_REVERT) -> None:
    """The executor's lifecycle for one device, on the switch's namespace thread."""
    def run() -> None:
        drv = make(device, timeout=20.0)
        drv.open(secret)
        try:
            state = drv.read_state()
            drv.load_candidate(policy, state)
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
                assert not drv.has_pending_commit()
        finally:
            drv.close()

    net.on_switch(run)


def read(net: Closet, device: Device, secret: Secret, what: str = "state") -> Any:
    """``read_state()`` (or ``snapshot()``) over a new session."""
    def run() -> Any:
        drv = make(device, timeout=20.0)
        drv.open(secret)
        try:
            return drv.read_state() if what == "state" else drv.snapshot()
        finally:
            drv.close()

    return net.on_switch(run)


ALL_OPEN = {"web4": True, "web6": True, "https4": True, "https6": True, "other4": True, "noc-ssh": True}


def test_isolate_stage_and_full_restore_with_packets(closet: tuple[Closet, Device, Secret, Site]) -> None:
    net, device, secret, site = closet
    assert reach() == ALL_OPEN
    before = read(net, device, secret, "snapshot")
    session = held(INSIDE, FAR4, 8080)
    try:
        assert echoes(session), "the held session works before the cut"
        change(net, device, secret, compute_policy(site, "isolated"))
        assert "EGRESSCTL-V4" not in net.nft_table() and 'oifname "et1"' in net.nft_table()
        assert reach() == {"web4": False, "web6": False, "https4": True, "https6": True, "other4": False,
                           "noc-ssh": True}
        session.settimeout(2.0)
        assert not echoes(session, b"after the cut\n"), "a session outlived the cut (stateless ACL)"
    finally:
        session.close()
    change(net, device, secret, compute_policy(site, "web"))
    assert reach() == {"web4": True, "web6": True, "https4": True, "https6": True, "other4": False,
                       "noc-ssh": True}
    change(net, device, secret, compute_policy(site, "normal"))
    assert reach() == ALL_OPEN
    assert read(net, device, secret).is_normal
    assert read(net, device, secret, "snapshot") == before, "the full restore left something behind"


def test_management_rule_dropped_is_reverted_by_the_commit_timer(
        closet: tuple[Closet, Device, Secret, Site]) -> None:
    net, device, secret, site = closet
    iso = compute_policy(site, "isolated")
    change(net, device, secret, iso)
    assert reach()["noc-ssh"]
    # a bad change: the isolated policy without its management rules, left unconfirmed (the controller dies)
    bad = Policy(site.name, "isolated", tuple(r for r in iso.rules if r.kind != "management"))
    change(net, device, secret, bad, confirm=False, revert_in=60)
    armed = time.monotonic()
    assert not tcp_open(UPLINK, SERVER, 22), "the bad change should cut the NOC's path"
    assert tcp_open(INSIDE, FAR4, 443), "the rest of the isolated policy is in force"
    back = wait_for_timer(lambda: tcp_open(UPLINK, SERVER, 22), armed_at=armed, due_after=60 * SCALE)
    assert back, "the commit timer did not put the management path back"
    state = read(net, device, secret)
    assert at(state, iso) and not state.pending_commit
    change(net, device, secret, compute_policy(site, "normal"))
    assert reach() == ALL_OPEN
