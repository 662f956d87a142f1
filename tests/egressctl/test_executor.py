"""The executor over the Driver-Protocol test double, driven directly (no engine, no journal).

Each device is planned again against the state read on its own session; an isolation ends the sessions the
cut denies on drivers that can (the ``sessions`` step), never on a restore, and a failure to end them keeps
the cut. Site-level rules: isolation is fail-closed, a restore is all-or-nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from egressctl.driver import DeviceState
from egressctl.errors import CommitError, DeviceError
from egressctl.events import DeviceStep, Event
from egressctl.executor import Execution, Executor
from egressctl.inventory import parse_inventory
from egressctl.inventory.models import Site
from egressctl.planner import TestFaults, plan
from egressctl.policy import compute_policy
from tests.support.engine_double import PASSWORD, FakeNet, NoSessionKill, inventory_yaml, targets


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGTEST_PASSWORD", PASSWORD)


@pytest.fixture
def site() -> Site:
    return parse_inventory(inventory_yaml(devices=3)).sites[0]


class Run:
    """One executor run's events and result."""

    def __init__(self, site: Site, net: FakeNet, target: str, faults: TestFaults | None = None) -> None:
        self.events: list[Event] = []
        drivers = {d.name: net.factory(d) for d in site.devices}
        p = plan(site, compute_policy(site, target), drivers, faults=faults)  # offline, as the engine does
        self.execution: Execution = Executor(
            site, p, "op", factory=net.factory, emit=self.events.append, snapshot=lambda dev, text: None,
            all_or_nothing=target != "isolated",
        ).run()

    def steps(self, device: str) -> list[tuple[str, str]]:
        return [(e.step.value, e.status.value) for e in self.events
                if isinstance(e, DeviceStep) and e.device == device]

    def step(self, device: str, step: str, status: str = "ok") -> DeviceStep:
        [found] = [e for e in self.events if isinstance(e, DeviceStep) and e.device == device
                   and e.step.value == step and e.status.value == status]
        return found

    def result(self, device: str) -> Any:
        return next(r for r in self.execution.results if r.device == device)


def test_isolation_steps_in_order_with_sessions_last(site: Site) -> None:
    run = Run(site, FakeNet(), "isolated")
    started = [s for s, st in run.steps("dev1") if st == "started"]
    assert started == ["connect", "read-state", "snapshot", "load", "diff", "commit", "readback",
                       "mgmt-check", "confirm", "sessions"]
    assert run.steps("dev1")[-1] == ("done", "ok")


def test_sessions_step_carries_the_report(site: Site) -> None:
    net = FakeNet()
    net.box("dev2").sessions = 4
    run = Run(site, net, "isolated")
    ev = run.step("dev2", "sessions")
    assert ev.detail == "4 matched, 4 cleared (kept)"
    assert ev.data["sessions"] == {"ok": True, "handling": "kept", "matched": 4, "cleared": 4,
                                   "detail": "cleared 4 on dev2"}
    assert run.result("dev2").sessions == ev.data["sessions"] and net.box("dev2").sessions == 0
    assert run.execution.outcome == "ok" and run.execution.warnings == []


def test_restore_ends_no_sessions(site: Site) -> None:
    net = FakeNet()
    Run(site, net, "isolated")
    net.cleared.clear()
    net.box("dev1").sessions = 2
    run = Run(site, net, "ministry")
    assert run.execution.outcome == "ok" and net.cleared == []
    assert ("sessions", "started") not in run.steps("dev1") and net.box("dev1").sessions == 2


@pytest.mark.parametrize("how", ["driver", "fault"])
def test_no_sessions_step_without_session_kill(site: Site, how: str) -> None:
    net = FakeNet(driver=NoSessionKill if how == "driver" else None)
    net.box("dev1").sessions = 2
    run = Run(site, net, "isolated", TestFaults(no_session_kill={"*"}) if how == "fault" else None)
    assert run.execution.outcome == "ok" and net.cleared == []
    assert ("sessions", "started") not in run.steps("dev1") and run.result("dev1").sessions is None
    assert net.box("dev1").sessions == 2, "the session survives: verification must find it"


def test_failure_to_end_sessions_keeps_the_cut(site: Site) -> None:
    net = FakeNet()
    net.fail[("dev1", "clear_sessions")] = DeviceError("dev1", "clear refused")
    run = Run(site, net, "isolated")
    dev1 = run.result("dev1")
    assert (dev1.outcome, dev1.after) == ("changed", "isolated") and targets(net)["dev1"] == "isolated"
    assert dev1.sessions == {"ok": False, "error": "dev1: clear refused"}
    assert dev1.warnings == ["sessions could not be ended (the cut stays): dev1: clear refused"]
    assert ("sessions", "failed") in run.steps("dev1") and ("rollback", "started") not in run.steps("dev1")
    assert run.steps("dev1")[-1] == ("done", "ok") and "clear refused" in run.step("dev1", "done").detail
    assert run.execution.outcome == "ok"
    assert run.execution.warnings == [f"dev1: {dev1.warnings[0]}"]


def test_device_already_at_the_target_still_ends_sessions(site: Site) -> None:
    net = FakeNet()
    Run(site, net, "isolated")
    net.box("dev3").sessions = 1
    sent = len(net.mutations())
    run = Run(site, net, "isolated")
    assert run.execution.outcome == "noop" and len(net.mutations()) == sent
    assert run.result("dev3").sessions["cleared"] == 1
    assert run.steps("dev3")[-1] == ("done", "skipped")


def test_resumed_pending_commit_ends_sessions_after_its_confirm(site: Site) -> None:
    net = FakeNet()
    iso = compute_policy(site, "isolated")
    net.box("dev1").state = DeviceState("isolated", iso.fingerprint(), iso.rules, pending_commit=True)
    run = Run(site, net, "isolated")
    started = [s for s, st in run.steps("dev1") if st == "started"]
    assert started[-3:] == ["mgmt-check", "confirm", "sessions"] and "load" not in started


def test_each_device_is_planned_against_the_state_it_read(site: Site) -> None:
    net = FakeNet()
    Run(site, net, "isolated")
    run = Run(site, net, "ministry")
    offline = plan(site, compute_policy(site, "ministry"), {d.name: net.factory(d) for d in site.devices})
    for dev in site.devices:
        sent = net.loaded[dev.name]
        assert run.step(dev.name, "load", "started").detail == f"{len(sent)} lines"
        assert run.step(dev.name, "load").data["lines"] == sent and run.result(dev.name).lines == len(sent)
        assert len(offline.device(dev.name).lines) == len(sent) + 1  # the offline plan knew no state


def test_isolation_is_fail_closed(site: Site) -> None:
    net = FakeNet()
    net.fail[("dev2", "commit")] = CommitError("dev2", "commit refused")
    run = Run(site, net, "isolated")
    assert run.execution.outcome == "partial"
    assert targets(net) == {"dev1": "isolated", "dev2": "normal", "dev3": "isolated"}


def test_restore_is_all_or_nothing(site: Site) -> None:
    net = FakeNet()
    Run(site, net, "isolated")
    net.fail[("dev3", "confirm")] = DeviceError("dev3", "confirm refused")
    net.fail_nth[("dev3", "confirm")] = net.calls[("dev3", "confirm")] + 1
    run = Run(site, net, "ministry")
    assert run.execution.outcome == "rolled-back" and set(targets(net).values()) == {"isolated"}
