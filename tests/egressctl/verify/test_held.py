"""Held-open sessions without a lab: the plan, the agent over loopback, the verdict, the joint proof.

The agent runs for real (``python -m egressctl.verify.probe --hold`` as a child process) against echo
servers on 127.0.0.1 that this test "cuts" after the sessions are up: a UDP flow that goes silent, a TCP
flow reset by the server, one that keeps answering (a surviving denied session: a leak), an allowed one
that keeps answering, and a port nothing listens on (never held, so skipped).
"""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from egressctl.policy import compute_policy
from egressctl.verify.held.plan import HeldFlow, exit_devices, plan_flows
from egressctl.verify.held.session import HeldSessions
from egressctl.verify.held.verdict import HeldReport, judge
from egressctl.verify.probe.active import ActiveReport, Observation
from egressctl.verify.probe.matrix import build_matrix
from egressctl.verify.probe.records import ProbeResult
from egressctl.verify.proof import Proof
from egressctl.verify.watch.report import WatchReport
from tests.support.labkit import lab_site


def test_plan_isolated_holds_every_allowed_cell_and_one_denied_per_destination_and_protocol() -> None:
    site = lab_site()
    flows = plan_flows(site, compute_policy(site, "isolated"))
    assert set(flows) == {"ws1", "srv1"}
    for vp, held in flows.items():
        cells = [c for c in build_matrix(site, "isolated")[vp] if c.proto != "icmp"]
        allowed = [(c.dst, c.proto, c.port) for c in cells if c.expected == "reachable"]
        assert [(f.dst, f.proto, f.dport) for f in held if f.expect == "alive"] == allowed
        denied = [(f.dst, f.proto) for f in held if f.expect == "dead"]
        assert sorted(denied) == sorted({(c.dst, c.proto) for c in cells if c.expected == "blocked"})
        assert ("192.0.2.80", "tcp", 25) in [(f.dst, f.proto, f.dport) for f in held]  # the first port
        assert {f.devices for f in held} == {exit_devices(site, held[0].exit)}
    assert exit_devices(site, "primary") == ("fw-a", "ce-a")
    assert {f.purpose for f in flows["ws1"] if f.expect == "alive"} >= {"allowed:cert-vpn", "allowed:dns-fwd"}


def test_plan_leaves_out_what_the_current_state_denies() -> None:
    site = lab_site()
    flows = plan_flows(site, compute_policy(site, "ministry"), compute_policy(site, "isolated"))
    every = [f for held in flows.values() for f in held]
    assert every and all(f.expect == "alive" for f in every)
    assert not any(f.purpose.startswith(("canary:", "allowed:ministry", "allowed:mail")) for f in every)


# --- the agent over loopback --------------------------------------------------------------------------------
class Echo:
    """Echo servers on 127.0.0.1; after :meth:`cut`, the ``denied`` ones go silent or reset."""

    def __init__(self) -> None:
        self.cut_at: float | None = None
        self.stop = threading.Event()
        self.udp = {name: self._udp(name) for name in ("allowed", "denied", "leaky")}
        self.tcp_port, self._tcp_sock = self._listen()
        self.refused = self._free_port()

    @staticmethod
    def _free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def _udp(self, name: str) -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.1)

        def serve() -> None:
            while not self.stop.is_set():
                try:
                    data, peer = s.recvfrom(2048)
                except OSError:
                    continue
                if name != "denied" or self.cut_at is None:
                    s.sendto(data, peer)
            s.close()

        threading.Thread(target=serve, daemon=True).start()
        return int(s.getsockname()[1])

    def _listen(self) -> tuple[int, socket.socket]:
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        lst.listen(4)
        lst.settimeout(0.1)

        def serve() -> None:
            while not self.stop.is_set():
                try:
                    conn, _ = lst.accept()
                except OSError:
                    continue
                threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()
        return int(lst.getsockname()[1]), lst

    def _echo(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        while not self.stop.is_set():
            if self.cut_at is not None:  # a device ending the session: the connection is reset
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                break
            try:
                data = conn.recv(4096)
            except TimeoutError:
                continue
            if not data:
                break
            conn.sendall(data)
        conn.close()

    def cut(self) -> None:
        self.cut_at = time.monotonic()


@pytest.fixture
def echo() -> Iterator[Echo]:
    srv = Echo()
    try:
        yield srv
    finally:
        srv.stop.set()
        srv._tcp_sock.close()


def flow(i: int, proto: str, port: int, expect: str, purpose: str) -> HeldFlow:
    return HeldFlow(f"ws1:{i}", "ws1", "primary", ("fw-a",), 4, proto, "127.0.0.1", "127.0.0.1", port,
                    expect, purpose)  # type: ignore[arg-type]


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
def test_agent_tells_dead_from_alive_across_a_cut(echo: Echo) -> None:
    flows = {"ws1": [flow(0, "udp", echo.udp["allowed"], "alive", "allowed:vpn"),
                     flow(1, "udp", echo.udp["denied"], "dead", "canary:c2-udp"),
                     flow(2, "tcp", echo.tcp_port, "dead", "canary:c2-tcp"),
                     flow(3, "udp", echo.udp["leaky"], "dead", "canary:leaky"),
                     flow(4, "tcp", echo.refused, "dead", "canary:closed")]}
    held = HeldSessions.hold(lab_site(), flows, exec_prefix=lambda ns: [], seconds=30)
    try:
        assert not held.errors and held.start_s < 1.5
        ready = held.ready["ws1"]
        assert [ready[f"ws1:{i}"]["established"] for i in range(5)] == [True, True, True, True, False]
        echo.cut()  # the change: the device resets or drops the denied sessions, then the mark
        time.sleep(0.2)
        held.mark()
        report = held.collect(grace=0.3, window=1.2)
    finally:
        held.close()
    got = {e["purpose"]: (e["observed"], e["ok"]) for e in report.entries}
    assert got == {"allowed:vpn": ("alive", True), "canary:c2-udp": ("dead", True),
                   "canary:c2-tcp": ("dead", True), "canary:leaky": ("alive", False)}
    assert [s["purpose"] for s in report.skipped] == ["canary:closed"]
    assert report.problems == ["leak"] and report.leaking_exits == ["primary"] and not report.ok
    leak = next(e for e in report.entries if e["purpose"] == "canary:leaky")
    assert leak["sport"] > 0 and leak["devices"] == ["fw-a"] and leak["last_answer_s"] > 0.3
    assert any("SESSION LEAK: ws1 udp 127.0.0.1:" in ln and "via exit primary (devices fw-a" in ln
               for ln in report.summary_lines())


def agent(job: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "egressctl.verify.probe", "--hold"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def test_agent_refuses_a_malformed_job_and_ends_with_its_stdin() -> None:
    bad = agent("")
    out, _ = bad.communicate('{"flows": [{"id": "x", "proto": "icmp", "family": 4, "dst": "1.2.3.4", '
                             '"dport": 1}]}\n', timeout=20)
    assert bad.returncode == 2 and json.loads(out)["event"] == "error"
    ok = agent("")
    start = time.monotonic()
    out, _ = ok.communicate('{"flows": [], "seconds": 600}\n', timeout=20)  # stdin closes right after
    assert ok.returncode == 0 and time.monotonic() - start < 10
    assert json.loads(out.splitlines()[0])["event"] == "ready"


# --- the verdict --------------------------------------------------------------------------------------------
def seen(first: float | None, last: float | None, ended: str | None = None,
         ended_s: float | None = None) -> dict[str, Any]:
    return {"sport": 40000, "first_answer_s": first, "last_answer_s": last, "ended": ended,
            "ended_s": ended_s}


HELD, NOT_HELD = {"established": True}, {"established": False}


@pytest.mark.parametrize(("expect", "ready", "report", "observed"), [
    ("dead", HELD, seen(-3.0, -0.1), "dead"),
    ("dead", HELD, seen(-3.0, 0.4), "dead"),  # within the grace: in flight at the change
    ("dead", HELD, seen(-3.0, 1.4), "alive"),
    ("dead", HELD, seen(-3.0, -0.2, "ECONNRESET", -0.1), "dead"),  # reset by the device's sessions step
    ("dead", NOT_HELD, seen(0.9, 1.4), "alive"),  # a denied flow answering after the change: a leak anyway
    ("alive", HELD, seen(-3.0, 1.4), "alive"),
    ("alive", HELD, seen(-3.0, -1.0), "dead"),
    ("alive", HELD, seen(-3.0, -2.0, "closed by peer", -1.5), "dead"),  # ended during the change
    ("alive", NOT_HELD, seen(0.9, 1.4), None),  # opened by the change: nothing was held
    ("dead", {"established": False, "error": "ETIMEDOUT"}, seen(None, None, "ETIMEDOUT"), None),
])
def test_judge(expect: str, ready: dict[str, Any], report: dict[str, Any], observed: str | None) -> None:
    f = replace(flow(0, "tcp", 443, expect, "x"), dst="192.0.2.80")
    reports = {"ws1": {"flows": [{"id": "ws1:0", **report}]}}
    rep = judge({"ws1": [f]}, {"ws1": {"ws1:0": ready}}, reports, {}, 0.5, 1000.0)
    if observed is None:
        assert rep.entries == [] and len(rep.skipped) == 1 and rep.ok
        return
    (entry,) = rep.entries
    assert entry["observed"] == observed and entry["ok"] == (observed == expect)
    assert entry["last_answer_at"] == pytest.approx(1000.0 + report["last_answer_s"])


def test_a_vantage_point_without_a_report_is_unknown_never_a_pass() -> None:
    f = flow(0, "udp", 53, "dead", "canary:dns")
    rep = judge({"ws1": [f]}, {"ws1": {"ws1:0": {"sport": 5}}}, {}, {"ws1": "agent exited 1"}, 0.5, 0.0)
    assert [(e["observed"], e["ok"], e["sport"]) for e in rep.entries] == [("unknown", False, 5)]
    assert rep.problems == ["unverified"] and not rep.ok


# --- the joint proof ----------------------------------------------------------------------------------------
def active_ok(target: str = "isolated") -> ActiveReport:
    site = lab_site()
    obs = [Observation(c, ProbeResult(f"{vp}:{i}", "answered" if c.expected == "reachable" else "silent",
                                      "x")) for vp, cells in build_matrix(site, target).items()
           for i, c in enumerate(cells)]
    return ActiveReport("lab", target, obs)


def watch(subject: int, permitted: int) -> WatchReport:
    counters = {"packets": subject + 3, "leaks": 0, "subject": subject, "permitted": permitted}
    return WatchReport("lab", "isolated", 3.0, {"primary (isp-a:ce0)": {
        "counters": counters, "kernel_drops": 0, "unverified": 0}})


def test_proof_verdict_joins_the_matrix_the_held_sessions_and_the_watch() -> None:
    assert Proof(active_ok(), HeldReport(), watch(5, 5)).verdict == "cut-confirmed"
    assert Proof(active_ok(), None, watch(0, 0)).verdict == "unverified"
    assert Proof(active_ok(), None, watch(4, 0)).verdict == "unverified"
    assert Proof(active_ok(), None, None, watch_error="boom").verdict == "unverified"
    f = flow(0, "tcp", 80, "dead", "canary:web")
    reports = {"ws1": {"flows": [{"id": "ws1:0", **seen(-2.0, 1.3)}]}}
    leak = judge({"ws1": [f]}, {"ws1": {"ws1:0": HELD}}, reports, {}, 0.5, 0.0)
    proof = Proof(active_ok(), leak, watch(5, 5))
    assert proof.verdict == "leak" and not proof.ok and proof.leaking_exits == ["primary"]
    doc = proof.to_dict()
    assert doc["held_sessions_ok"] is False and doc["watch_ok"] is True
    assert doc["summary"].startswith("leak: ") and "SESSION LEAK" in doc["summary"]
    assert doc["watch"]["captures"]["primary (isp-a:ce0)"]["liveness"]["status"] == "verified"


def test_an_agent_that_cannot_start_leaves_its_flows_unknown() -> None:
    flows = {"ws1": [flow(0, "udp", 9, "dead", "canary:x"), flow(1, "tcp", 9, "alive", "allowed:y")]}
    failing = ["sh", "-c", "echo no such ns >&2; exit 1"]
    held = HeldSessions.hold(lab_site(), flows, exec_prefix=lambda ns: failing)
    try:
        assert "agent exited 1: no such ns" in held.errors["ws1"]
        report = held.collect(window=0.0)
    finally:
        held.close()
    assert [e["observed"] for e in report.entries] == ["unknown", "unknown"]
    assert not report.ok and report.problems == ["unverified"]
    assert any("held-session agent on ws1 failed" in ln for ln in report.summary_lines())
