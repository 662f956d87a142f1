"""Issue 14 on the whole lab site (prefix ``rg-``, ports 26400-26405): the known gaps, with real everything.

1. SIGTERM and SIGHUP to ``egressctl isolate`` mid-operation: exit 130, the journal says interrupted, a
   re-run carries on from it and every device ends isolated;
2. two controllers (two state directories) on one site at once: while A's changes wait for their
   confirm (A stopped), B is refused with exit 4 naming A's operation and owner; A then finishes, and B
   finds nothing to do (A's confirmed markers are no obstacle);
3. A killed with changes unconfirmed: B ``--take-over`` confirms or rolls them back and isolates;
4. PAN-OS (fw-a) with ``revert_host: bastion``: the controller SIGKILLed right after fw-a's commit, the
   revert job on the bastion loads the snapshot and commits: fw-a is back where it was, nothing pending;
5. a restore whose controller dies after ce-a's confirm (the others' confirms held back), resumed by a run
   in which fw-b's management check fails: every device ends isolated again, ce-a by a change of its own.

Every test leaves the site at normal (a restore that takes over whatever a killed run left).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from egressctl_lab import Lab
from egressctl_lab.testing.emulator import wait_until

from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device
from tests.conftest import lab_available
from tests.support.site_e2e_support import SITE, SOURCE_INVENTORY, Event, SiteLab, parse_lines, with_session

pytestmark = [pytest.mark.lab, pytest.mark.slow]
PREFIX, PORT_BASE = "rg-", 26400


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteLab]:
    """The lab, up for the module, torn down however it ends."""
    if not lab_available():
        pytest.skip("network namespaces are not available")
    state = tmp_path_factory.mktemp("rg-state")
    lab = Lab(SOURCE_INVENTORY, prefix=PREFIX, port_base=PORT_BASE, state_dir=state)
    try:
        lab.up()
        yield SiteLab(lab, state)
    finally:
        lab.down()


@pytest.fixture(autouse=True)
def _own_state(site: SiteLab, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's own reads use a state directory of their own (no other run's marker files)."""
    monkeypatch.setenv("EGRESSCTL_STATE_DIR", str(Path(site.state) / "reader"))


@pytest.fixture(scope="module")
def guarded(site: SiteLab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The effective inventory with fw-a's revert job on the bastion (``revert_host: bastion``)."""
    data = yaml.safe_load(site.inventory.read_text())
    lab_site = next(s for s in data["sites"] if s["name"] == SITE)
    fw_a = next(d for d in lab_site["devices"] if d["name"] == "fw-a")
    fw_a.setdefault("options", {})["revert_host"] = "bastion"
    path = tmp_path_factory.mktemp("rg-inv") / "guarded.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def argv(inventory: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "egressctl.cli.main", "-i", str(inventory), *args]


def env(state: Path) -> dict[str, str]:
    return {**os.environ, "EGRESSCTL_STATE_DIR": str(state)}


def run_json(inventory: Path, state: Path, *args: str) -> tuple[int, list[Event], Event]:
    """``egressctl ARGS --json`` to completion: exit code, events, result."""
    res = subprocess.run(argv(inventory, *args, "--json"), env=env(state), capture_output=True, text=True,
                         timeout=400, check=False)
    docs = parse_lines(res.stdout)
    assert docs and docs[-1].get("event") == "result", f"rc={res.returncode}\n{res.stdout}\n{res.stderr}"
    return res.returncode, docs[:-1], docs[-1]


class Running:
    """A CLI run in the background whose JSON events are read as they come."""

    def __init__(self, inventory: Path, state: Path, *args: str) -> None:
        self.proc = subprocess.Popen(argv(inventory, *args, "--json"), env=env(state), stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.events: list[Event] = []
        self._killer = threading.Timer(400, self.proc.kill)
        self._killer.start()

    def until(self, match: Callable[[Event], bool]) -> Event:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.events.append(json.loads(line))
                if match(self.events[-1]):
                    return self.events[-1]
        raise AssertionError(f"the run ended (rc={self.proc.wait()}) before the awaited event")

    def finish(self) -> tuple[int, Event | None]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.events.append(json.loads(line))
        rc = self.proc.wait(timeout=400)
        self._killer.cancel()
        last = self.events[-1] if self.events and self.events[-1].get("event") == "result" else None
        return rc, last

    def kill(self) -> None:
        self._killer.cancel()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
        self.proc.wait(timeout=60)


def commit_pending(e: Event) -> bool:
    return e.get("event") == "CommitPending"


def back_to_normal(site: SiteLab, inventory: Path | None = None) -> None:
    """Restore --full from a state directory of its own, taking over whatever a killed run left."""
    state = Path(site.state) / f"cleanup-{time.monotonic_ns()}"
    rc, _, res = run_json(inventory or site.inventory, state, "restore", SITE, "--full", "--yes",
                          "--no-verify", "--take-over")
    assert rc == 0 and res["state"] == "normal", res["message"]


def states(site: SiteLab) -> dict[str, tuple[str, bool]]:
    return {n: (s.target, s.pending_commit) for n, s in site.read_states().items()}


# --- 1. SIGTERM and SIGHUP are Ctrl-C -----------------------------------------------------------------------
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_mid_isolate_is_like_ctrl_c(site: SiteLab, signum: int) -> None:
    state = Path(site.state) / f"sig-{signum}"
    run = Running(site.inventory, state, "isolate", SITE, "--yes", "--no-verify")
    try:
        hit = run.until(commit_pending)
        run.proc.send_signal(signum)
        rc, result = run.finish()
        assert rc == 130 and result is not None and result["outcome"] == "interrupted", result
        status = subprocess.run(argv(site.inventory, "status", SITE, "--json"), env=env(state),
                                capture_output=True, text=True, check=False)
        doc = json.loads(status.stdout)
        assert not doc["running"] and doc["operation"]["outcome"] == "interrupted"
        assert doc["operation"]["op_id"] == hit["op_id"]
        assert not any(pending for _, pending in states(site).values()), "a commit was left unconfirmed"
        rc, _, again = run_json(site.inventory, state, "isolate", SITE, "--yes", "--no-verify")
        assert rc == 0 and again["resumed"] == hit["op_id"], again["message"]
        assert states(site) == {d.name: ("isolated", False) for d in site.devices}
    finally:
        run.kill()
        back_to_normal(site)


# --- 2/3. two controllers on one site -----------------------------------------------------------------------
def test_two_controllers_at_once(site: SiteLab, guarded: Path) -> None:
    a_state, b_state = Path(site.state) / "ctl-a", Path(site.state) / "ctl-b"
    a = Running(guarded, a_state, "isolate", SITE, "--yes", "--no-verify", "--revert-in", "600")
    try:
        hit = a.until(commit_pending)
        os.kill(a.proc.pid, signal.SIGSTOP)  # A is "still running": its change waits for its confirm
        rc, _, b = run_json(guarded, b_state, "isolate", SITE, "--yes", "--no-verify")
        assert (rc, b["outcome"], b["state"]) == (4, "refused", "normal"), b["message"]
        assert hit["op_id"] in b["message"] and "@" in b["detail"], b["message"]
        assert not [d for d in b["devices"] if d["outcome"] not in ("failed", "skipped")]
        os.kill(a.proc.pid, signal.SIGCONT)
        rc_a, result_a = a.finish()
        assert rc_a == 0 and result_a is not None and result_a["state"] == "isolated", result_a
        rc, _, again = run_json(guarded, b_state, "isolate", SITE, "--yes", "--no-verify")
        assert (rc, again["outcome"]) == (0, "noop"), again["message"]  # A's confirmed changes: no obstacle
    finally:
        a.kill()
        back_to_normal(site, guarded)


def test_take_over_what_a_killed_controller_left(site: SiteLab, guarded: Path) -> None:
    a_state, b_state = Path(site.state) / "to-a", Path(site.state) / "to-b"
    a = Running(guarded, a_state, "isolate", SITE, "--yes", "--no-verify", "--revert-in", "600")
    try:
        hit = a.until(commit_pending)
        a.proc.send_signal(signal.SIGKILL)
        a.finish()
        assert any(pending for _, pending in states(site).values())
        rc, _, refused = run_json(guarded, b_state, "isolate", SITE, "--yes", "--no-verify")
        assert rc == 4 and hit["op_id"] in refused["message"]
        rc, _, b = run_json(guarded, b_state, "isolate", SITE, "--yes", "--no-verify", "--take-over")
        assert (rc, b["state"], b["resumed"]) == (0, "isolated", refused["op_id"]), b["message"]
        assert states(site) == {d.name: ("isolated", False) for d in site.devices}
        history = subprocess.run(argv(guarded, "history", SITE, "--json"), env=env(b_state),
                                 capture_output=True, text=True, check=False)
        assert f"taking over the unconfirmed change of operation {hit['op_id']}" in history.stdout
    finally:
        a.kill()
        back_to_normal(site, guarded)


# --- 4. PAN-OS: a revert job that fires without the controller ----------------------------------------------
def test_panos_revert_job_fires_with_the_controller_killed(site: SiteLab, guarded: Path) -> None:
    fw_a: Device = load_inventory(guarded).site(SITE).device("fw-a")
    before = with_session(fw_a, lambda drv: drv.read_state())
    state = Path(site.state) / "job"
    run = Running(guarded, state, "isolate", SITE, "--device", "fw-a", "--yes", "--no-verify",
                  "--revert-in", "20")
    try:
        run.until(lambda e: commit_pending(e) and e.get("device") == "fw-a")
        run.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        run.finish()
        assert with_session(fw_a, lambda drv: drv.read_state()).pending_commit, "the job guards the commit"
        found: dict[str, Any] = {}

        def reverted() -> bool:
            found["state"] = with_session(fw_a, lambda drv: (drv.read_state(), drv.remote.state()))
            st, job = found["state"]
            return not st.pending_commit and job.startswith("fired")

        assert wait_until(reverted, timeout=20 + 120, interval=2.0), found
        st, job = found["state"]
        assert job == "fired-ok" and (st.target, st.fingerprint) == (before.target, before.fingerprint)
        assert time.monotonic() - killed >= 19, "the job waited its revert_in"
    finally:
        run.kill()
        back_to_normal(site, guarded)


# --- 5. a restore all-or-nothing across a crash in its confirm phase ----------------------------------------
RESTORE_HELD = """
import sys, time
from egressctl.cli.progress import JsonLines
from egressctl.engine import Engine, default_factory

class HoldConfirm:
    '''Every device but ce-a waits in its confirm: the controller dies with only ce-a confirmed.'''
    def __init__(self, drv):
        self._drv = drv
    def __getattr__(self, name):
        return getattr(self._drv, name)
    def confirm(self):
        if self._drv.device.name != "ce-a":
            time.sleep(600)
        return self._drv.confirm()

Engine(sys.argv[1], driver_factory=lambda dev: HoldConfirm(default_factory(dev))).restore(
    "lab", "ministry", verify=False, sink=JsonLines(), revert_in=600)
"""


class FailFreshSession:
    """fw-b's management check (its second session) fails: the resumed restore must undo everything."""

    opened: ClassVar[int] = 0

    def __init__(self, drv: Any) -> None:
        self._drv = drv

    def __getattr__(self, name: str) -> Any:
        return getattr(self._drv, name)

    def open(self, secret: Any) -> None:
        if self._drv.device.name == "fw-b":
            FailFreshSession.opened += 1
            if FailFreshSession.opened > 1:
                raise ConnectionError("fw-b: management path lost (injected)")
        self._drv.open(secret)


def test_restore_crashed_in_its_confirm_phase_then_failing_returns_every_device(
    site: SiteLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    from egressctl.engine import Engine, default_factory

    state = Path(site.state) / "aon"
    monkeypatch.setenv("EGRESSCTL_STATE_DIR", str(state))  # PAN-OS keeps its pending marker there
    rc, _, iso = run_json(site.inventory, state, "isolate", SITE, "--yes", "--no-verify")
    assert rc == 0, iso["message"]
    proc = subprocess.Popen([sys.executable, "-c", RESTORE_HELD, str(site.inventory)], env=env(state),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            e = json.loads(line) if line.startswith("{") else {}
            if (e.get("device"), e.get("step"), e.get("status")) == ("ce-a", "confirm", "ok"):
                proc.kill()
                break
        proc.wait(timeout=60)
        assert states(site)["ce-a"] == ("ministry", False)
        assert all(pending for name, (_, pending) in states(site).items() if name != "ce-a")
        FailFreshSession.opened = 0
        eng = Engine(site.inventory, state_dir=state,
                     driver_factory=lambda dev: FailFreshSession(default_factory(dev)))
        try:
            eng.journal.force_unlock(SITE, by="test")  # the dead run's lock (its pid is gone anyway)
            res = eng.restore(SITE, "ministry", verify=False, revert_in=600)
        finally:
            eng.close()
        assert (res.outcome, res.exit_code, res.state) == ("rolled-back", 1, "isolated"), res.message
        assert res.resumed is not None
        assert {d.device: d.outcome for d in res.devices}["ce-a"] == "rolled-back"
        assert states(site) == {d.name: ("isolated", False) for d in site.devices}
    finally:
        if proc.poll() is None:
            proc.kill()
        back_to_normal(site)
