"""The emulators' shared SSH core: echo, Enter, NUL, secrets, chunks, close, shared state; clocks; nft."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
import pytest
from egressctl_lab import hostkeys
from egressctl_lab.emu import registry
from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec, Reply
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane, check, replace_script, table
from egressctl_lab.emu.server import RunningEmulator, crlf, serve_in_thread

PASSWORD = "x1-Secret-pw"
SPEC = DeviceSpec(name="x1-core", hostname="t1", username="admin", password=PASSWORD)


@dataclass
class _ProbeSession:
    """A tiny personality used only to test the core (a seam: it has no vendor behaviour)."""

    device: _ProbeDevice
    secret_next: bool = False

    def banner(self) -> str:
        return "Probe banner\n"

    def prompt(self) -> str:
        return "" if self.secret_next else "t1# "

    def handle(self, line: str) -> Reply:
        if self.secret_next:
            self.secret_next = False
            return Reply(text=f"secret length {len(line)}\n")
        if line == "secret":
            self.secret_next = True
            return Reply(text="Password: ", echo_next=False)  # prompt() is empty meanwhile
        if line == "bump":
            self.device.counter += 1
        if line == "count":
            return Reply(text=f"count={self.device.counter}\n")
        if line == "slow":
            return Reply(chunks=[(0.05, "step 1\n"), (0.05, "step 2\n")], text="done\n")
        if line == "quit":
            return Reply(close=True)
        if line == "boom":
            raise RuntimeError(f"failure while handling {PASSWORD}")
        return Reply(text=f"got [{line}]\n" if line else "")


@dataclass
class _ProbeDevice:
    spec: DeviceSpec
    keyboard_interactive: bool = False
    counter: int = 0
    sessions: list[str] = field(default_factory=list)

    def new_session(self, username: str) -> _ProbeSession:
        self.sessions.append(username)
        return _ProbeSession(self)

    def ruleset(self) -> str:
        return table("chain forward {\n type filter hook forward priority 0; policy accept;\n}")


def create_probe(spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> _ProbeDevice:
    return _ProbeDevice(spec)


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    registry.PERSONALITIES["x1-probe"] = f"{__name__}:create_probe"
    key = hostkeys.write_private("x1-core", tmp_path_factory.mktemp("k") / "key")
    running = serve_in_thread("x1-probe", SPEC, port=23201, host_key_path=key)
    try:
        yield running
    finally:
        running.stop()
        registry.PERSONALITIES.pop("x1-probe", None)


class Shell:
    def __init__(self, port: int) -> None:
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        self.client.connect("127.0.0.1", port, "admin", PASSWORD, look_for_keys=False, allow_agent=False)
        self.chan = self.client.invoke_shell(width=511, height=1000)
        self.buf = b""

    def read_until(self, marker: bytes, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            if time.monotonic() > deadline:
                raise AssertionError(f"{marker!r} not in {self.buf!r}")
            if self.chan.recv_ready():
                self.buf += self.chan.recv(65536)
            else:
                time.sleep(0.01)
        out, _, self.buf = self.buf.partition(marker)
        return out + marker

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def shell(emu: RunningEmulator) -> Iterator[Shell]:
    s = Shell(emu.port)
    try:
        s.read_until(b"t1# ")
        yield s
    finally:
        s.close()


@pytest.mark.ssh
def test_banner_then_prompt(emu: RunningEmulator) -> None:
    s = Shell(emu.port)
    try:
        assert s.read_until(b"t1# ") == b"Probe banner\r\nt1# "
    finally:
        s.close()


@pytest.mark.ssh
def test_echo_and_reply_in_one_write(shell: Shell) -> None:
    shell.chan.send(b"hello\n")
    assert shell.read_until(b"t1# ") == b"hello\r\ngot [hello]\r\nt1# "


@pytest.mark.ssh
@pytest.mark.parametrize("enter", [b"\r", b"\n", b"\r\n"])
def test_each_enter_form_is_one_enter(shell: Shell, enter: bytes) -> None:
    shell.chan.send(b"a" + enter + b"b" + enter)
    out = shell.read_until(b"got [b]\r\nt1# ")
    assert out == b"a\r\ngot [a]\r\nt1# b\r\ngot [b]\r\nt1# "
    time.sleep(0.1)
    assert shell.chan.recv_ready() is False


@pytest.mark.ssh
def test_cr_and_lf_split_across_packets(shell: Shell) -> None:
    shell.chan.send(b"x\r")
    shell.read_until(b"t1# ")
    shell.chan.send(b"\ny\n")
    assert shell.read_until(b"t1# ") == b"y\r\ngot [y]\r\nt1# "


@pytest.mark.ssh
def test_nul_keepalive_ignored_and_backspace(shell: Shell) -> None:
    shell.chan.send(b"\x00ab\x7fc\n")
    assert shell.read_until(b"t1# ") == b"ab\b \bc\r\ngot [ac]\r\nt1# "


@pytest.mark.ssh
def test_secret_is_not_echoed(shell: Shell) -> None:
    shell.chan.send(b"secret\n")
    assert shell.read_until(b"Password: ") == b"secret\r\nPassword: "
    shell.chan.send(b"hunter2\n")
    out = shell.read_until(b"t1# ")
    assert b"hunter2" not in out
    assert out == b"\r\nsecret length 7\r\nt1# "


@pytest.mark.ssh
def test_chunks_then_text_and_prompt(shell: Shell) -> None:
    shell.chan.send(b"slow\n")
    assert shell.read_until(b"t1# ") == b"slow\r\nstep 1\r\nstep 2\r\ndone\r\nt1# "


@pytest.mark.ssh
def test_ctrl_c_gives_new_prompt(shell: Shell) -> None:
    shell.chan.send(b"abc\x03")
    shell.read_until(b"t1# ")
    shell.chan.send(b"z\n")
    assert shell.read_until(b"t1# ") == b"z\r\ngot [z]\r\nt1# "


@pytest.mark.ssh
def test_sessions_share_one_device(emu: RunningEmulator) -> None:
    a, b = Shell(emu.port), Shell(emu.port)
    try:
        a.read_until(b"t1# ")
        b.read_until(b"t1# ")
        a.chan.send(b"bump\n")
        a.read_until(b"t1# ")
        b.chan.send(b"count\n")
        out = b.read_until(b"t1# ")
        assert b"count=" in out
        assert emu.call(lambda: emu.device.counter) >= 1  # type: ignore[attr-defined]
    finally:
        a.close()
        b.close()


@pytest.mark.ssh
def test_close_exits_with_status_zero(shell: Shell) -> None:
    shell.chan.send(b"quit\n")
    assert shell.chan.recv_exit_status() == 0


@pytest.mark.ssh
def test_personality_error_is_logged_redacted(shell: Shell, capfd: pytest.CaptureFixture[str]) -> None:
    shell.chan.send(b"boom\n")
    shell.read_until(b"t1# ")
    err = capfd.readouterr().err
    assert "RuntimeError" in err
    assert PASSWORD not in err


@pytest.mark.ssh
def test_wrong_password_refused(emu: RunningEmulator) -> None:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    with pytest.raises(paramiko.AuthenticationException):
        client.connect("127.0.0.1", emu.port, "admin", "wrong", look_for_keys=False, allow_agent=False)
    client.close()


@pytest.mark.ssh
def test_baseline_ruleset_given_to_dataplane(emu: RunningEmulator) -> None:
    assert isinstance(emu.dataplane, NullDataPlane)
    assert emu.dataplane.applied and "chain forward" in emu.dataplane.applied[0]


def test_crlf() -> None:
    assert crlf("a\nb\r\nc") == b"a\r\nb\r\nc"


def test_manual_clock_fires_in_order_and_cancels() -> None:
    clock = ManualClock()
    fired: list[str] = []
    clock.call_later(60, lambda: fired.append("b"))
    clock.call_later(30, lambda: fired.append("a"))
    cancel = clock.call_later(45, lambda: fired.append("x"))
    cancel()
    clock.advance(59)
    assert fired == ["a"]
    clock.advance(1)
    assert fired == ["a", "b"]
    assert clock.pending() == 0


@pytest.mark.ssh
def test_loop_clock_scales_time(emu: RunningEmulator) -> None:
    fired: list[float] = []
    start = time.monotonic()
    emu.clock.scale = 0.01
    try:
        emu.clock.call_later(10, lambda: fired.append(time.monotonic() - start))  # 10 device s = 0.1 s
        deadline = time.monotonic() + 3
        while not fired and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        emu.clock.scale = 1.0
    assert fired and fired[0] < 2.0


def test_replace_script_is_one_transaction() -> None:
    script = replace_script(table("chain c {\n}"))
    assert script.startswith("table inet egressctl_emu\ndelete table inet egressctl_emu\n")


needs_nft = pytest.mark.skipif(
    shutil.which("nft") is None or os.geteuid() != 0, reason="needs nft as root"
)


@pytest.mark.root
@needs_nft
def test_probe_ruleset_valid_for_nft() -> None:
    assert check(_ProbeDevice(SPEC).ruleset()) is None
    assert check(table("chain c {\n bogus\n}")) is not None


@pytest.mark.ssh
def test_process_entry_ready_and_sigterm(tmp_path: Path) -> None:
    """``python -m egressctl_lab.emu`` signals ready on the given fd and exits 0 on SIGTERM."""
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps({"name": "x1-proc", "hostname": "r9", "username": "admin",
                                     "password": PASSWORD, "interfaces": {"GigabitEthernet0/0": "gi0-0"}}))
    key = hostkeys.write_private("x1-proc", tmp_path / "key")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "egressctl_lab.emu", "--platform", "cisco_ios", "--spec-file", str(spec_file),
         "--listen", "127.0.0.1", "--port", "23202", "--host-key-file", str(key), "--time-scale", "0.1",
         "--ready-fd", str(write_fd), "--dataplane", "none"],
        pass_fds=(write_fd,), stderr=subprocess.PIPE, text=True,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as ready:
            assert ready.readline() == "ready\n"
        s = Shell(23202)
        try:
            assert s.read_until(b"r9#").endswith(b"r9#")  # privilege 15: enabled at login
        finally:
            s.close()
        proc.terminate()
        assert proc.wait(10) == 0
        assert proc.stderr is not None
        assert PASSWORD not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
