"""paloalto_panos driver against EMU2's emulated PAN-OS firewall over real SSH (netmiko's real class).

Runs DRV1's shared lifecycle suite (there the "dead-man" is this driver's controller-side watchdog), then
PAN-OS specifics: the guard refuses to commit a candidate that lost its management rules, rollback from
the named snapshot, and refusal to stage over someone else's uncommitted candidate.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from egressctl.errors import CommandRejected, CommitError
from egressctl.inventory.models import Site
from egressctl.policy import Policy, compute_policy
from tests.support import emulated_device as emu
from tests.support.lab_lifecycle import LabEmulatedLifecycleSuite, at

pytestmark = pytest.mark.skipif(not emu.available("paloalto_panos"), reason="paloalto_panos emulator missing")

SPEC = {"interfaces": {"ethernet1/1": "e1-1", "ethernet1/2": "e1-2"},
        "zones": {"trust": ["ethernet1/2"], "untrust": ["ethernet1/1"]}}


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[emu.Emulated]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EGRESSCTL_STATE_DIR", str(tmp_path_factory.mktemp("d2-pan-state")))
        with emu.serve_lab_device("fw-a", 23520, SPEC, tag="pan") as e:
            yield e


def without_management(policy: Policy) -> Policy:
    """Test-only fault: the policy as a broken rendering would see it, management rules stripped."""
    return Policy(policy.site, policy.target, tuple(r for r in policy.rules if r.kind != "management"))


class TestPanosLifecycle(LabEmulatedLifecycleSuite):
    revert_wait = 3.0  # the watchdog runs on real seconds: the suite's revert_in=3

    def rejected_line(self, drv: Any) -> None:
        drv._config(["set rulebase security rules egressctl-bad no-such-attribute 1"])

    def test_09_guard_refuses_candidate_without_management(self, drv: Any, site: Site,
                                                           emulated: emu.Emulated) -> None:
        before = drv.read_state()
        commits = emulated.handle.call(lambda: emulated.handle.device.commits)
        drv.load_candidate(without_management(compute_policy(site, "isolated")), before)
        assert drv.diff()
        with pytest.raises(CommitError) as ei:
            drv.commit(60)
        assert "management" in str(ei.value) and ei.value.device == "fw-a"
        assert emulated.handle.call(lambda: emulated.handle.device.commits) == commits, "it committed"
        assert not drv.diff(), "the refused candidate was left on the device"
        assert at(drv.read_state(), Policy(site.name, before.target, before.rules))

    def test_10_rollback_from_named_snapshot_after_confirm_window(self, drv: Any, site: Site) -> None:
        self.apply(drv, compute_policy(site, "isolated"))
        drv.confirm()
        start = drv.read_state()
        self.apply(drv, compute_policy(site, "ministry"))
        assert at(drv.read_state(), compute_policy(site, "ministry"))
        drv.rollback()
        assert at(drv.read_state(), Policy(site.name, start.target, start.rules))
        assert not drv.has_pending_commit()

    def test_11_refuses_to_stage_over_foreign_changes(self, drv: Any, site: Site) -> None:
        drv._config(["set address someone-else ip-netmask 192.0.2.1/32"])
        try:
            with pytest.raises(CommandRejected):
                drv.load_candidate(compute_policy(site, "allowlist"), drv.read_state())
            assert drv.has_pending_commit()
        finally:
            drv.discard()
        assert not drv.has_pending_commit()

    def test_12_snapshot_text_and_file(self, drv: Any) -> None:
        snap = drv.snapshot()
        assert snap.startswith("# saved on the device as egressctl-snapshot.xml")
        assert "set rulebase security rules" in snap

    def test_13_back_to_normal(self, drv: Any, site: Site) -> None:
        self.apply(drv, compute_policy(site, "normal"))
        drv.confirm()
        state = drv.read_state()
        assert state.is_normal and "egressctl-" not in state.raw
