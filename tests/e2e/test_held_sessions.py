"""Held-open sessions and "never proven from silence" on the lab site, real packets (ISSUE 10 parts 3, 4).

A site whose egress is enforced by stateful firewalls alone: the lab's effective inventory without ce-a
(IOS ACLs) and core-b (Linux, stateless by default), which stay in the path passing everything (their
normal state), so only fw-a (PAN-OS), fw-b (FortiOS) and ce-b (Junos) enforce. fw-a and fw-b are set to
keep established sessions across a policy change (rematch off, ``check-new``), like ce-b by default, so
it is egressctl's ``sessions`` step that must end them. Namespaces ``hs-*``, device ports from 24360;
traffic only inside them. Each test leaves the site at normal.

* isolate: the sessions ws1 and srv1 opened before it to denied canary ports (TCP and UDP) stop within
  2 s of the confirm; the always-allowed flows and the operators' SSH sessions survive; the watch on both
  capture points saw the allowed probes (verified);
* a restore to a stage drops none of the allowed flows held across it;
* with session kill disabled (a test fault), isolate exits 3 naming each surviving session;
* a watch on an idle link, or on the wrong interface, is unverified (exit 3 in the CLI, the reason shown).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.engine import Engine, TestFaults
from egressctl.events import DeviceStep, Event, Step, StepStatus
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import CapturePoint
from egressctl.verify.probe.active import verify_active
from egressctl.verify.watch.session import watch_site
from tests.support.labkit import running_lab
from tests.support.sessions_kit import connect

pytestmark = [pytest.mark.lab, pytest.mark.slow]
UNMANAGED = ("ce-a", "core-b")
STATEFUL = ("fw-a", "fw-b", "ce-b")
DEAD_WITHIN = 2.0


def keep_sessions(lab: Any) -> None:
    """fw-a and fw-b keep established sessions across a policy change (ce-b does by default)."""
    conn = connect(lab, "fw-a")
    try:
        conn.send_command("configure", expect_string=r"#")
        conn.send_command("set deviceconfig setting session rematch-sessions no", expect_string=r"#")
        assert "100%" in conn.send_command("commit", expect_string=r"100%", read_timeout=60)
        conn.send_command("exit", expect_string=r">")
    finally:
        conn.disconnect()
    conn = connect(lab, "fw-b")
    try:
        conn.send_config_set(["config system settings", "set firewall-session-dirty check-new", "end"])
    finally:
        conn.disconnect()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_lab(tmp_path_factory, "hs-", 24360) as instance:
        keep_sessions(instance)
        yield instance


@pytest.fixture(scope="module")
def stateful(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab's effective inventory without ce-a and core-b (unmanaged, still forwarding)."""
    doc = yaml.safe_load(Path(lab.inventory_path).read_text())
    doc.pop("lab", None)  # the topology section names every node; egressctl itself never reads it
    site = next(s for s in doc["sites"] if s["name"] == "lab")
    site["devices"] = [d for d in site["devices"] if d["name"] not in UNMANAGED]
    path = tmp_path_factory.mktemp("hs-inv") / "stateful.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert [d.name for d in load_inventory(path).site("lab").devices] == list(STATEFUL)
    return path


@pytest.fixture
def engine(lab: Any, stateful: Path) -> Iterator[Engine]:
    eng = Engine(stateful, state_dir=lab.state)
    try:
        yield eng
    finally:
        back = eng.restore("lab", full=True, verify=False)
        eng.close()
        assert back.exit_code == 0, back.message


def confirmed_at(events: list[Event]) -> dict[str, float]:
    """When each device's confirm succeeded."""
    return {e.device: e.at for e in events if isinstance(e, DeviceStep) and e.step is Step.CONFIRM
            and e.status is StepStatus.OK}


def session_steps(events: list[Event]) -> dict[str, float]:
    """Seconds each device's ``sessions`` step took."""
    start = {e.device: e.at for e in events if isinstance(e, DeviceStep) and e.step is Step.SESSIONS
             and e.status is StepStatus.STARTED}
    return {e.device: e.at - start[e.device] for e in events if isinstance(e, DeviceStep)
            and e.step is Step.SESSIONS and e.status is StepStatus.OK and e.device in start}


def test_isolate_ends_denied_sessions_and_keeps_allowed_ones(lab: Any, engine: Engine) -> None:
    operators = {name: connect(lab, name) for name in STATEFUL}  # the operators' SSH, open before the cut
    events: list[Event] = []
    try:
        res = engine.isolate("lab", sink=events.append)
        ver = res.verification
        assert ver is not None and res.exit_code == 0, res.message
        assert ver.verdict == "cut-confirmed" and ver.details["held_sessions_ok"], ver.summary
        held = ver.details["held_sessions"]
        confirms = confirmed_at(events)
        dead = [e for e in held if e["expect"] == "dead"]
        assert {(e["vantage"], e["proto"]) for e in dead} == {(v, p) for v in ("ws1", "srv1")
                                                             for p in ("tcp", "udp")}
        latest = 0.0
        for e in dead:
            assert e["observed"] == "dead" and e["last_answer_at"] is not None, e
            confirm = max(confirms[d] for d in e["devices"])
            latest = max(latest, e["last_answer_at"] - confirm)
            assert e["last_answer_at"] - confirm <= DEAD_WITHIN, (e, confirm)
        cert = [e for e in held if e["purpose"].startswith("allowed:cert-vpn")]
        assert {e["vantage"] for e in cert} == {"ws1", "srv1"}
        assert all(e["observed"] == "alive" and e["ok"] for e in cert), cert
        assert {e["exit"]: tuple(e["devices"]) for e in held} == {"primary": ("fw-a",),
                                                                 "backup": ("fw-b", "ce-b")}
        for name, conn in operators.items():
            assert conn.find_prompt(), f"the operators' session to {name} did not survive"
        watch = ver.details["watch"]
        assert ver.details["watch_ok"], watch["summary"]
        assert {c["liveness"]["status"] for c in watch["captures"].values()} == {"verified"}
        took = session_steps(events)
        print(f"\nsessions step per device: {json.dumps({k: round(v, 2) for k, v in took.items()})}; "
              f"last answer of a denied session {latest:.2f} s after its exit's confirm; "
              f"held-session cost: {ver.details['held_sessions_cost_s']}")
        assert set(took) == set(STATEFUL)
    finally:
        for conn in operators.values():
            conn.disconnect()


def test_restore_to_a_stage_keeps_the_allowed_flows(engine: Engine) -> None:
    assert engine.isolate("lab", verify=False).exit_code == 0
    res = engine.restore("lab", "ministry")
    ver = res.verification
    assert ver is not None and res.exit_code == 0, res.message
    held = ver.details["held_sessions"]
    assert ver.details["held_sessions_ok"] and held, ver.summary
    assert all(e["expect"] == "alive" and e["observed"] == "alive" for e in held), held
    purposes = {(e["vantage"], e["purpose"]) for e in held}
    for vp in ("ws1", "srv1"):
        assert {(vp, "allowed:cert-vpn"), (vp, "allowed:cert-vpn-tls"), (vp, "allowed:dns-fwd")} <= purposes
    assert "watch" not in ver.details  # only an isolation is watched


def test_without_session_kill_isolate_exits_3_naming_the_session(engine: Engine) -> None:
    res = engine.isolate("lab", faults=TestFaults(no_session_kill={"*"}))
    ver = res.verification
    assert ver is not None and res.exit_code == 3, res.message
    assert "leak" in ver.verdict and not ver.details["held_sessions_ok"]
    survived = [e for e in ver.details["held_sessions"] if e["expect"] == "dead" and e["observed"] == "alive"]
    assert {e["vantage"] for e in survived} == {"ws1", "srv1"}
    for e in survived:
        named = f"{e['src']}:{e['sport']} -> {e['dst']}:{e['dport']} via exit {e['exit']}"
        assert named in res.message and f"devices {', '.join(e['devices'])}" in res.message, named
    assert "SESSION LEAK" in ver.summary and set(ver.details["leaking_exits"]) == {"primary", "backup"}


def test_watch_on_idle_or_wrong_link_is_unverified(lab: Any) -> None:
    from egressctl_lab import node_exec_prefix

    site = load_inventory(lab.inventory_path).site("lab")

    def prefix(node: str) -> list[str]:
        return list(node_exec_prefix(node, state_dir=lab.state))

    idle = watch_site(site, "normal", 2.0, exec_prefix=prefix)  # nothing crosses the exits
    assert idle.verdict == "unverified" and not idle.ok, idle.summary
    assert {v["status"] for v in idle.liveness.values()} == {"unverified"}
    assert "no packet from the site" in idle.summary
    right = CapturePoint(exit="primary", netns="isp-a", interface="ce0")
    wrong = CapturePoint(exit="primary", netns="inet", interface="ispa0")  # behind the provider's NAT
    holder: dict[str, Any] = {}
    watcher = threading.Thread(target=lambda: holder.setdefault("w", watch_site(
        site, "normal", 3.0, exec_prefix=prefix, captures=[right, wrong])))
    watcher.start()
    time.sleep(1.0)  # both agents have opened their rings
    assert verify_active(site, "normal", exec_prefix=prefix).ok
    watcher.join(60)
    live = holder["w"].liveness
    assert live["primary (isp-a:ce0)"]["status"] == "verified", live
    assert live["primary (inet:ispa0)"]["status"] == "unverified" and live["primary (inet:ispa0)"][
        "site_packets"] == 0, live
    assert holder["w"].verdict == "unverified"


def test_cli_watch_on_an_idle_link_exits_3_with_the_reason(lab: Any, tmp_path: Path) -> None:
    import subprocess
    import sys
    import xml.etree.ElementTree as ET

    report = tmp_path / "watch.xml"
    res = subprocess.run([sys.executable, "-m", "egressctl.cli.main", "-i", str(lab.inventory_path), "verify",
                          "lab", "--watch", "2", "--stage", "normal", "--junit", str(report)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "watch unverified" in res.stdout and "no packet from the site" in res.stdout, res.stdout
    failures = {(c.get("classname"), c.get("name")): c.find("failure")
                for c in ET.parse(report).getroot().iter("testcase")}
    seen = [f for (_, name), f in failures.items() if name == "site traffic seen"]
    assert len(seen) == 2 and all(f is not None and f.get("type") == "unverified" for f in seen)
