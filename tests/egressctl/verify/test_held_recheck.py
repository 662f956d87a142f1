"""Held sessions on a starved machine: silence is a verdict only with evidence, and never a looser leak rule.

Real agents (``python -m egressctl.verify.probe --hold``) on the loopback against a UDP echo: an agent
stopped with SIGSTOP across the report window stands for one starved of CPU, an echo that holds its answers
for a peer starved of CPU. Ten sites proving at once on two cores did both, and allowed sessions were
reported dropped.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from egressctl.verify.held.plan import HeldFlow
from egressctl.verify.held.recheck import MIN_SENDS, drop_unproven, evidence, unsettled
from egressctl.verify.held.session import HeldSessions
from tests.support.labkit import lab_site


class Echo:
    """UDP echo on two ports: ``allowed`` (paused while ``hold`` is set) and ``denied`` (silent once cut)."""

    def __init__(self) -> None:
        self.hold, self.cut, self.stop = threading.Event(), threading.Event(), threading.Event()
        self.socks = {n: socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for n in ("allowed", "denied")}
        for sock in self.socks.values():
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(0.05)
        self.port = {name: int(s.getsockname()[1]) for name, s in self.socks.items()}
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        late: list[tuple[bytes, tuple[str, int]]] = []
        while not self.stop.is_set():
            for name, sock in self.socks.items():
                try:
                    data, peer = sock.recvfrom(2048)
                except OSError:
                    continue
                if name == "denied" and not self.cut.is_set():
                    sock.sendto(data, peer)
                elif name == "allowed":
                    late.append((data, peer))
            if not self.hold.is_set():
                for data, peer in late:
                    self.socks["allowed"].sendto(data, peer)
                late.clear()


@pytest.fixture
def echo() -> Iterator[Echo]:
    srv = Echo()
    try:
        yield srv
    finally:
        srv.stop.set()
        srv.thread.join(2)
        for sock in srv.socks.values():
            sock.close()


def flows(echo: Echo) -> dict[str, list[HeldFlow]]:
    def one(i: int, name: str, expect: str) -> HeldFlow:
        return HeldFlow(f"ws1:{i}", "ws1", "primary", ("fw-a",), 4, "udp", "127.0.0.1", "127.0.0.1",
                        echo.port[name], expect, f"{name}")  # type: ignore[arg-type]

    return {"ws1": [one(0, "allowed", "alive"), one(1, "denied", "dead")]}


def hold(echo: Echo, tmp_path: Path) -> tuple[HeldSessions, Path]:
    """Agents whose pid lands in a file (the shell execs the agent), so a test can stop them."""
    pid = tmp_path / "agent.pid"
    wrap = ["sh", "-c", f'echo $$ > {pid}; exec "$@"', "sh"]
    held = HeldSessions.hold(lab_site(), flows(echo), exec_prefix=lambda ns: wrap, seconds=30)
    assert not held.errors and all(r["established"] for r in held.ready["ws1"].values())
    return held, pid


def starve(pid: Path, seconds: float) -> None:
    """The agent gets no CPU for ``seconds`` (SIGSTOP), then goes on."""
    agent = int(pid.read_text())
    os.kill(agent, signal.SIGSTOP)
    time.sleep(seconds)
    os.kill(agent, signal.SIGCONT)


def observed(held: HeldSessions, **kw: float) -> tuple[dict[str, str], dict[str, str], int]:
    try:
        report = held.collect(grace=0.3, window=1.0, **kw)
    finally:
        held.close()
    return {e["purpose"]: e["observed"] for e in report.entries}, report.errors, int(report.cost_s["looks"])


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
def test_a_starved_agents_silence_proves_nothing(echo: Echo, tmp_path: Path) -> None:
    held, pid = hold(echo, tmp_path)
    echo.cut.set()
    held.mark()
    starve(pid, 1.2)  # the agent slept through the whole window: nothing it did not send can answer
    got, errors, looks = observed(held, recheck=0.0)
    assert got == {"allowed": "unknown", "denied": "unknown"} and looks == 1
    assert "starved of CPU" in errors["ws1"]


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
def test_a_starved_agent_is_looked_at_again_until_its_silence_is_evidence(echo: Echo, tmp_path: Path) -> None:
    held, pid = hold(echo, tmp_path)
    echo.cut.set()
    held.mark()
    threading.Thread(target=starve, args=(pid, 1.2), daemon=True).start()
    got, errors, looks = observed(held, recheck=6.0)
    assert got == {"allowed": "alive", "denied": "dead"} and not errors and looks > 1


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
def test_an_allowed_flow_answered_late_by_a_starved_peer_is_alive(echo: Echo, tmp_path: Path) -> None:
    held, _ = hold(echo, tmp_path)
    echo.hold.set()  # the peer answers nothing during the first window...
    held.mark()
    threading.Timer(1.6, echo.hold.clear).start()  # ...and everything after it
    got, errors, looks = observed(held, recheck=6.0)
    assert got["allowed"] == "alive" and looks > 1 and not errors


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
def test_an_allowed_flow_cut_for_good_is_still_dropped(echo: Echo, tmp_path: Path) -> None:
    held, _ = hold(echo, tmp_path)
    echo.hold.set()  # never answers again: the re-checks end and the session is dropped, as before
    held.mark()
    begin = time.monotonic()
    got, errors, _ = observed(held, recheck=2.0)
    assert got["allowed"] == "dead" and not errors and time.monotonic() - begin < 6.0


def test_a_denied_flow_answering_after_the_grace_is_a_leak_on_any_evidence() -> None:
    flow = HeldFlow("ws1:1", "ws1", "primary", ("fw-a",), 4, "udp", "10.0.0.1", "192.0.2.80", 53, "dead",
                    "c2")
    ready = {"ws1": {"ws1:1": {"established": True, "sport": 5}}}
    starved = {"marked": True, "window_s": 1.5, "sends_s": [0.1],
               "flows": [{"id": "ws1:1", "last_answer_s": 1.2, "ended": None}]}
    reports = {"ws1": starved}
    assert evidence(starved, 0.5) < MIN_SENDS
    assert unsettled({"ws1": [flow]}, ready, reports, 0.5) == []  # an answer is no silence: nothing to wait
    errors: dict[str, str] = {}
    drop_unproven({"ws1": [flow]}, ready, reports, errors, 0.5)
    assert reports["ws1"]["flows"] and not errors  # kept, so judged alive: a leak


def test_an_agent_that_does_not_list_its_sends_is_judged_as_before() -> None:
    assert evidence({"window_s": 1.5, "flows": []}, 0.5) == MIN_SENDS
