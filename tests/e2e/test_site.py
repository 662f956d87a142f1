"""Issue 4's "what must be shown", on the whole lab site: both exits, all five platforms, real everything.

One lab (prefix ``es-``) serves the whole module; every configuration of every device is read right after
``lab up`` (the baseline) over fresh SSH sessions. The tests then run, in file order:

1. ``egressctl isolate lab --yes`` (CLI subprocess): the automatic verification says cut-confirmed, every
   canary is silent over TCP, UDP and ICMP from ws1 and srv1, always-allowed destinations answer, and a
   fresh management session reaches every device;
2. an isolate run twice sends nothing the second time;
3. ``restore --stage ministry`` then ``--stage allowlist``: each opens exactly its stage's destinations;
4. ``restore --full``: every device's configuration equals its baseline (and the journal's own snapshot);
5. faults: the management rule dropped from ce-b's rendering is rolled back (and, with the controller
   killed, Junos' own ``commit confirmed`` timer reverts it); on fw-a (PAN-OS) the guard refuses to commit;
6. resume: the CLI SIGKILLed at each step, then re-run, ends with every device isolated.

Each test leaves the site at normal, so a failure does not cascade further than the next test's set-up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from egressctl_lab.testing.emulator import wait_for_timer

from tests.conftest import lab_available
from tests.support.site_e2e_support import (
    SITE,
    Event,
    SiteLab,
    answered,
    canary_cells,
    config_diff,
    discard_junos_leftovers,
    engine_script_argv,
    flow_covers,
    matrix,
    run_until_killed,
    should_answer,
    start_lab,
    steps_of,
    with_session,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]
CHANGE_STEPS = {"snapshot", "load", "diff", "commit", "readback", "mgmt-check", "confirm", "rollback"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteLab]:
    """The lab, up for the whole module, with every device's baseline configuration recorded."""
    if not lab_available():
        pytest.skip("network namespaces are not available")
    sl = start_lab(tmp_path_factory.mktemp("es-state"))
    try:
        sl.baseline = sl.snapshots()
        yield sl
    finally:
        sl.lab.down()


def isolate(site: SiteLab, *extra: str) -> tuple[int, list[Event], Event]:
    """``egressctl isolate lab --yes --json [extra]``."""
    return site.cli_json("isolate", SITE, "--yes", *extra)


def back_to_normal(site: SiteLab) -> None:
    """``restore --full`` without verification (a test's clean-up), asserting it worked."""
    rc, _, res = site.cli_json("restore", SITE, "--full", "--yes", "--no-verify")
    assert rc == 0 and res["state"] == "normal", res["message"]


def assert_all_at(site: SiteLab, target: str) -> None:
    """Every device, read over a fresh management session, holds ``target`` with nothing pending."""
    states = site.read_states()
    got = {n: (s.target, s.pending_commit) for n, s in states.items()}
    assert got == {d.name: (target, False) for d in site.devices}


# --- 1. the cut -------------------------------------------------------------------------------------------
def test_isolate_cuts_every_exit(site: SiteLab) -> None:
    rc, events, res = isolate(site)
    assert rc == 0, res["message"]
    assert res["outcome"] == "ok" and res["state"] == "isolated"
    assert {d["device"]: d["after"] for d in res["devices"]} == {d.name: "isolated" for d in site.devices}
    ver = res["verification"]
    assert ver["verdict"] == "cut-confirmed", ver["summary"]
    cells = matrix(ver)
    per_canary = canary_cells(site.site, cells)
    for vp in site.site.vantage_points:
        for canary in site.site.canaries:
            if not any(a.version == canary.address.version for a in vp.addresses):
                continue
            protos = {"tcp": canary.tcp, "udp": canary.udp, "icmp": [0] if canary.icmp else []}
            for proto, ports in protos.items():
                probes = per_canary.get((vp.name, canary.name, proto), [])
                assert {c["port"] for c in probes} == set(ports), (vp.name, canary.name, proto)
                assert all(c["observed"] != "answered" for c in probes), probes
    assert answered(cells) == should_answer(site.site, "isolated", cells)
    assert any(c["purpose"].startswith("allowed:") for c in cells if c["observed"] == "answered")
    # The management paths: the executor's fresh-session check passed on every device, and so does ours.
    assert {(d, "mgmt-check", "ok") for d in (x.name for x in site.devices)} <= set(steps_of(events))
    assert_all_at(site, "isolated")


# --- 4 (issue order). idempotence -------------------------------------------------------------------------
def test_isolate_twice_sends_nothing(site: SiteLab) -> None:
    rc, _, _ = isolate(site, "--no-verify")
    assert rc == 0
    rc, events, res = isolate(site, "--no-verify")
    assert rc == 0 and res["outcome"] == "noop", res["message"]
    sent = [s for s in steps_of(events) if s[1] in CHANGE_STEPS]
    assert sent == [], f"the second isolate sent something: {sent}"
    assert not [e for e in events if e.get("event") == "CommitPending"]
    done = {(d, status) for d, step, status in steps_of(events) if step == "done"}
    assert done == {(d.name, "skipped") for d in site.devices}
    with site.engine() as eng:  # the journal agrees with the stream
        journal_steps = {r.step for r in eng.journal.steps(res["op_id"])}
    assert journal_steps.isdisjoint(CHANGE_STEPS), journal_steps


# --- 2. staged restore, then full -------------------------------------------------------------------------
@pytest.mark.parametrize("stage", ["ministry", "allowlist"])
def test_restore_stage_opens_exactly_its_destinations(site: SiteLab, stage: str) -> None:
    if stage == "ministry":
        rc, _, res = isolate(site, "--no-verify")
        assert rc == 0, res["message"]
    rc, _, res = site.cli_json("restore", SITE, "--stage", stage, "--yes")
    assert rc == 0, res["message"]
    assert res["outcome"] == "ok" and res["state"] == f"stage:{stage}"
    ver = res["verification"]
    assert ver["ok"], ver["summary"]
    cells = matrix(ver)
    opened = answered(cells)
    assert opened == should_answer(site.site, stage, cells)
    new_flows = [f for s in site.site.stages if s.name == stage for f in s.allow]
    for flow in new_flows:  # each flow the stage adds answered at least one probe (the saas canary, ...)
        assert any(flow_covers(flow, dst, proto, port) for _, dst, proto, port in opened), flow.name
    assert_all_at(site, stage)


def test_restore_full_returns_every_device_to_its_original_configuration(site: SiteLab) -> None:
    rc, _, res = site.cli_json("restore", SITE, "--full", "--yes")
    assert rc == 0, res["message"]
    assert res["state"] == "normal" and res["verification"]["verdict"] == "normal-ok"
    after = site.snapshots()
    diffs = {n: config_diff(site.baseline[n], after[n], n) for n in site.baseline}
    assert {n: d for n, d in diffs.items() if d} == {}, "\n".join(d for d in diffs.values() if d)
    with site.engine() as eng:  # the journal's snapshot, taken by the first isolate, is the same text
        first = next(o for o in reversed(eng.journal.operations(SITE, limit=100))
                     if o.kind == "isolate" and eng.journal.snapshots(o.op_id))
        journaled = eng.journal.snapshots(first.op_id)
    for name, text in journaled.items():
        assert not config_diff(text, after[name], name)


# --- 3. faults --------------------------------------------------------------------------------------------
def _fault_run(site: SiteLab, device: str) -> Any:
    from egressctl.engine import TestFaults

    with site.engine() as eng:
        res = eng.isolate(SITE, verify=False, faults=TestFaults(drop_management_on={device}))
        steps = [(r.step, r.status, r.detail) for r in eng.journal.steps(res.op_id) if r.device == device]
    return res, steps


def test_fault_management_dropped_on_junos_is_reverted(site: SiteLab) -> None:
    before, was = site.snapshots()["ce-b"], site.read_states()["ce-b"].target
    res, steps = _fault_run(site, "ce-b")
    try:
        assert res.exit_code == 5 and res.outcome == "partial", res.message
        dev = {d.device: d for d in res.devices}
        assert dev["ce-b"].outcome == "rolled-back" and dev["ce-b"].failed_step in ("readback", "mgmt-check")
        assert "ce-b" in res.message
        assert ("commit", "ok") in [(s, st) for s, st, _ in steps]
        assert ("confirm", "started") not in [(s, st) for s, st, _ in steps], "a lockout was confirmed"
        assert all(d.outcome == "changed" for n, d in dev.items() if n != "ce-b")
        states = site.read_states()  # fresh sessions: the operator still gets in everywhere
        assert (states["ce-b"].target, states["ce-b"].pending_commit) == (was, False)
        assert not config_diff(before, site.snapshots()["ce-b"], "ce-b")
    finally:
        back_to_normal(site)


def test_fault_dead_man_switch_reverts_when_the_controller_dies(site: SiteLab) -> None:
    """Kill the controller right after ce-b's faulty commit: only Junos' own timer can undo it."""
    before, was = site.snapshots()["ce-b"], site.read_states()["ce-b"].target
    argv = engine_script_argv(site, "isolate('lab', verify=False, devices=['ce-b'], revert_in=60, "
                                    "faults=TestFaults(drop_management_on={'ce-b'}), sink=JsonLines())")
    hit, rc, _ = run_until_killed(
        site, argv, lambda e: e.get("event") == "CommitPending" and e.get("device") == "ce-b")
    armed = time.monotonic()
    try:
        assert hit is not None and rc == -9, f"never saw ce-b's commit (rc={rc})"
        ce_b = next(d for d in site.devices if d.name == "ce-b")
        state = with_session(ce_b, lambda drv: drv.read_state())
        assert state.pending_commit, "the faulty commit should be waiting for its confirmation"

        def reverted() -> bool:
            nonlocal state
            state = with_session(ce_b, lambda drv: drv.read_state())
            return not state.pending_commit

        # commit confirmed 1 (minute) at the lab's time scale: due 60 * 0.25 = 15 s after the commit
        wait_for_timer(reverted, armed_at=armed, due_after=60 * site.lab.time_scale, margin=105, interval=0.5)
        assert (state.target, state.pending_commit) == (was, False), "the dead-man switch did not fire"
        assert not config_diff(before, site.snapshots()["ce-b"], "ce-b")
    finally:
        back_to_normal(site)  # also resumes (closes) the killed operation in the journal


def test_fault_panos_guard_refuses_to_commit(site: SiteLab) -> None:
    before, was = site.snapshots()["fw-a"], site.read_states()["fw-a"].target
    res, steps = _fault_run(site, "fw-a")
    try:
        assert res.exit_code == 5 and res.outcome == "partial", res.message
        dev = {d.device: d for d in res.devices}["fw-a"]
        assert dev.outcome == "failed" and dev.failed_step == "commit", dev
        assert "management" in dev.error and "refus" in dev.error, dev.error
        assert ("commit", "ok") not in [(s, st) for s, st, _ in steps]
        states = site.read_states()
        assert (states["fw-a"].target, states["fw-a"].pending_commit) == (was, False)
        assert not config_diff(before, site.snapshots()["fw-a"], "fw-a")
    finally:
        back_to_normal(site)


# --- 5. resume after an interruption at each step ---------------------------------------------------------
def _loaded_on(device: str) -> Any:
    """Kill once ``device`` loaded its candidate (before its commit): Junos and PAN-OS hold a candidate."""
    def match(e: Event) -> bool:
        return (e.get("event"), e.get("device"), e.get("step"), e.get("status")) == (
            "DeviceStep", device, "load", "ok")
    return match


def _killed_commit_pending(e: Event) -> bool:
    return e.get("event") == "CommitPending"


def _killed_confirmed(e: Event) -> bool:
    return e.get("event") == "DeviceStep" and e.get("step") == "confirm" and e.get("status") == "ok"


class _AllDone:
    """Kill once every device reported ``done``: the operation is then verifying (probes running)."""

    def __init__(self, n: int) -> None:
        self.n, self.done = n, set[str]()

    def __call__(self, e: Event) -> bool:
        if e.get("event") == "DeviceStep" and e.get("step") == "done":
            self.done.add(str(e["device"]))
        return len(self.done) == self.n


POINTS = ["before-commit:ce-b", "before-commit:fw-a", "commit-pending", "confirmed", "verifying"]


@pytest.mark.parametrize("point", POINTS)
def test_interrupted_isolate_resumes(site: SiteLab, point: str) -> None:
    """SIGKILL ``isolate`` when the event stream shows ``point``, re-run it, check every device.

    Devices run in parallel, so the others are wherever they got to: ``before-commit:X`` kills when X
    has loaded its candidate, ``commit-pending`` at the first armed dead-man switch, ``confirmed`` at the
    first confirm, ``verifying`` once every device is done (the probes are running).
    """
    match = {"before-commit:ce-b": _loaded_on("ce-b"), "before-commit:fw-a": _loaded_on("fw-a"),
             "commit-pending": _killed_commit_pending, "confirmed": _killed_confirmed,
             "verifying": _AllDone(len(site.devices))}[point]
    hit, rc, _ = run_until_killed(site, site.argv("isolate", SITE, "--yes", "--json"), match)
    try:
        assert hit is not None and rc == -9, f"the run ended (rc={rc}) before reaching {point}"
        status = site.cli("status", SITE, "--json")
        doc = json.loads(status.stdout)
        assert doc["running"], doc
        killed_op = doc["operation"]["op_id"]
        rc, _, res = isolate(site)
        assert rc == 0, res["message"]
        assert res["resumed"] == killed_op and res["state"] == "isolated"
        assert {d["device"]: d["after"] for d in res["devices"]} == {d.name: "isolated" for d in site.devices}
        assert res["verification"]["verdict"] == "cut-confirmed", res["verification"]["summary"]
        assert_all_at(site, "isolated")
        assert site.cli("history", "--verify").returncode == 0
    finally:
        discard_junos_leftovers(site)
        back_to_normal(site)
