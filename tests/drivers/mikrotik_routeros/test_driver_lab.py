"""mikrotik_routeros driver against the emulated RouterOS router over real SSH (netmiko's own class).

The public lifecycle suite (render, arm the on-box revert, send, read back, a fresh session, confirm, the
scheduler reverting an unconfirmed change, rollback by running the script, stages, normal, a refused line,
a wrong host key, a wrong password), then what is RouterOS's own: the revert firing with no controller
session open, a reboot while a change waits (the startup item undoes it; a confirmed change survives), and
``egressctl check``. Port 27952 (helper range 27950-27999); no namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_drivers.mikrotik_routeros import constants as c
from egressctl_drivers.mikrotik_routeros.parse import filters
from egressctl_lab.testing.emulator import Emulated, available, serve_emulated, wait_until
from egressctl_lab.testing.lifecycle import EmulatedLifecycleSuite, at, make

from egressctl.check import Status
from egressctl.errors import CommandRejected, CommitError
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from egressctl.policy import compute_policy

pytestmark = [pytest.mark.ssh,
              pytest.mark.skipif(not available("mikrotik_routeros"), reason="no RouterOS emulator")]

INVENTORY = Path(__file__).with_name("site.yaml")
SPEC = {"interfaces": {"ether1": "e1", "bridge": "br0"}}
#: One device minute lasts 6 s: room for the suite's read-back and fresh-session check before it fires.
TIME_SCALE = 0.1
PORT = 27952


@pytest.fixture(scope="module")
def emulated() -> Iterator[Emulated]:
    device = load_inventory(INVENTORY).site("clinic").device("rtr-a")
    with serve_emulated(device, port=PORT, spec_kw=SPEC, time_scale=TIME_SCALE, tag="h11") as emu:
        yield emu


def _reopened(device: Any, secret: Any, timeout: float = 30.0) -> Any:
    """A driver session opened as soon as the router answers again."""
    holder: list[Any] = []

    def attempt() -> bool:
        d = make(device)
        try:
            d.open(secret)
        except Exception:
            return False
        holder.append(d)
        return True

    assert wait_until(attempt, timeout, 0.5)
    return holder[0]


class TestMikrotikRouterosLifecycle(EmulatedLifecycleSuite):
    inventory = INVENTORY
    site_name = "clinic"
    revert_wait = c.REVERT_MIN_SECONDS * TIME_SCALE

    def rejected_line(self, drv: Any) -> None:
        drv.line("/ip firewall filter add chain=forward action=drop protocol=tcp dst-port=nosuch-h11 bogus=1")

    def test_09_nothing_is_live_before_the_commit(self, drv: Any, site: Site) -> None:
        """RouterOS has no candidate: load only renders, the diff is the lines, commit arms then sends."""
        state = drv.read_state()
        iso = compute_policy(site, "isolated")
        target = compute_policy(site, "ministry") if at(state, iso) else iso
        drv.load_candidate(target, state)
        assert "egressctl jump" in drv.diff() or "jump-target=" in drv.diff()
        assert filters(drv.read_state().raw) == filters(state.raw) and not drv.has_pending_commit()
        drv.discard()

    def test_10_revert_fires_without_a_session_open(self, device: Any, secret: Any, site: Site) -> None:
        """The controller is gone (its session closed): the router's scheduler still reverts."""
        d = make(device)
        d.open(secret)
        try:
            before = d.read_state()
            iso = compute_policy(site, "isolated")
            self.apply(d, compute_policy(site, "allowlist") if at(before, iso) else iso, c.REVERT_MIN_SECONDS)
        finally:
            d.close()
        again = make(device)
        again.open(secret)
        try:
            wait = self.revert_wait + self.revert_margin
            assert wait_until(lambda: not again.has_pending_commit(), wait, 0.5)
            back = again.read_state()
            assert (back.target, back.fingerprint) == (before.target, before.fingerprint)
        finally:
            again.close()

    def test_11_a_reboot_undoes_an_unconfirmed_change_and_keeps_a_confirmed_one(
            self, device: Any, secret: Any, site: Site) -> None:
        """RouterOS saved both changes; the startup scheduler item undoes the one not confirmed."""
        d = make(device)
        d.open(secret)
        iso, stage = compute_policy(site, "isolated"), compute_policy(site, "ministry")
        if not at(d.read_state(), iso):
            self.apply(d, iso)
            d.confirm()
        self.apply(d, stage, revert_in=3600)  # the interval item would fire in an hour: only a reboot can
        assert d.has_pending_commit()
        d.conn.send_command("/system reboot", expect_string=r"\[y/N\]:")
        d.conn.write_channel("y\r\n")
        d.close()
        again = _reopened(device, secret)
        try:
            boot = 3 * TIME_SCALE + self.revert_margin
            assert wait_until(lambda: not again.has_pending_commit(), boot, 0.3)
            assert at(again.read_state(), iso), "the confirmed isolation survived the reboot"
        finally:
            again.close()

    def test_12_check_reports_an_armed_revert(self, drv: Any, site: Site) -> None:
        """``egressctl check`` says when a revert is armed, and that the jumps sit above FastTrack."""
        results = {r.name: r for r in drv.preflight()}
        assert results["safety-net-armed"].status == Status.OK
        assert results["placement"].status == Status.OK
        state = drv.read_state()
        iso = compute_policy(site, "isolated")
        self.apply(drv, compute_policy(site, "allowlist") if at(state, iso) else iso)
        try:
            results = {r.name: r for r in drv.preflight()}
            assert results["safety-net-armed"].status == Status.WARN
            again = make(drv.device)
            again._conn = drv._conn  # the same session: another run finds the armed revert on the router
            with pytest.raises(CommitError):
                again.load_candidate(iso, again.read_state())
        finally:
            drv.rollback()
        assert not drv.has_pending_commit()

    def test_13_a_refused_line_runs_the_revert_at_once(self, drv: Any, site: Site) -> None:
        """A line refused mid-change: the lines before it were live, the armed script undoes them."""
        before = drv.read_state()
        iso = compute_policy(site, "isolated")
        drv.load_candidate(compute_policy(site, "allowlist") if at(before, iso) else iso, before)
        drv._candidate.insert(3, "/ip firewall filter add chain=forward action=nosuch-h11")
        with pytest.raises(CommandRejected) as ei:
            drv.commit(self.revert_in)
        assert "input does not match" in (ei.value.device_output or "")
        after = drv.read_state()
        assert (after.target, after.fingerprint) == (before.target, before.fingerprint)
        assert not drv.has_pending_commit()
