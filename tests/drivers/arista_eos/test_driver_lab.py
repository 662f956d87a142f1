"""arista_eos driver against the emulated EOS switch over real SSH (netmiko ``arista_eos``), on loopback.

The public lifecycle suite (load in session ``egressctl``, diff, ``commit timer``, read back, a fresh session,
confirm, the timer rolling back an unconfirmed commit, abort, stages, normal, a rejected line, a wrong host
key, a wrong password), then what is EOS's own: a stale session waiting for confirmation blocks every other
commit, and ``egressctl check`` says so. Port 27702 (helper range 27700-27749); no namespaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from egressctl_drivers.arista_eos import constants as c
from egressctl_lab.testing.emulator import Emulated, available, serve_emulated, wait_until
from egressctl_lab.testing.lifecycle import EmulatedLifecycleSuite, at, make

from egressctl.check import Status
from egressctl.errors import CommitError
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from egressctl.policy import compute_policy

pytestmark = [pytest.mark.ssh,
              pytest.mark.skipif(not available("arista_eos"), reason="arista_eos emulator not available")]

INVENTORY = Path(__file__).with_name("site.yaml")
SPEC = {"interfaces": {"Ethernet1": "et1", "Ethernet2": "et2", "Vlan10": "vl10"}}
#: One device minute lasts 6 s: room for the suite's read-back and fresh-session check before it fires.
TIME_SCALE = 0.1
PORT = 27702


@pytest.fixture(scope="module")
def emulated() -> Iterator[Emulated]:
    device = load_inventory(INVENTORY).site("dist").device("dist-a")
    with serve_emulated(device, port=PORT, spec_kw=SPEC, time_scale=TIME_SCALE, tag="h8") as emu:
        yield emu


class TestAristaEosLifecycle(EmulatedLifecycleSuite):
    inventory = INVENTORY
    site_name = "dist"
    revert_wait = c.TIMER_MIN_SECONDS * TIME_SCALE

    def rejected_line(self, drv: Any) -> None:
        drv.send_config(["ip access-list H8-REJECT", "permit tcp host 10.0.0.1 eq nosuch any"])

    def test_09_diff_is_the_sessions_unified_diff(self, drv: Any, site: Site) -> None:
        """The diff is EOS's own ``show session-config named NAME diffs``; discard aborts the session."""
        state = drv.read_state()
        drv.load_candidate(compute_policy(site, "isolated"), state)
        diff = drv.diff()
        assert re.search(r"\+\+\+ session:/egressctl-[0-9a-f]{6}-session-config", diff), diff
        assert "+ip access-list EGRESSCTL-V4" in diff, diff
        assert [st for st in drv.sessions().values() if st.startswith("pending")] == ["pending"]
        assert at(drv.read_state(), compute_policy(site, "normal"))
        drv.discard()
        assert not [st for st in drv.sessions().values() if st.startswith("pending")]

    def test_10_a_stale_pending_session_blocks_commits(self, drv: Any, site: Site) -> None:
        """Another session waiting for its confirmation: EOS refuses egressctl's commit, check says why."""
        drv.send("configure session other-tool", expect_string=r"#", check=False)
        drv.send("hostname dist-a", expect_string=r"#", check=False)
        drv.send("commit timer 00:10:00", expect_string=r"dist-a#", check=False)
        try:
            results = {r.name: r for r in drv.preflight()}
            assert results["sessions"].status == Status.FAIL and "other-tool" in results["sessions"].detail
            before = drv.read_state()
            iso = compute_policy(site, "isolated")
            drv.load_candidate(compute_policy(site, "ministry") if at(before, iso) else iso, before)
            with pytest.raises(CommitError) as ei:
                drv.commit(self.revert_in)
            assert "pending commit timer" in (ei.value.device_output or ""), ei.value
            assert drv.read_state().raw == before.raw
        finally:
            drv.send("configure session other-tool abort", check=False)
            drv.discard()
        assert not drv.has_pending_commit()

    def test_11_timer_fires_without_a_session_open(self, device: Any, secret: Any, site: Site) -> None:
        """The controller is gone (its session closed): the switch still rolls back by itself."""
        d = make(device)
        d.open(secret)
        try:
            self.apply(d, compute_policy(site, "isolated"), revert_in=c.TIMER_MIN_SECONDS)
        finally:
            d.close()
        again = make(device)
        again.open(secret)
        try:
            wait = self.revert_wait + self.revert_margin
            assert wait_until(lambda: again.read_state().is_normal, wait, 0.5)
            assert not again.has_pending_commit()
        finally:
            again.close()

    def test_12_a_confirmed_change_is_saved_an_unconfirmed_one_never(self, drv: Any, site: Site) -> None:
        """A reload keeps a confirmed cut and drops an unconfirmed one: the startup-config says which."""
        def startup() -> str:
            return str(drv.send("show startup-config | section access-"))

        if not drv.read_state().is_normal:
            self.apply(drv, compute_policy(site, "normal"))
            drv.confirm()
        self.apply(drv, compute_policy(site, "isolated"))
        assert "EGRESSCTL-V4" not in startup(), "saved before the confirmation"
        drv.confirm()
        assert "ip access-group EGRESSCTL-V4 out" in startup() and drv.ensure_saved() == ""
        self.apply(drv, compute_policy(site, "normal"))
        drv.confirm()
        assert "EGRESSCTL" not in startup()
        drv.send_config(["ip access-list H8-UNSAVED", "deny ip any any"])
        assert drv.ensure_saved() == "", "site lines alone never make egressctl save"
        # a run that confirmed and died before saving: the next run's ensure_saved saves it
        self.apply(drv, compute_policy(site, "isolated"))
        drv.send(f"configure session {drv._waiting()} commit")
        assert "EGRESSCTL-V4" not in startup()
        fresh = make(drv.device)
        fresh._conn = drv._conn  # the same session: a new driver object knows nothing of the first one's save
        assert "startup-config" in fresh.ensure_saved() and "EGRESSCTL-V4" in startup()
        self.apply(drv, compute_policy(site, "normal"))
        drv.confirm()
