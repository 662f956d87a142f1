"""Ctrl-C, SIGTERM and SIGHUP take one path at every moment of an operation; a commit in doubt is undone.

Over the Driver-Protocol double (``engine_double``) and a real journal. The signals are real (``os.kill``
of this process); the moments are chosen through the event sink and the double's methods:

* before any device is read (the main thread emitting ``OperationStarted``, outside the executor's wait,
  where a raised ``KeyboardInterrupt`` used to escape with the operation left running and its lock held);
* during a restore's commit phase (all-or-nothing: every committed device is rolled back);
* after the last device finished (the change is done; the verification the operator stopped is skipped);
* and a commit whose call failed after the device took it: rolled back, not merely discarded, with the
  journal saying what was found.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from egressctl.errors import DeviceError
from egressctl.events import DeviceStep, Event, OperationStarted
from egressctl.interrupts import Deferral, signals_cancel
from tests.support.engine_double import PASSWORD, FakeDriver, FakeNet, engine_over, targets

SIGNALS = pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                                  ids=["SIGINT", "SIGTERM", "SIGHUP"])


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGTEST_PASSWORD", PASSWORD)


def kill_on(match: Any, signum: int, times: int = 1) -> Any:
    """An event sink that signals this process the first time an event matches (``times`` signals)."""
    fired = threading.Event()

    def sink(event: Event) -> None:
        if not fired.is_set() and match(event):
            fired.set()
            for _ in range(times):
                os.kill(os.getpid(), signum)

    return sink


def handlers() -> list[Any]:
    return [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)]


# --- the moments --------------------------------------------------------------------------------------------
@SIGNALS
def test_a_signal_before_any_device_is_read_ends_interrupted_with_nothing_sent(tmp_path: Path,
                                                                              signum: int) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    before = handlers()
    res = eng.isolate("hq", sink=kill_on(lambda e: isinstance(e, OperationStarted), signum))
    assert (res.outcome, res.exit_code) == ("interrupted", 130), res.message
    assert net.mutations() == [] and handlers() == before
    op = eng.journal.operation(res.op_id)
    assert op is not None and (op.status, op.outcome) == ("finished", "interrupted")
    assert eng.journal.unfinished("hq") is None, "the lock and the operation are closed"
    again = eng.isolate("hq")
    assert (again.outcome, again.exit_code, again.resumed) == ("ok", 0, res.op_id)


@SIGNALS
def test_a_signal_in_a_restores_commit_phase_rolls_every_device_back(tmp_path: Path, signum: int) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    eng.max_workers = 1
    assert eng.isolate("hq").exit_code == 0
    net.sent.clear()

    def dev2_committed(e: Event) -> bool:
        return isinstance(e, DeviceStep) and (e.device, e.step.value, e.status.value) == ("dev2", "commit",
                                                                                         "ok")

    res = eng.restore("hq", "ministry", sink=kill_on(dev2_committed, signum))
    assert (res.outcome, res.exit_code) == ("interrupted", 130), res.message
    assert targets(net) == {f"dev{i}": "isolated" for i in range(1, 5)}, "all or nothing, nothing pending"
    assert ("dev1", "confirm") not in net.mutations() and ("dev2", "rollback") in net.mutations()
    again = eng.restore("hq", "ministry")
    assert (again.outcome, again.exit_code, again.resumed) == ("ok", 0, res.op_id)


@SIGNALS
def test_a_signal_after_the_last_device_finished_skips_verification(tmp_path: Path, signum: int,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    proved: list[str] = []
    monkeypatch.setattr("egressctl.operation.run_verification", lambda *a, **k: proved.append("run"))
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    eng.max_workers = 1

    def dev4_done(e: Event) -> bool:
        return isinstance(e, DeviceStep) and (e.device, e.step.value) == ("dev4", "done")

    res = eng.isolate("hq", sink=kill_on(dev4_done, signum))
    assert (res.outcome, res.exit_code) == ("ok", 130) and "verification interrupted" in res.message
    assert proved == [] and set(targets(net).values()) == {"isolated"}


def test_a_second_signal_stops_at_once(tmp_path: Path) -> None:
    net = FakeNet()
    eng = engine_over(tmp_path, net)
    with pytest.raises(KeyboardInterrupt):
        eng.isolate("hq", sink=kill_on(lambda e: isinstance(e, OperationStarted), signal.SIGTERM, times=2))
    assert net.mutations() == []
    assert eng.journal.unfinished("hq") is not None, "the journal shows it running: the next run resumes"


# --- the handlers -------------------------------------------------------------------------------------------
@SIGNALS
def test_the_first_signal_sets_cancel_the_second_raises(signum: int) -> None:
    cancel = threading.Event()
    before = handlers()
    with signals_cancel(cancel) as deferral:
        os.kill(os.getpid(), signum)
        assert cancel.is_set() and deferral.received == [signal.Signals(signum).name]
        with pytest.raises(KeyboardInterrupt, match=signal.Signals(signum).name):
            os.kill(os.getpid(), signum)
    assert handlers() == before


def test_while_raising_the_first_signal_raises() -> None:
    deferral = Deferral(threading.Event())
    with deferral.raising(), pytest.raises(KeyboardInterrupt):
        deferral.handle(signal.SIGHUP, None)


def test_ignored_signals_stay_ignored_and_other_threads_keep_the_handlers() -> None:
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job's Ctrl-C
    try:
        with signals_cancel(threading.Event()):
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert isinstance(signal.getsignal(signal.SIGTERM), type(Deferral(threading.Event()).handle))
    finally:
        signal.signal(signal.SIGINT, old)
    seen: list[Any] = []

    def worker() -> None:
        with signals_cancel(threading.Event()):
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == [before]


# --- a commit in doubt --------------------------------------------------------------------------------------
class FailsAfterCommit(FakeDriver):
    """dev2's commit takes on the device, then the call fails (the reply lost, the output broken)."""

    def commit(self, revert_in: int) -> None:
        super().commit(revert_in)
        if self.device.name == "dev2":
            raise DeviceError("dev2", "the reply to the commit did not come back as expected")


class FailsBeforeCommit(FakeDriver):
    """dev2's commit is refused before it takes."""

    def commit(self, revert_in: int) -> None:
        if self.device.name == "dev2":
            raise DeviceError("dev2", "commit refused")
        super().commit(revert_in)


def test_a_commit_that_failed_after_it_took_is_rolled_back(tmp_path: Path) -> None:
    net = FakeNet(driver=FailsAfterCommit)
    eng = engine_over(tmp_path, net)
    res = eng.isolate("hq", verify=False)
    assert (res.outcome, res.exit_code) == ("partial", 5)
    assert targets(net)["dev2"] == "normal", "rolled back, not left waiting for its dead-man switch"
    assert ("dev2", "rollback") in net.mutations()
    steps = [(s.step, s.status, s.detail) for s in eng.journal.steps(res.op_id) if s.device == "dev2"]
    assert ("read-state", "ok", "holds isolated (commit pending)") in steps
    assert [st for st, status, _ in steps if status == "ok"][-1] == "rollback"
    assert eng.journal.device_states("hq")["dev2"] == "normal"


def test_a_commit_refused_before_it_took_is_only_discarded(tmp_path: Path) -> None:
    net = FakeNet(driver=FailsBeforeCommit)
    eng = engine_over(tmp_path, net)
    res = eng.isolate("hq", verify=False)
    assert (res.outcome, res.exit_code) == ("partial", 5)
    assert targets(net)["dev2"] == "normal" and ("dev2", "rollback") not in net.mutations()
    assert ("dev2", "discard") in net.mutations()
    steps = [(s.step, s.status, s.detail) for s in eng.journal.steps(res.op_id) if s.device == "dev2"]
    assert ("read-state", "ok", "holds normal") in steps
