"""``egressctl check`` over the Driver-Protocol double: the report, each device check, and the CLI/JSON.

Devices are engine-double drivers (real journal); vantage and capture points run through a fake network
namespace runner (a script that answers ``ip`` and ``egressctl probe`` as a host would), so the whole
flow is exercised without namespaces. The lab test (``tests/e2e/test_check.py``) runs the real
drivers and emulators.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import egressctl.check_points
from egressctl.check import CheckReport, CheckResult, Status, Subject, fail, ok, warn
from egressctl.cli import jsonout
from egressctl.driver import DeviceState
from egressctl.engine import Engine
from egressctl.errors import ConnectError
from egressctl.exitcodes import ExitCode
from tests.egressctl.cli.test_harness import ROOT, Cli, make_cli
from tests.support.engine_double import PASSWORD, FakeDriver, FakeNet, write_inventory

CAPTURES = """
    canaries:
      - name: web
        address: 192.0.2.80
    captures:
      - exit: primary
        netns: isp-a
        interface: ce0
"""
#: Answers ``ip -o addr show up``, ``ip -o link show dev IF`` and a probe run like a host would;
#: the namespace name is argv[1] (ws1 is up, ws-down has lost its address, isp-a's ce0 is up).
FAKE_NETNS = r"""
import json, sys
ns, argv = sys.argv[1], sys.argv[2:]
if argv[:4] == ["ip", "-o", "addr", "show"]:
    if ns != "ws-down":
        print("2: eth0    inet 10.10.1.11/24 brd 10.10.1.255 scope global eth0")
elif argv[:4] == ["ip", "-o", "link", "show"]:
    if argv[-1] != "ce0":
        sys.exit(print('Device "%s" does not exist.' % argv[-1], file=sys.stderr) or 1)
    print("5: ce0@if4: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT")
elif "probe" in argv or "egressctl.verify.probe" in argv:  # the CLI, or the light entry point
    plan = json.loads(sys.stdin.read())
    print(json.dumps({"version": 1, "host": ns, "elapsed_s": 0.01, "stats": {},
                      "results": [{"id": p["id"], "outcome": "answered", "detail": "echo reply"}
                                  for p in plan["probes"]]}))
else:
    sys.exit(3)
"""


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGTEST_PASSWORD", PASSWORD)


@pytest.fixture
def fake_netns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "fake_netns.py"
    script.write_text(FAKE_NETNS)
    monkeypatch.setattr(egressctl.check_points, "_netns_exec",
                        lambda state_dir: lambda ns: [sys.executable, str(script), ns])


def make(tmp_path: Path, net: FakeNet, *, vantage: bool = False, extra: str = "") -> Engine:
    inv = write_inventory(tmp_path, vantage=vantage)
    inv.write_text(inv.read_text() + extra)
    return Engine(inv, state_dir=tmp_path / "state", driver_factory=net.factory)


def by_name(report: CheckReport) -> dict[tuple[str, str], CheckResult]:
    return {(s.name, c.name): c for s in report.subjects for c in s.checks}


def problems(report: CheckReport) -> set[tuple[str, str, str]]:
    return {(s, n, c.status.value) for (s, n), c in by_name(report).items() if c.status != Status.OK}


# --- the report ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("statuses", "strict", "code"), [
    ((Status.OK, Status.OK), False, ExitCode.OK), ((Status.OK, Status.WARN), False, ExitCode.OK),
    ((Status.OK, Status.WARN), True, ExitCode.CHECK_FAILED), ((Status.WARN, Status.FAIL), False,
                                                              ExitCode.CHECK_FAILED)])
def test_exit_code_and_summary(statuses: tuple[Status, ...], strict: bool, code: ExitCode) -> None:
    make_one: dict[Status, Callable[[str, str], CheckResult]] = {Status.OK: ok, Status.WARN: warn,
                                                                 Status.FAIL: fail}
    sub = Subject("device", "d1", [make_one[s](f"c{i}", "why") for i, s in enumerate(statuses)], 1.5)
    report = CheckReport("hq", [Subject("site", "hq", [ok("inventory", "valid")]), sub], 1.6, strict)
    assert report.exit_code == code
    doc = report.to_dict()
    assert doc["exit_code"] == code and doc["ok"] == (code == 0) and doc["slowest"] == {"name": "d1",
                                                                                         "elapsed_s": 1.5}
    assert doc["status"] == max(statuses, key=["ok", "warn", "fail"].index)
    if Status.FAIL in statuses:
        assert doc["problems"][0].startswith("d1 c1: ") and "1 failed" in doc["summary"]


# --- devices ---------------------------------------------------------------------------------------------
def test_a_healthy_site_passes_and_nothing_is_sent_or_journaled(tmp_path: Path) -> None:
    net = FakeNet(delay=0.3)  # long enough that the four opens overlap even on a loaded machine
    eng = make(tmp_path, net)
    before = len(eng.history())
    report = eng.check("hq")
    assert report.exit_code == ExitCode.OK
    names = [c.name for c in next(s for s in report.subjects if s.name == "dev1").checks]
    assert names == ["credential", "reachable", "read-state", "pending", "drift", "sessions", "prerequisites"]
    assert problems(report) == {("hq", "coverage", "warn"), *{(f"dev{i}", "prerequisites", "warn")
                                                             for i in range(1, 5)}}
    assert net.mutations() == [] and len(eng.history()) == before, "a check changes nothing"
    assert net.max_in_open >= 2, "devices are checked in parallel"  # 4 on a quiet machine
    dev = next(s for s in report.subjects if s.name == "dev2")
    assert "revert job" in dev.info["safety_net_effect"] and dev.info["drift"]["status"] == "in-sync"


def test_unreachable_device_and_unresolvable_credential_fail_by_name(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    net = FakeNet()
    net.fail[("dev2", "open")] = ConnectError("dev2", "connection refused")
    eng = make(tmp_path, net)
    report = eng.check("hq")
    assert report.exit_code == ExitCode.CHECK_FAILED
    assert ("dev2", "reachable", "fail") in problems(report)
    assert not any(s == "dev2" and n == "read-state" for s, n in by_name(report))
    monkeypatch.delenv("EGTEST_PASSWORD")
    report = eng.check("hq")  # a check reports it (exit 7) where an operation refuses to start (exit 2)
    assert {("dev1", "credential", "fail"), ("dev4", "credential", "fail")} <= problems(report)
    assert "EGTEST_PASSWORD" in by_name(report)[("dev1", "credential")].detail


def test_pending_change_and_drift(tmp_path: Path) -> None:
    net = FakeNet()
    eng = make(tmp_path, net)
    assert eng.isolate("hq", verify=False).exit_code == 0
    box1, box2 = net.box("dev1"), net.box("dev2")
    box1.state = DeviceState(box1.state.target, box1.state.fingerprint, box1.state.rules, pending_commit=True)
    box2.state = DeviceState(box2.state.target, box2.state.fingerprint, box2.state.rules[1:])  # edited
    report = eng.check("hq")
    assert {("dev1", "pending", "fail"), ("dev2", "drift", "fail")} <= problems(report)
    drift = next(s for s in report.subjects if s.name == "dev2").info["drift"]
    assert drift["status"] == "drift" and drift["diff"] and drift["expected"] == "isolated"
    only = eng.check("hq", drift_only=True, devices=["dev2"])
    assert [s.name for s in only.subjects] == ["dev2"]
    assert [c.name for c in only.subjects[0].checks] == ["credential", "reachable", "read-state", "pending",
                                                         "drift"]


def test_the_journal_check(tmp_path: Path) -> None:
    eng = make(tmp_path, FakeNet())
    eng.isolate("hq", devices=["dev1"], verify=False)
    found = by_name(eng.check("hq"))[("hq", "journal")]
    assert found.status == Status.OK and "site mixed: dev1 isolated; dev2, dev3, dev4 normal" in found.detail
    eng.journal.acquire_lock("hq", "elsewhere:1", "op-x")
    found = by_name(eng.check("hq"))[("hq", "journal")]
    assert found.status == Status.WARN and "locked by elsewhere:1" in found.detail


class WithPreflight(FakeDriver):
    def preflight(self) -> list[CheckResult]:
        return [warn("archive", "no archive path"), ok("safety-net", "fake timer", "the fake box reverts")]


class BrokenPreflight(FakeDriver):
    def preflight(self) -> list[CheckResult]:
        raise ConnectError(self.device.name, "session lost")


def test_the_drivers_own_checks(tmp_path: Path) -> None:
    net = FakeNet(driver=WithPreflight)
    report = make(tmp_path, net).check("hq")
    assert by_name(report)[("dev1", "archive")].status == Status.WARN
    dev = next(s for s in report.subjects if s.name == "dev1")
    assert dev.info["safety_net_effect"] == "the fake box reverts"
    assert make(tmp_path, net).check("hq", strict=True).exit_code == ExitCode.CHECK_FAILED
    net.driver = BrokenPreflight
    report = make(tmp_path, net).check("hq")
    assert by_name(report)[("dev1", "prerequisites")].status == Status.FAIL
    assert "session lost" in by_name(report)[("dev1", "prerequisites")].detail


# --- vantage and capture points --------------------------------------------------------------------------
def test_vantage_and_capture_points(tmp_path: Path, fake_netns: None) -> None:
    extra = CAPTURES + """      - exit: backup
        netns: isp-b
        interface: ce9
"""
    report = make(tmp_path, FakeNet(), vantage=True, extra=extra).check("hq")
    found = by_name(report)
    assert found[("ws1", "reachable")].status == found[("ws1", "addresses")].status == Status.OK
    assert found[("ws1", "probe")].status == Status.OK and "10.10.1.11" in found[("ws1", "probe")].detail
    assert found[("primary (isp-a:ce0)", "interface")].status == Status.OK
    assert found[("backup (isp-b:ce9)", "interface")].status == Status.FAIL
    assert "ce9 not found" in found[("backup (isp-b:ce9)", "interface")].detail


def test_a_vantage_point_down(tmp_path: Path, fake_netns: None) -> None:
    eng = make(tmp_path, FakeNet(), vantage=True, extra=CAPTURES)
    eng.inventory_path.write_text(eng.inventory_path.read_text().replace("netns: ws1", "netns: ws-down"))
    report = Engine(eng.inventory_path, state_dir=eng.state_dir, driver_factory=eng.factory).check("hq")
    assert report.exit_code == ExitCode.CHECK_FAILED and ("ws1", "addresses", "fail") in problems(report)


def test_a_missing_namespace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = ["sh", "-c", 'echo "Cannot open network namespace"; exit 1']
    monkeypatch.setattr(egressctl.check_points, "_netns_exec", lambda state_dir: lambda ns: gone)
    report = make(tmp_path, FakeNet(), vantage=True).check("hq")
    assert ("ws1", "reachable", "fail") in problems(report)
    assert "Cannot open network namespace" in by_name(report)[("ws1", "reachable")].detail


# --- the CLI and its JSON --------------------------------------------------------------------------------
def valid(doc: Any, schema: str) -> None:
    file = json.loads((ROOT / "schemas" / jsonout.schema_file(schema)).read_text())
    assert doc["schema"] == schema
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft202012Validator(file).iter_errors(doc)]
    assert not errors, errors[:5]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_netns: None) -> Cli:
    return make_cli(tmp_path, monkeypatch, vantage=True)


def test_check_command(cli: Cli) -> None:
    res = cli("check", "hq")
    assert res.exit_code == 0, res.output
    assert "Safety nets" in res.stdout and "hq: 0 failed" in res.stdout.splitlines()[-1]
    assert cli("check", "hq", "--strict").exit_code == ExitCode.CHECK_FAILED
    assert cli("check", "hq", "--device", "nosuch").exit_code == ExitCode.USAGE
    cli.net.fail[("dev3", "open")] = ConnectError("dev3", "no route to host")
    res = cli("check", "hq", "--json")
    assert res.exit_code == ExitCode.CHECK_FAILED
    doc = json.loads(res.stdout)
    valid(doc, jsonout.CHECK)
    assert doc["problems"][0].startswith("dev3 reachable: ") and "no route to host" in doc["problems"][0]


def test_status_live_shows_drift(cli: Cli) -> None:
    assert cli("isolate", "hq", "--yes", "--no-verify").exit_code == 0
    box = cli.net.box("dev4")
    box.state = DeviceState(box.state.target, box.state.fingerprint, box.state.rules[:-1])
    doc = cli.json("status", "hq", "--live")
    valid(doc, jsonout.STATUS)
    rows = {r["device"]: r for r in doc["drift"]}
    assert rows["dev4"]["status"] == "drift" and rows["dev1"]["status"] == "in-sync"
    assert "drift" not in cli.json("status", "hq"), "plain status reads no device"
    text = cli("status", "hq", "--live").stdout
    assert "Drift from the journal" in text and "dev4: drift (journal: isolated" in text
    cli.net.fail[("dev2", "open")] = ConnectError("dev2", "refused")
    rows = {r["device"]: r for r in cli.json("status", "hq", "--live")["drift"]}
    assert rows["dev2"]["status"] == "unknown" and "refused" in rows["dev2"]["detail"]
