"""juniper_junos driver against the emulated SRX over real SSH (netmiko ``juniper_junos``) (DRV1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from egressctl_lab.testing.emulator import wait_until

from egressctl.errors import CommitError
from egressctl.inventory.credentials import Secret
from egressctl.inventory.models import Device
from egressctl.policy import compute_policy
from tests.support import emulated_device as emu
from tests.support.lab_lifecycle import LabEmulatedLifecycleSuite, at, lab_site, make

pytestmark = pytest.mark.skipif(not emu.available("juniper_junos"), reason="no juniper_junos emulator")

SPEC = {"interfaces": {"ge-0/0/0": "ge0", "ge-0/0/1": "ge1"},
        "zones": {"untrust": ["ge-0/0/0.0"], "trust": ["ge-0/0/1.0"]}}
POLICIES = "show configuration security policies"


@pytest.fixture(scope="module")
def emulated() -> Iterator[emu.Emulated]:
    with emu.serve_lab_device("ce-b", 23430, SPEC, tag="junos") as e:
        yield e


class TestJuniperJunosLifecycle(LabEmulatedLifecycleSuite):
    revert_wait = 60 * emu.TIME_SCALE["juniper_junos"]

    def rejected_line(self, drv: Any) -> None:
        drv._config_mode()
        try:
            drv.send_config(["set security policies d1-no-such-keyword x"], exit_config_mode=False,
                            enter_config_mode=False)
        finally:
            drv.discard()

    def test_09_owned_policies_precede_the_site_policy(self, drv: Any, site: Any) -> None:
        from egressctl.policy import compute_policy

        self.apply(drv, compute_policy(site, "isolated"))
        drv.confirm()
        names = drv.send("show configuration security policies | display set").split()
        order = list(dict.fromkeys(n for i, n in enumerate(names) if i and names[i - 1] == "policy"))
        site_first = next(i for i, n in enumerate(order) if not n.startswith("egressctl-"))
        assert all(n.startswith("egressctl-") for n in order[:site_first]) and site_first > 0
        assert not any(n.startswith("egressctl-") for n in order[site_first:])
        self.apply(drv, compute_policy(site, "normal"))
        drv.confirm()

    # -- a controller killed between load and commit leaves the shared candidate dirty ---------------------
    def _leave_loaded(self, device: Device, secret: Secret, target: str, extra: list[str]) -> None:
        """What a killed run leaves: ``target`` (plus ``extra`` lines) loaded, uncommitted, session gone."""
        site = lab_site()
        killed = make(device)
        killed.open(secret)
        try:
            killed.load_candidate(compute_policy(site, target), killed.read_state())
            if extra:
                killed.send_config(extra, exit_config_mode=False, enter_config_mode=False)
        finally:
            killed._conn.disconnect()  # no discard, no commit: the candidate stays as it is
            killed._conn = None
            killed.close()

    def test_10_own_leftovers_are_discarded_and_the_change_resumes(
        self, drv: Any, device: Device, secret: Secret, site: Any
    ) -> None:
        if not drv.read_state().is_normal:
            self.apply(drv, compute_policy(site, "normal"))
            drv.confirm()
        before = drv.snapshot()
        self._leave_loaded(device, secret, "isolated", [])
        with pytest.raises(CommitError):  # strict entry (as for commit, diff) never drops anything
            drv._config_mode()
        iso = compute_policy(site, "isolated")
        state = drv.read_state()
        assert state.is_normal and not state.pending_commit  # nothing was committed
        drv.load_candidate(iso, state)  # discards the leftovers (rollback 0), loads its own lines
        drv.commit(60)
        drv.confirm()
        assert at(drv.read_state(), iso)
        # and the other way: a killed restore to normal leaves egressctl's deletions loaded
        self._leave_loaded(device, secret, "normal", [])
        normal = compute_policy(site, "normal")
        self.apply(drv, normal)
        drv.confirm()
        assert drv.read_state().is_normal and drv.snapshot() == before  # also: no empty address book

    def test_11_someone_elses_uncommitted_changes_are_still_refused(
        self, drv: Any, device: Device, secret: Secret, site: Any
    ) -> None:
        self._leave_loaded(device, secret, "isolated", ["set system host-name fr-someone-else"])
        try:
            with pytest.raises(CommitError, match="someone else"):
                drv.load_candidate(compute_policy(site, "isolated"), drv.read_state())
            assert drv.read_state().is_normal
        finally:
            conn = drv.conn
            conn.config_mode()
            conn.send_command("rollback 0", expect_string=r"#", read_timeout=30)
            conn.exit_config_mode()

    def test_12_a_confirmed_change_rolls_back_to_before_it(self, drv: Any, site: Any) -> None:
        """The confirming ``commit`` is one more history entry: a rollback after it goes two back (seed
        4279743728 of the fault campaign: ``rollback 1`` left the new target in place)."""
        assert drv.read_state().is_normal
        self.apply(drv, compute_policy(site, "isolated"))
        drv.confirm()
        assert drv.read_state().target == "isolated"
        drv.rollback()
        state = drv.read_state()
        assert state.is_normal and not state.pending_commit

    # -- a read-back taken while the dead-man switch fires ------------------------------------------------
    def test_13_a_read_that_the_dead_man_rollback_splits_is_taken_again(
        self, drv: Any, device: Device, secret: Secret, site: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The SRX's own rollback of an unconfirmed commit lands between the read-back's commands: the
        policies were read before it, the address book and applications after it. The driver reads again
        and returns the state after the rollback (before: ParseError, "address ... is not in the address
        book read back", the e2e test's JUNOS_PENDING_READ)."""
        assert drv.read_state().is_normal
        self.apply(drv, compute_policy(site, "isolated"), revert_in=self.short_revert_in)
        sent: list[str] = []
        send = drv.send

        def split_by_the_rollback(cmd: str, *args: Any, **kw: Any) -> str:
            out = str(send(cmd, *args, **kw))
            sent.append(cmd)
            if cmd.startswith(POLICIES) and [c for c in sent if c.startswith(POLICIES)] == [cmd]:
                assert "policy egressctl-" in out  # read while the commit confirmed waits
                assert rolled_back(device, secret, self.revert_wait + self.revert_margin), "no rollback came"
            return out

        monkeypatch.setattr(drv, "send", split_by_the_rollback)
        state = drv.read_state()
        assert state.is_normal and not state.pending_commit, state
        reads = [cmd for cmd in sent if cmd.startswith(POLICIES)]
        assert len(reads) == 2, sent  # the split read, then the read taken again


def rolled_back(device: Device, secret: Secret, within: float) -> bool:
    """Whether the pending commit rolled back within ``within`` s, seen from a session of its own."""
    d = make(device)
    d.open(secret)
    try:
        return wait_until(lambda: not d.has_pending_commit(), within, interval=0.3)
    finally:
        d.close()
