"""The vantage-point side of held-open sessions: ``python -m egressctl.verify.probe --hold``.

Reads one job line (JSON: flows, interval, establish and total seconds) on stdin, opens every flow, and
prints one JSON line per event on stdout: ``ready`` once each flow has answered or failed (or the
establish time is up), ``marked`` when the controller writes ``mark`` (the change is done), and
``report`` when it writes ``report`` (or the deadline passes): per flow, how many answers and when the
last one came *relative to the mark*, so the two clocks never need to agree (the controller may be on
another host, over SSH). ``check`` gives the same report and goes on holding (``final`` false): the
controller looks again at flows that were silent. Every report lists when this agent really sent after
the mark (``sends_s``): an agent starved of CPU sends nothing, and its flows' silence then proves nothing.

Every flow sends a line (UDP: a datagram; UDP port 53: a tiny DNS query, so a real resolver answers too)
every ``interval`` seconds. An answer is an echoed line or datagram, or for TCP any acknowledgement from
the peer (``tcpi_last_ack_recv``): a server that does not echo but keeps the connection still proves the
path is open. Bounded: at most :data:`MAX_FLOWS` flows and :data:`MAX_SECONDS` seconds, and the agent ends
when its stdin closes (the controller died). Standard library only: it runs where only the package is.
"""

from __future__ import annotations

import errno
import json
import os
import select
import socket
import struct
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

MAX_FLOWS = 256
MAX_SECONDS = 3600.0
MAX_SENDS_REPORTED = 64  # the latest send rounds after the mark, in every report
TCP_INFO_LAST_ACK = 56  # offset of tcpi_last_ack_recv (ms, u32) in Linux's struct tcp_info
HOLD_LINE = b"HOLD egressctl held session\n"
DNS_QUERY = struct.pack("!HHHHHH", 0x4567, 0x0100, 1, 0, 0, 0) + b"\x00" + struct.pack("!HH", 2, 1)


@dataclass
class Flow:
    """One held flow and what was heard from it (times are this host's monotonic clock)."""

    id: str
    proto: str
    family: int
    dst: str
    dport: int
    src: str | None = None
    sock: socket.socket | None = None
    sport: int = 0
    connected: bool = False
    ended: str | None = None
    ended_at: float | None = None
    answers: int = 0
    first_answer: float | None = None
    last_answer: float | None = None

    def heard(self, at: float) -> None:
        """Record an answer at ``at``."""
        self.answers += 1
        self.first_answer = self.first_answer if self.first_answer is not None else at
        self.last_answer = at if self.last_answer is None else max(self.last_answer, at)

    def end(self, why: str) -> None:
        """The flow is over (peer closed, reset, error): stop using its socket."""
        if self.ended is None:
            self.ended, self.ended_at = why, time.monotonic()
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def open(self) -> None:
        """Create, bind and start connecting the socket (non-blocking)."""
        fam = socket.AF_INET if self.family == 4 else socket.AF_INET6
        kind = socket.SOCK_STREAM if self.proto == "tcp" else socket.SOCK_DGRAM
        self.sock = socket.socket(fam, kind)
        self.sock.setblocking(False)
        try:
            if self.src:
                self.sock.bind((self.src, 0))
            code = self.sock.connect_ex((self.dst, self.dport))
            if code not in (0, errno.EINPROGRESS):
                raise OSError(code, os.strerror(code))
            self.sport = int(self.sock.getsockname()[1])
        except OSError as exc:
            self.end(_why(exc))
            return
        if self.proto == "udp":
            self.connected = True

    def send(self, seq: int) -> None:
        """One line (TCP: the HOLD greeting first), datagram or DNS query; errors end TCP flows only."""
        if self.sock is None or not self.connected:
            return
        if self.proto == "tcp":
            data = HOLD_LINE if seq == 0 else f"held {seq}\n".encode()
        else:
            data = DNS_QUERY if self.dport == 53 else f"held {self.id} {seq}\n".encode()
        try:
            self.sock.send(data)
        except (BlockingIOError, ConnectionRefusedError):
            pass  # full buffer (the path is cut) or an ICMP refusal: not an answer, not the end of a flow
        except OSError as exc:
            if self.proto == "tcp":
                self.end(_why(exc))

    def receive(self, now: float) -> None:
        """Read what is there: data is an answer, an empty TCP read the peer's close."""
        assert self.sock is not None
        try:
            data = self.sock.recv(4096)
        except (BlockingIOError, InterruptedError, ConnectionRefusedError):
            return
        except OSError as exc:
            self.end(_why(exc))
            return
        if data:
            self.heard(now)
        elif self.proto == "tcp":
            self.end("closed by peer")

    def last_ack(self, now: float) -> None:
        """TCP: an acknowledgement from the peer since the last look is an answer too."""
        if self.sock is None or not self.connected or self.proto != "tcp":
            return
        try:
            info = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        except OSError:
            return
        if len(info) >= TCP_INFO_LAST_ACK + 4:
            at = now - struct.unpack_from("I", info, TCP_INFO_LAST_ACK)[0] / 1000
            if self.last_answer is None or at > self.last_answer + 0.01:  # jiffies: a few ms of jitter
                self.heard(at)

    def connect_done(self, now: float) -> None:
        """A connecting TCP socket became writable: the handshake answered, or failed."""
        assert self.sock is not None
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self.end(errno.errorcode.get(code, str(code)))
            return
        self.connected = True
        self.heard(now)
        self.send(0)


def _why(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, str(exc)) if exc.errno else str(exc)


def _emit(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


def flows_from_job(job: dict[str, Any]) -> list[Flow]:
    """The job's flows (at most :data:`MAX_FLOWS`); raises ValueError on anything malformed."""
    flows = [Flow(str(f["id"]), str(f["proto"]), int(f["family"]), str(f["dst"]), int(f["dport"]),
                  f.get("src")) for f in job["flows"]]
    if len(flows) > MAX_FLOWS or any(f.proto not in ("tcp", "udp") or f.family not in (4, 6)
                                     or not 0 < f.dport < 65536 for f in flows):
        raise ValueError("held-session job out of bounds")
    return flows


class Agent:
    """The loop: send every ``interval``, read answers, obey ``mark``/``report``, stop at the deadline."""

    def __init__(self, job: dict[str, Any], pending: bytes = b"") -> None:
        self.flows = flows_from_job(job)
        self.interval = max(0.05, float(job.get("interval", 0.2)))
        self.start = time.monotonic()
        self.establish_until = self.start + max(0.1, float(job.get("establish", 1.0)))
        self.deadline = self.start + min(MAX_SECONDS, float(job.get("seconds", 600.0)))
        self.mark: float | None = None
        self.ready = False
        self.seq = 1
        self.sends: deque[float] = deque(maxlen=MAX_SENDS_REPORTED)  # send rounds after the mark
        self._stdin = pending  # commands that came with the job's line

    def run(self) -> int:
        """Open the flows and serve until ``report``, stdin's end, or the deadline."""
        for f in self.flows:
            f.open()
            f.send(0)
        next_send = time.monotonic() + self.interval
        while (now := time.monotonic()) < self.deadline:
            self._maybe_ready(now)
            wake = min(next_send, self.deadline, *([] if self.ready else [self.establish_until]))
            if self._wait(max(0.0, wake - now)) == "stop":
                return 0
            now = time.monotonic()
            if now >= next_send:
                for f in self.flows:
                    f.last_ack(now)
                    f.send(self.seq)
                if self.mark is not None:
                    self.sends.append(now)
                self.seq += 1
                next_send = max(next_send + self.interval, now)
        self._report(expired=True)
        return 0

    def _maybe_ready(self, now: float) -> None:
        done = all(f.ended or f.answers for f in self.flows)
        if not self.ready and (done or now >= self.establish_until):
            self.ready = True
            _emit({"event": "ready", "host": socket.gethostname(), "flows": [
                {"id": f.id, "src": f.src, "sport": f.sport, "established": bool(f.answers),
                 "error": f.ended} for f in self.flows]})

    def _wait(self, timeout: float) -> str | None:
        reading = {f.sock: f for f in self.flows if f.sock is not None and f.connected}
        connecting = {f.sock: f for f in self.flows if f.sock is not None and not f.connected}
        r, w, _ = select.select([sys.stdin.fileno(), *reading], list(connecting), [], timeout)
        now = time.monotonic()
        for sock in w:
            connecting[sock].connect_done(now)
        for ready in r:
            if ready in reading and reading[ready].sock is not None:
                reading[ready].receive(now)
        return self._command() if sys.stdin.fileno() in r else None

    def _command(self) -> str | None:
        chunk = os.read(sys.stdin.fileno(), 4096)
        if not chunk:
            return "stop"  # the controller is gone: nothing will ever ask for the report
        self._stdin += chunk
        while b"\n" in self._stdin:
            line, self._stdin = self._stdin.split(b"\n", 1)
            word = line.strip().decode(errors="replace")
            if word == "mark":
                self.mark = time.monotonic()
                _emit({"event": "marked"})
            elif word == "check":
                self._report(expired=False, final=False)
            elif word == "report":
                self._report(expired=False)
                return "stop"
        return None

    def _report(self, expired: bool, final: bool = True) -> None:
        now = time.monotonic()
        base = self.mark if self.mark is not None else now

        def rel(t: float | None) -> float | None:
            return None if t is None else round(t - base, 3)

        _emit({"event": "report", "expired": expired, "marked": self.mark is not None, "final": final,
               "window_s": round(now - base, 3), "sends_s": [rel(t) for t in self.sends], "flows": [
                   {"id": f.id, "src": f.src, "sport": f.sport, "answers": f.answers, "ended": f.ended,
                    "ended_s": rel(f.ended_at), "first_answer_s": rel(f.first_answer),
                    "last_answer_s": rel(f.last_answer)}
                   for f in self.flows]})


def main() -> int:
    """Entry point: the job on stdin's first line, events on stdout."""
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(sys.stdin.fileno(), 65536)
        if not chunk:
            break
        line += chunk
    head, _, rest = line.partition(b"\n")
    try:
        agent = Agent(json.loads(head), rest)
    except (ValueError, KeyError, TypeError) as exc:
        _emit({"event": "error", "error": f"malformed held-session job: {exc}"})
        return 2
    return agent.run()
