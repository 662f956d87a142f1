"""Estate operations over the engine double: several sites at once, each with its own lock and journal.

One command over sites (or a group) runs the sites in parallel, refuses them all before touching any when
one cannot be planned, keeps a failing site's outcome to itself, and exits with the most urgent site's code.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import threading
from pathlib import Path

import pytest

from egressctl.cli import jsonout
from egressctl.engine import Engine
from egressctl.errors import CommitError, PolicyError
from egressctl.estate import SEVERITY, resolve_sites, run_estate, worst
from egressctl.exitcodes import ExitCode
from tests.egressctl.cli.test_harness import Cli
from tests.egressctl.cli.test_output_schemas import check
from tests.support.engine_double import PASSWORD, FakeNet, inventory_yaml

SITES = ["hq", "hq2", "hq3"]


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGTEST_PASSWORD", PASSWORD)


def estate_yaml(names: list[str], devices: int = 2) -> str:
    """``inventory_yaml``'s site copied under each name (device names prefixed), and a group of them all."""
    head, _, site = inventory_yaml(devices=devices).partition("sites:\n")
    blocks = [site.replace("- name: hq\n", f"- name: {n}\n", 1).replace("name: dev", f"name: {n}-dev")
              for n in names]
    group = f"groups:\n  - name: chu\n    description: a hospital group\n    sites: [{', '.join(names)}]\n"
    return head + "sites:\n" + "".join(blocks) + group


def make(tmp_path: Path, net: FakeNet, names: list[str] = SITES) -> Engine:
    inv = tmp_path / "estate.yaml"
    inv.write_text(estate_yaml(names))
    return Engine(inv, state_dir=tmp_path / "state", driver_factory=net.factory)  # type: ignore[arg-type]


def test_sites_run_in_parallel_each_journaled(tmp_path: Path) -> None:
    net = FakeNet(delay=0.02)
    eng = make(tmp_path, net)
    res = run_estate(eng, SITES, "isolated", verify=False)
    assert [(r.site, r.outcome, r.exit_code) for r in res.runs] == [(s, "ok", 0) for s in SITES]
    assert res.exit_code == 0
    assert {eng.journal_state(s) for s in SITES} == {"isolated"}
    assert res.seconds < 0.8 * sum(r.seconds for r in res.runs), "sites must overlap in time"
    assert all(r.slowest_device.startswith(f"{r.site}-dev") for r in res.runs)
    assert all(r.slowest_device_seconds > 0 for r in res.runs)
    assert len({r.result.op_id for r in res.runs if r.result}) == 3, "one operation per site"
    back = run_estate(eng, SITES, "normal", verify=False)
    assert back.exit_code == 0 and {eng.journal_state(s) for s in SITES} == {"normal"}
    assert eng.verify_history().ok


def test_the_journal_is_in_wal_before_any_site_opens_its_own(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Sites' connections switching a new journal to WAL at once got 'database is locked' (exit 2)."""
    eng = make(tmp_path, FakeNet())
    modes: list[str] = []
    fork = Engine.fork

    def spy(self: Engine) -> Engine:
        with sqlite3.connect(tmp_path / "state" / "journal.db") as conn:
            modes.append(str(conn.execute("PRAGMA journal_mode").fetchone()[0]))
        return fork(self)

    monkeypatch.setattr(Engine, "fork", spy)
    assert run_estate(eng, SITES, "isolated", verify=False).exit_code == 0
    assert modes == ["wal"] * len(SITES)


def test_group_and_names_resolved_once_in_order(tmp_path: Path) -> None:
    inv = make(tmp_path, FakeNet()).inventory
    assert resolve_sites(inv, ["hq3"], "chu") == ["hq3", "hq", "hq2"]
    with pytest.raises(PolicyError, match="no group 'x'; known: chu"):
        resolve_sites(inv, [], "x")
    with pytest.raises(PolicyError, match="no site 'nope'"):
        resolve_sites(inv, ["hq", "nope"], None)
    with pytest.raises(PolicyError, match="at least one site"):
        resolve_sites(inv, [], None)


def test_one_refused_site_refuses_the_estate_before_any_change(tmp_path: Path) -> None:
    net = FakeNet()
    eng = make(tmp_path, net)
    with pytest.raises(PolicyError, match="estate refused"):
        run_estate(eng, SITES, "no-such-stage", verify=False)
    assert net.mutations() == []


def test_a_failing_site_keeps_its_outcome_and_sets_the_exit_code(tmp_path: Path) -> None:
    net = FakeNet()
    net.fail[("hq2-dev1", "commit")] = CommitError("hq2-dev1", "commit refused by the box")
    eng = make(tmp_path, net)
    res = run_estate(eng, SITES, "isolated", verify=False)
    codes = {r.site: r.exit_code for r in res.runs}
    assert codes["hq"] == codes["hq3"] == 0 and codes["hq2"] != 0
    assert res.exit_code == codes["hq2"]
    assert eng.journal_state("hq") == "isolated" and eng.journal_state("hq3") == "isolated"


def test_a_locked_site_is_reported_and_the_others_proceed(tmp_path: Path) -> None:
    net = FakeNet()
    eng = make(tmp_path, net)
    eng.journal.acquire_lock("hq3", f"{socket.gethostname()}:{os.getppid()}", "other")  # a live owner
    res = run_estate(eng, SITES, "isolated", verify=False)
    by = {r.site: r for r in res.runs}
    assert by["hq3"].exit_code == ExitCode.LOCKED and by["hq3"].outcome == "error" and by["hq3"].error
    assert by["hq"].exit_code == 0 and res.exit_code == ExitCode.LOCKED


def test_worst_follows_the_severity_table() -> None:
    assert worst([0, 4, 1]) == 1
    assert worst([3, 130, 5]) == 5
    assert worst([2, 3]) == 3
    assert worst([]) == 0
    assert worst([0, 99]) == 5, "an unknown code needs someone to look"
    assert set(SEVERITY) == set(ExitCode)


def _cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    inv = tmp_path / "estate.yaml"
    inv.write_text(estate_yaml(SITES))
    cli = Cli(inv, tmp_path / "state")
    monkeypatch.setattr("egressctl.engine.default_factory", cli.net.factory)
    return cli


def test_cli_group_json_is_one_schema_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = _cli(tmp_path, monkeypatch)
    res = cli("isolate", "--group", "chu", "--yes", "--no-verify", "--json")
    assert res.exit_code == 0, res.output
    docs = [json.loads(ln) for ln in res.stdout.splitlines() if ln.strip()]
    for doc in docs[:-1]:
        check(doc, jsonout.EVENT)
    assert {d["site"] for d in docs[:-1]} == set(SITES)
    check(docs[-1], jsonout.ESTATE)
    assert docs[-1]["summary"]["ok"] == 3 and docs[-1]["group"] == "chu"
    back = cli("restore", "hq", "hq2", "hq3", "--full", "--yes", "--no-verify", "--json")
    check(json.loads(back.stdout.splitlines()[-1]), jsonout.ESTATE)


def test_cli_sites_print_tagged_lines_and_a_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = _cli(tmp_path, monkeypatch)
    res = cli("isolate", "hq", "hq2", "--yes", "--no-verify")
    assert res.exit_code == 0, res.output
    assert any(ln.startswith("hq2 ") and "hq2-dev1" in ln for ln in res.stdout.splitlines())
    assert "2/2 sites ok" in res.stdout and "most urgent site's" in res.stdout


def test_cli_estate_asks_for_the_group_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = _cli(tmp_path, monkeypatch)
    res = cli("isolate", "--group", "chu", "--no-verify", input="wrong\n")
    assert res.exit_code == 2 and cli.net.mutations() == []
    assert cli("isolate", "--group", "chu", "--no-verify", input="chu\n").exit_code == 0


def test_cli_refuses_device_and_no_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = _cli(tmp_path, monkeypatch)
    assert cli("isolate", "hq", "hq2", "--yes", "--device", "hq-dev1").exit_code == 2
    assert cli("restore", "--group", "chu", "--yes").exit_code == 2
    assert cli("isolate", "--yes").exit_code == 2
    assert cli.net.mutations() == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_while_sites_run_stops_every_site_before_its_next_commit(tmp_path: Path,
                                                                          signum: int) -> None:
    """Ctrl-C, SIGTERM and SIGHUP alike, one site at a time (``max_sites=1``) so the moment is certain: the
    first site finishes the devices it had in flight, the later ones commit nothing (a candidate loaded
    while the handler was on its way is discarded) and journal ``interrupted`` (exit 130), nothing is left
    pending, the handlers are put back, and re-running resumes."""
    net = FakeNet(delay=0.05)
    eng = make(tmp_path, net)
    before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)]
    fired = threading.Event()

    def sink(event: object) -> None:  # to the main thread, as a terminal's signal mostly lands (a signal
        # the kernel hands a site's thread is seen within the wait's poll, up to 0.2 s later)
        if not fired.is_set() and type(event).__name__ == "OperationStarted":
            fired.set()
            signal.pthread_kill(threading.main_thread().ident or 0, signum)

    res = run_estate(eng, SITES, "isolated", verify=False, sink=sink, max_sites=1)
    assert fired.is_set() and res.exit_code == 130, res.runs
    assert [r.outcome for r in res.runs[1:]] == ["interrupted", "interrupted"], res.runs
    later = [m for m in net.mutations() if not m[0].startswith("hq-")]
    assert not [m for m in later if m[1] not in ("load", "discard")], later  # at most a candidate, dropped
    assert not any(b.state.pending_commit for b in net.boxes.values()), "a device left pending"
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)] == before
    again = run_estate(eng, SITES, "isolated", verify=False)
    assert again.exit_code == 0 and {eng.journal_state(s) for s in SITES} == {"isolated"}
