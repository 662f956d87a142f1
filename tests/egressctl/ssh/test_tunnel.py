"""Jump hosts over real SSH: pinned keys checked before any credential leaves, forwarding to the target.

Two small asyncssh servers in a thread stand in for a bastion (password logins, ``direct-tcpip``
forwarding allowed) and a device behind it (password logins only); they record every authentication
attempt and every forwarded connection, so the tests can say that a wrong key was refused *before* any
password was sent. Full sessions through the lab's real OpenSSH bastion are in
``tests/lab/test_bastion_lab.py``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncssh
import pytest
from egressctl_lab import hostkeys

from egressctl.errors import AuthError, ConnectError, HostKeyMismatch
from egressctl.inventory.access import JumpHost
from egressctl.inventory.credentials import Secret
from egressctl.ssh.route import Endpoint, Route
from egressctl.ssh.tunnel import login, open_tunnel

pytestmark = pytest.mark.ssh
PASSWORD = "tun-Pa55word-9"


@dataclass
class Seen:
    """What one server saw: usernames that tried a password, and forwarding requests."""

    auths: list[str] = field(default_factory=list)
    forwards: list[tuple[str, int]] = field(default_factory=list)


def _server(seen: Seen) -> type[asyncssh.SSHServer]:
    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            seen.auths.append(username)
            return password == PASSWORD

        def connection_requested(self, dest_host: str, dest_port: int, orig_host: str,
                                 orig_port: int) -> bool:
            seen.forwards.append((dest_host, dest_port))
            return True

    return Server


@dataclass
class Pair:
    """The bastion and the device behind it: their ports and what each saw."""

    jump_port: int
    target_port: int
    jump: Seen
    target: Seen


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    keys = tmp_path_factory.mktemp("tunnel-keys")
    loop = asyncio.new_event_loop()
    holder: dict[str, Any] = {}
    ready = threading.Event()
    jump, target = Seen(), Seen()

    async def start() -> None:
        for name, seen in (("tun-jump", jump), ("tun-target", target)):
            key = hostkeys.write_private(name, keys / name)
            holder[name] = await asyncssh.create_server(_server(seen), "127.0.0.1", 0,
                                                        server_host_keys=[str(key)])

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    ports = {n: s.sockets[0].getsockname()[1] for n, s in holder.items()}
    try:
        yield Pair(ports["tun-jump"], ports["tun-target"], jump, target)
    finally:
        for server in holder.values():
            loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def _route(pair: Pair, *, jump_key: str = "tun-jump", target_key: str = "tun-target",
           target_port: int | None = None) -> Route:
    jump = JumpHost(name="bastion", credential="env:UNUSED", host_key=hostkeys.public_line(jump_key))
    hop = Endpoint("jump host bastion", "127.0.0.1", pair.jump_port, "ops", jump.host_key, jump=jump)
    target = Endpoint("device fw", "127.0.0.1", target_port or pair.target_port, "admin",
                      hostkeys.public_line(target_key))
    return Route(target, (hop,))


def _secret(_: JumpHost) -> Secret:
    return Secret(password=PASSWORD)


def _clear(pair: Pair) -> None:
    for seen in (pair.jump, pair.target):
        seen.auths.clear()
        seen.forwards.clear()


def test_through_the_jump_host_to_the_target(pair: Pair) -> None:
    _clear(pair)
    route = _route(pair)
    tunnel = open_tunnel(route, "fw", 5, _secret)
    try:
        client = login("fw", route.target, Secret(password=PASSWORD), tunnel.sock, 5)
        client.close()
    finally:
        tunnel.close()
    assert pair.jump.auths == ["ops"] and pair.jump.forwards == [("127.0.0.1", pair.target_port)]
    assert pair.target.auths == ["admin"]


def test_a_wrong_jump_key_is_refused_before_any_password(pair: Pair) -> None:
    _clear(pair)
    with pytest.raises(HostKeyMismatch, match=r"^fw: jump host bastion \(127\.0\.0\.1:\d+\): SSH host key is "
                                              "not the pinned one; nothing was sent to it"):
        open_tunnel(_route(pair, jump_key="someone-else"), "fw", 5, _secret)
    assert pair.jump.auths == [] and pair.target.auths == [] and pair.jump.forwards == []


def test_a_wrong_target_key_is_refused_before_its_password(pair: Pair) -> None:
    _clear(pair)
    route = _route(pair, target_key="someone-else")
    tunnel = open_tunnel(route, "fw", 5, _secret)
    try:
        with pytest.raises(HostKeyMismatch, match=r"device fw .*not the pinned one"):
            login("fw", route.target, Secret(password=PASSWORD), tunnel.sock, 5)
    finally:
        tunnel.close()
    assert pair.jump.auths == ["ops"] and pair.target.auths == []


def test_a_refused_jump_login_is_an_auth_error(pair: Pair) -> None:
    with pytest.raises(AuthError, match=r"jump host bastion .*authentication refused"):
        open_tunnel(_route(pair), "fw", 5, lambda _: Secret(password="tun-wrong-password"))


def test_an_unreachable_target_is_a_connect_error(pair: Pair) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(ConnectError, match=rf"jump host bastion .* could not reach 127\.0\.0\.1:{closed}"):
        open_tunnel(_route(pair, target_port=closed), "fw", 5, _secret)


def test_an_unresolvable_jump_credential_is_an_auth_error(pair: Pair) -> None:
    def missing(_: JumpHost) -> Secret:
        raise KeyError("credential env:NOPE: environment variable NOPE is not set")

    with pytest.raises(AuthError, match=r"jump host bastion: credential cannot be resolved"):
        open_tunnel(_route(pair), "fw", 5, missing)
