"""Drift: what the journal expects of each device, and a read-back compared with it (egressctl.drift).

The expectations come from real operations over the engine double (real SQLite journal): a clean isolation,
a scoped one, a partial one, an all-or-nothing restore rolled back, a crash half-way, a failed rollback.
The comparison is pure: device states built by hand stand for a device edited by hand, a marker changed,
a device emptied, and an inventory whose policy changed since the device was set.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from egressctl.drift import DRIFT, IN_SYNC, STALE, UNKNOWN, Expected, compare, expected_targets
from egressctl.driver import DeviceState
from egressctl.engine import Engine
from egressctl.errors import CommitError, ConfirmError, RollbackError
from egressctl.inventory.models import Site
from egressctl.policy import Rule, compute_policy, fingerprint
from tests.support.engine_double import PASSWORD, FakeNet, SimulatedCrash, write_inventory

DEVICES = ["dev1", "dev2", "dev3", "dev4"]


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGTEST_PASSWORD", PASSWORD)


@pytest.fixture
def net() -> FakeNet:
    return FakeNet()


@pytest.fixture
def eng(tmp_path: Path, net: FakeNet) -> Engine:
    return Engine(write_inventory(tmp_path), state_dir=tmp_path / "state", driver_factory=net.factory)


def expected(eng: Engine) -> dict[str, str | None]:
    return {d: e.target for d, e in expected_targets(eng.journal, "hq", DEVICES).items()}


def site(eng: Engine) -> Site:
    return eng.site("hq")


# --- what the journal expects ---------------------------------------------------------------------------
def test_never_operated_devices_should_hold_nothing(eng: Engine) -> None:
    found = expected_targets(eng.journal, "hq", DEVICES)
    assert {e.target for e in found.values()} == {"normal"}
    assert "no operation" in found["dev1"].why


def test_isolation_then_a_scoped_restore(eng: Engine) -> None:
    assert eng.isolate("hq", verify=False).exit_code == 0
    assert set(expected(eng).values()) == {"isolated"}
    assert eng.restore("hq", stage="ministry", devices=["dev2"], verify=False).exit_code == 0
    assert expected(eng) == {"dev1": "isolated", "dev2": "ministry", "dev3": "isolated", "dev4": "isolated"}


def test_a_noop_rerun_still_says_where_the_device_is(eng: Engine) -> None:
    eng.isolate("hq", verify=False)
    assert eng.isolate("hq", verify=False).outcome == "noop"
    assert set(expected(eng).values()) == {"isolated"}


def test_a_device_that_failed_keeps_what_it_had(eng: Engine, net: FakeNet) -> None:
    net.fail[("dev2", "commit")] = CommitError("dev2", "refused")
    assert eng.isolate("hq", verify=False).outcome == "partial"
    assert expected(eng) == {"dev1": "isolated", "dev2": "normal", "dev3": "isolated", "dev4": "isolated"}


def test_a_restore_rolled_back_leaves_every_device_cut(eng: Engine, net: FakeNet) -> None:
    eng.isolate("hq", verify=False)
    net.fail[("dev3", "confirm")] = ConfirmError("dev3", "refused")
    assert eng.restore("hq", stage="ministry", verify=False).outcome == "rolled-back"
    assert set(expected(eng).values()) == {"isolated"}


def test_a_crash_half_way_is_unknown(eng: Engine, net: FakeNet) -> None:
    net.crash = ("dev3", "commit", "after", 1)
    with pytest.raises(SimulatedCrash):
        eng.isolate("hq", verify=False)
    found = expected_targets(eng.journal, "hq", DEVICES)
    assert found["dev3"].target is None and "stopped at commit" in found["dev3"].why


def test_a_failed_rollback_is_unknown(eng: Engine, net: FakeNet) -> None:
    net.fail[("dev1", "confirm")] = ConfirmError("dev1", "refused")
    net.fail[("dev1", "rollback")] = RollbackError("dev1", "refused too")
    eng.isolate("hq", verify=False)
    found = expected_targets(eng.journal, "hq", ["dev1"])
    assert found["dev1"].target is None and "rollback failed" in found["dev1"].why


def test_a_refused_operation_changes_no_expectation(eng: Engine, net: FakeNet) -> None:
    eng.isolate("hq", verify=False)
    box = net.box("dev2")  # another controller's unconfirmed change waits on dev2
    box.state = DeviceState("ministry", "f" * 12, (), pending_commit=True, op_id="elsewhere-1", owner="b:1")
    assert eng.restore("hq", stage="ministry", verify=False).outcome == "refused"
    assert set(expected(eng).values()) == {"isolated"}


def test_a_journal_without_device_states_is_read_from_the_steps(eng: Engine, net: FakeNet,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    eng.isolate("hq", verify=False)
    eng.restore("hq", stage="ministry", devices=["dev1"], verify=False)
    net.box("dev2").state = DeviceState("ministry", "f" * 12, (), pending_commit=True, op_id="elsewhere-1")
    eng.restore("hq", stage="ministry", verify=False)  # refused: its skipped devices were left untouched
    monkeypatch.setattr(eng.journal, "device_states", lambda site: {})
    assert expected(eng) == {"dev1": "ministry", "dev2": "isolated", "dev3": "isolated", "dev4": "isolated"}


# --- comparing a read-back -------------------------------------------------------------------------------
def held(eng: Engine, target: str) -> DeviceState:
    """What a device that was set to ``target`` (and never touched since) reads back as."""
    pol = compute_policy(site(eng), target)
    return DeviceState(target, pol.fingerprint(), pol.rules)


def test_in_sync(eng: Engine) -> None:
    d = compare("dev1", site(eng), Expected("isolated", ""), held(eng, "isolated"))
    assert (d.status, d.diff) == (IN_SYNC, ())
    assert compare("dev1", site(eng), Expected("normal", ""), DeviceState("normal", "", ())).status == IN_SYNC


def test_a_rule_added_by_hand_is_drift_with_its_diff(eng: Engine) -> None:
    st = held(eng, "isolated")
    opened = Rule("stage-handmade", "stage", "permit", "tcp", (), (ipaddress.ip_network("192.0.2.80/32"),))
    edited = DeviceState(st.target, st.fingerprint, (opened, *st.rules))  # the marker still says isolated
    d = compare("dev1", site(eng), Expected("isolated", ""), edited)
    assert d.status == DRIFT and "edited by hand" in d.detail
    assert "-v4 permit tcp 0.0.0.0/0 -> 192.0.2.80/32" in d.diff
    assert not any(ln.startswith("+") for ln in d.diff), "nothing of the target is missing"


def test_a_deny_removed_by_hand_is_drift(eng: Engine) -> None:
    st = held(eng, "isolated")
    edited = DeviceState(st.target, st.fingerprint, tuple(r for r in st.rules if r.action != "deny"))
    d = compare("dev1", site(eng), Expected("isolated", ""), edited)
    assert d.status == DRIFT
    assert d.diff == ("+v4 deny any 0.0.0.0/0 -> 0.0.0.0/0", "+v6 deny any ::/0 -> ::/0")


def test_a_device_emptied_or_filled_behind_the_journal(eng: Engine) -> None:
    empty = compare("dev1", site(eng), Expected("isolated", ""), DeviceState("normal", "", ()))
    assert empty.status == DRIFT and "none of egressctl's objects" in empty.detail
    assert empty.diff and all(ln.startswith("+") for ln in empty.diff)
    filled = compare("dev1", site(eng), Expected("normal", "no operation"), held(eng, "isolated"))
    assert filled.status == DRIFT and all(ln.startswith("-") for ln in filled.diff)


def test_a_marker_changed_by_hand(eng: Engine) -> None:
    st = held(eng, "isolated")
    moved = DeviceState("ministry", st.fingerprint, st.rules)
    d = compare("dev1", site(eng), Expected("isolated", ""), moved)
    assert d.status == DRIFT and "marker" in d.detail and d.diff == ()


def test_another_target_than_the_journals(eng: Engine) -> None:
    d = compare("dev1", site(eng), Expected("isolated", ""), held(eng, "ministry"))
    assert d.status == DRIFT and "it holds ministry, not isolated" in d.detail
    assert any(ln.startswith("-") and "203.0.113.20" in ln for ln in d.diff)


def test_an_inventory_changed_since_is_stale_not_drift(eng: Engine) -> None:
    old = held(eng, "isolated")
    smaller = tuple(r for r in old.rules if r.kind != "always")
    was = DeviceState("isolated", fingerprint(smaller), smaller)  # set before dns-fwd was always allowed
    d = compare("dev1", site(eng), Expected("isolated", ""), was)
    assert d.status == STALE and "re-run" in d.detail
    assert any(ln.startswith("+") and "203.0.113.53" in ln for ln in d.diff)


def test_unknown_expectations(eng: Engine) -> None:
    st = held(eng, "isolated")
    assert compare("dev1", site(eng), Expected(None, "it stopped"), st).status == UNKNOWN
    gone = compare("dev1", site(eng), Expected("stage-removed", ""), st)
    assert gone.status == UNKNOWN and "no longer" in gone.detail


def test_long_diffs_are_cut(eng: Engine) -> None:
    many = tuple(Rule(f"stage-x{i}", "stage", "permit", "tcp", (),
                      (ipaddress.ip_network(f"198.51.100.{i}/32"),)) for i in range(60))
    d = compare("dev1", site(eng), Expected("normal", ""), DeviceState("isolated", fingerprint(many), many))
    assert len(d.diff) == 41 and d.diff[-1] == "... 20 more"
    assert d.to_dict()["diff"] == list(d.diff)
