"""drivers/common: pinned host keys, credential handling and error translation over real SSH.

The SSH server here is a minimal asyncssh server (a test seam: it authenticates and opens nothing more),
enough to exercise paramiko's real host-key check and real password auth through netmiko's ConnectHandler.
Full sessions are exercised by the per-platform integration tests against the emulators.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import paramiko
import pytest
from egressctl_drivers.common import NetmikoDriverBase, PinnedHostKeys, map_netmiko_errors
from egressctl_drivers.common.errors import translate
from egressctl_lab import hostkeys
from netmiko.exceptions import ConfigInvalidException, NetmikoTimeoutException, ReadTimeout

from egressctl.driver import Capability, SafetyNet
from egressctl.errors import AuthError, CommandRejected, ConnectError, DeviceTimeout, HostKeyMismatch
from egressctl.inventory.credentials import Secret, redact, remember
from egressctl.inventory.models import Device

PORT = 23400
PASSWORD = "d1-Sup3r-s3cret-value"


class _Auth(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == "admin" and password == PASSWORD


@pytest.fixture(scope="module")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    key = hostkeys.write_private("d1-common", tmp_path_factory.mktemp("k") / "host_key")
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def start() -> None:
        holder["srv"] = await asyncssh.create_server(_Auth, "127.0.0.1", PORT, server_host_keys=[str(key)])

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(10)
    try:
        yield PORT
    finally:
        loop.call_soon_threadsafe(holder["srv"].close)
        loop.call_soon_threadsafe(loop.stop)
        t.join(5)


class _Probe(NetmikoDriverBase):
    platform = "linux_nftables"
    netmiko_device_type = "linux"
    capabilities = frozenset({Capability.IPV4})
    safety_net = SafetyNet.CONTROLLER_TIMER
    error_patterns = (r"^% Invalid input.*$",)


def _device(port: int, host_key: str) -> Device:
    return Device(
        name="d1-probe", platform="linux_nftables", host="127.0.0.1", port=port, username="admin",
        credential="env:D1_UNUSED", host_key=host_key, inside=["lan0"], outside=["wan0"], exit="primary",
        mgmt_address=ipaddress.ip_address("10.99.0.3"),
    )


def test_pinned_known_hosts_file_format() -> None:
    dev = _device(2222, hostkeys.public_line("x"))
    pins = PinnedHostKeys(dev)
    try:
        line = pins.path.read_text().strip()
        assert line == f"[127.0.0.1]:2222 {hostkeys.public_line('x')}"
        assert (pins.path.parent.stat().st_mode & 0o777) == 0o700
    finally:
        pins.cleanup()
    assert not pins.path.exists()


@pytest.mark.ssh
def test_wrong_host_key_is_host_key_mismatch(ssh_server: int) -> None:
    drv = _Probe(_device(ssh_server, hostkeys.public_line("someone-else")), timeout=5)
    with pytest.raises(HostKeyMismatch) as ei:
        drv.open(Secret(password=PASSWORD))
    assert ei.value.device == "d1-probe"
    assert drv._keys is None  # temp file removed on failure


@pytest.mark.ssh
def test_wrong_password_is_auth_error(ssh_server: int) -> None:
    remember("d1-wrong-password")
    drv = _Probe(_device(ssh_server, hostkeys.public_line("d1-common")), timeout=5)
    with pytest.raises(AuthError) as ei:
        drv.open(Secret(password="d1-wrong-password"))
    assert "d1-wrong-password" not in str(ei.value)


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
def test_closed_port_is_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    drv = _Probe(_device(free, hostkeys.public_line("d1-common")), timeout=3)
    with pytest.raises(ConnectError) as ei:
        drv.open(Secret(password=PASSWORD))
    assert not isinstance(ei.value, AuthError | HostKeyMismatch)


def test_unresolvable_credential_is_auth_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("D1_UNUSED", raising=False)
    with pytest.raises(AuthError):
        NetmikoDriverBase.resolve_secret(_device(22, hostkeys.public_line("x")))


def test_conn_without_open_is_connect_error() -> None:
    with pytest.raises(ConnectError):
        _ = _Probe(_device(22, hostkeys.public_line("x"))).conn


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (paramiko.BadHostKeyException("h", paramiko.RSAKey.generate(1024), paramiko.RSAKey.generate(1024)),
         HostKeyMismatch),
        (ReadTimeout("Pattern not detected"), DeviceTimeout),
        (TimeoutError("timed out"), DeviceTimeout),
        (NetmikoTimeoutException("TCP connection to device failed."), ConnectError),
        (EOFError(), ConnectError),
    ],
)
def test_translate(exc: BaseException, kind: type[Exception]) -> None:
    err = translate("d1-x", exc, "connect")
    assert type(err) is kind
    assert err.device == "d1-x"


def test_config_invalid_keeps_device_text() -> None:
    with pytest.raises(CommandRejected) as ei, map_netmiko_errors("d1-x"):
        raise ConfigInvalidException(
            "Invalid input detected at command: permit tcp bogus, matched error: % Invalid input detected at"
            " '^' marker."
        )
    assert ei.value.device_output == "% Invalid input detected at '^' marker."


def test_check_output_and_log_redaction(caplog: pytest.LogCaptureFixture) -> None:
    drv = _Probe(_device(22, hostkeys.public_line("x")))
    with pytest.raises(CommandRejected) as ei:
        drv.check_output("foo", "foo\n% Invalid input detected at '^' marker.\nr1#")
    assert ei.value.device_output == "% Invalid input detected at '^' marker."
    remember(PASSWORD)
    with caplog.at_level(logging.DEBUG, logger="netmiko"):
        logging.getLogger("netmiko").debug("write_channel: %s", f"b'{PASSWORD}\\n'")
    assert PASSWORD not in caplog.text
    assert redact(PASSWORD) == "***"


def test_known_hosts_reference_is_used_as_is(tmp_path: Path) -> None:
    kh = tmp_path / "kh"
    kh.write_text("")
    pins = PinnedHostKeys(_device(22, f"known_hosts:{kh}"))
    assert pins.path == kh
    pins.cleanup()
    assert kh.exists()
