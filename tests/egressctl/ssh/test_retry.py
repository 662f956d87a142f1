"""One connect retry, with a pause, on transient failures only (never on authentication or host keys).

Checked on the policy itself and through a driver's ``open``, with netmiko's ``ConnectHandler`` replaced
by a stand-in that fails as netmiko does (its own exceptions, translated by the driver's error mapping).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import paramiko
import pytest
from egressctl_drivers.common import NetmikoDriverBase
from egressctl_lab import hostkeys
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

from egressctl.driver import Capability, SafetyNet
from egressctl.errors import AuthError, CommandRejected, ConnectError, DeviceTimeout, HostKeyMismatch
from egressctl.inventory.credentials import Secret
from egressctl.inventory.models import Device
from egressctl.ssh.retry import is_transient, retry_once


@pytest.mark.parametrize(("exc", "transient"), [
    (ConnectError("d", "refused"), True),
    (DeviceTimeout("d", "no answer"), True),
    (AuthError("d", "refused"), False),
    (HostKeyMismatch("d", "not the pin"), False),
    (CommandRejected("d", "line rejected"), False),
    (ValueError("bug"), False),
])
def test_what_is_transient(exc: Exception, transient: bool) -> None:
    assert is_transient(exc) is transient


def _flaky(errors: list[Exception]) -> tuple[Callable[[], str], list[int]]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "ok"

    return attempt, calls


def test_retries_once_after_the_backoff() -> None:
    slept: list[float] = []
    attempt, calls = _flaky([ConnectError("d", "reset")])
    assert retry_once(attempt, backoff=1.5, sleep=slept.append) == "ok"
    assert len(calls) == 2 and slept == [1.5]


def test_a_second_failure_is_raised() -> None:
    slept: list[float] = []
    attempt, calls = _flaky([DeviceTimeout("d", "first"), DeviceTimeout("d", "second")])
    with pytest.raises(DeviceTimeout, match="second"):
        retry_once(attempt, sleep=slept.append)
    assert len(calls) == 2 and len(slept) == 1


@pytest.mark.parametrize("exc", [AuthError("d", "refused"), HostKeyMismatch("d", "not the pin")])
def test_never_retries_auth_or_host_key(exc: Exception) -> None:
    slept: list[float] = []
    attempt, calls = _flaky([exc])
    with pytest.raises(type(exc)):
        retry_once(attempt, sleep=slept.append)
    assert len(calls) == 1 and slept == []


class _Probe(NetmikoDriverBase):
    platform = "linux_nftables"
    netmiko_device_type = "linux"
    capabilities = frozenset({Capability.IPV4})
    safety_net = SafetyNet.CONTROLLER_TIMER
    connect_backoff = 0.01


def _device() -> Device:
    return Device(name="d1-retry", platform="linux_nftables", host="127.0.0.1", port=2222, username="admin",
                  credential="env:D1_UNUSED", host_key=hostkeys.public_line("x"), inside=["lan0"],
                  outside=["wan0"], exit="primary", mgmt_address=ipaddress.ip_address("10.99.0.3"))


class _Conn:
    def disconnect(self) -> None:
        """Nothing to close."""


def _connect_handler(monkeypatch: pytest.MonkeyPatch, errors: list[BaseException]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def fake(**params: Any) -> _Conn:
        seen.append(params)
        if errors:
            raise errors.pop(0)
        return _Conn()

    monkeypatch.setattr("egressctl_drivers.common.session.ConnectHandler", fake)
    monkeypatch.setenv("HOME", "/nonexistent")  # no ~/.ssh/config of the machine running the tests
    return seen


@pytest.mark.parametrize("first", [
    NetmikoTimeoutException("TCP connection to device failed."),
    TimeoutError("timed out"),
    ConnectionResetError(104, "Connection reset by peer"),
])
def test_driver_open_retries_a_transient_connect(monkeypatch: pytest.MonkeyPatch,
                                                 first: BaseException) -> None:
    seen = _connect_handler(monkeypatch, [first])
    drv = _Probe(_device(), timeout=1)
    drv.open(Secret(password="pw"))
    assert len(seen) == 2 and drv.conn is not None
    drv.close()


@pytest.mark.parametrize(("first", "kind"), [
    (NetmikoAuthenticationException("Authentication to device failed."), AuthError),
    (paramiko.BadHostKeyException("h", paramiko.RSAKey.generate(1024), paramiko.RSAKey.generate(1024)),
     HostKeyMismatch),
])
def test_driver_open_never_retries_auth_or_host_key(monkeypatch: pytest.MonkeyPatch, first: BaseException,
                                                    kind: type[Exception]) -> None:
    seen = _connect_handler(monkeypatch, [first])
    with pytest.raises(kind):
        _Probe(_device(), timeout=1).open(Secret(password="pw"))
    assert len(seen) == 1


def test_driver_open_gives_up_after_one_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    errors: list[BaseException] = [EOFError(), EOFError(), EOFError()]
    seen = _connect_handler(monkeypatch, errors)
    drv = _Probe(_device(), timeout=1)
    with pytest.raises(ConnectError):
        drv.open(Secret(password="pw"))
    assert len(seen) == 2 and drv._keys is None and drv._tunnel is None
