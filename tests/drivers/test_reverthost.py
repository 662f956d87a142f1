"""The revert host reached as the site reaches it: ssh_config's Host entry, a ProxyJump chain, pinned keys.

``RevertHost`` (the PAN-OS and ASA safety net's host side) resolves its endpoint with
:func:`egressctl.ssh.route.jump_route`, the path a device's ``jump:`` takes: the inventory entry's fields
win, ssh_config fills in ``HostName``/``Port``/``User``/``IdentityFile`` and its own ``ProxyJump`` is
followed, every hop pinned. The first tests are pure (no connection). The last ones (marker ``ssh``) log in
for real to two
small asyncssh servers in a thread: ``outer`` (a password bastion that forwards) and ``vault`` (the revert
host behind it, public-key logins only, every ``exec`` recorded), so the chain, the ssh_config
``IdentityFile`` and the pins are exercised end to end in well under a second. The lab version, through a
real OpenSSH bastion and a real job, is ``tests/lab/test_reverthost_lab.py``.
"""

from __future__ import annotations

import asyncio
import re
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
import pytest
from egressctl_drivers.common.reverthost import RevertHost, revert_host
from egressctl_lab import hostkeys

from egressctl.errors import ConnectError, DeviceError, HostKeyMismatch
from egressctl.inventory.loader import parse_inventory
from egressctl.inventory.models import Device
from tests.support.engine_double import inventory_yaml

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJFqmyvplbwGX28UwMlT/Yd4A7bb9Ikqe9ewOYRdZ8oG"
OTHER = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINrT6cctQXuGrkKX9L+8XQyWCl8+4rziQbgEkFGytD4M"
PASSWORD = "rh-outer-Pa55-17"


def _device(tmp_path: Path, config: str, jumps: str, *, device_config: str | None = None) -> Device:
    """dev1 of a site whose ssh_config is ``config``, with ``jumps`` pinned and ``revert_host: vault``."""
    site_cfg = tmp_path / "site_ssh_config"
    site_cfg.write_text(textwrap.dedent(config))
    pins = textwrap.indent(textwrap.dedent(jumps), "      ")
    extra = f"    ssh_config: {site_cfg}\n    jump_hosts:\n{pins}"
    text = inventory_yaml(devices=1).replace("    devices:\n", extra + "    devices:\n", 1)
    own = "options:\n  revert_host: vault\n"
    if device_config is not None:
        dev_cfg = tmp_path / "device_ssh_config"
        dev_cfg.write_text(textwrap.dedent(device_config))
        own += f"ssh_config: {dev_cfg}\n"
    first = "        mgmt_address: 10.99.0.1\n"
    text = text.replace(first, first + textwrap.indent(own, "        "), 1)
    return parse_inventory(text, "t.yaml").site("hq").device("dev1")


def _revert_host(device: Device) -> RevertHost:
    host = revert_host(device)
    assert host is not None
    return RevertHost(device, host, 5.0)


def test_the_endpoint_comes_from_the_ssh_config_host_entry_alone(tmp_path: Path) -> None:
    key = tmp_path / "id_vault"
    key.write_text("not read here")
    dev = _device(tmp_path, f"""
        Host vault
          HostName 192.0.2.44
          Port 2244
          User keeper
          IdentityFile {tmp_path}/missing
          IdentityFile {key}
        """, f"- name: vault\n  host_key: {KEY}\n")
    route = _revert_host(dev).route()
    target = route.target
    assert (target.host, target.port, target.username) == ("192.0.2.44", 2244, "keeper")
    assert (target.host_key, target.identity_file, target.label) == (KEY, str(key), "revert host vault")
    assert route.hops == () and route.proxy_command is None


def test_the_inventory_entry_wins_over_ssh_config(tmp_path: Path) -> None:
    dev = _device(tmp_path, "Host vault\n  HostName 192.0.2.44\n  Port 2244\n  User keeper\n",
                  f"- name: vault\n  host: 198.51.100.9\n  port: 2022\n  username: inv\n  host_key: {KEY}\n")
    target = _revert_host(dev).route().target
    assert (target.host, target.port, target.username) == ("198.51.100.9", 2022, "inv")


def test_a_chain_is_followed_hop_by_hop_as_for_a_device_jump(tmp_path: Path) -> None:
    config = """
        Host vault
          HostName 10.0.0.7
          ProxyJump outer
        Host outer
          HostName 198.51.100.7
          User ops
          ProxyCommand /usr/bin/nc -X connect -x proxy:3128 %h %p
        """
    jumps = f"- name: vault\n  host_key: {KEY}\n- name: outer\n  host_key: {OTHER}\n"
    dev = _device(tmp_path, config, jumps)
    route = _revert_host(dev).route()
    (hop,) = route.hops
    assert (hop.label, hop.host, hop.username) == ("jump host outer", "198.51.100.7", "ops")
    assert hop.host_key == OTHER
    assert (route.target.host, route.target.host_key) == ("10.0.0.7", KEY)
    assert route.proxy_command == "/usr/bin/nc -X connect -x proxy:3128 198.51.100.7 22"
    # The very path a device's ``jump: vault`` takes, hop for hop (one resolution, not a copy).
    from egressctl.ssh.route import device_route

    jumped = device_route(dev.model_copy(update={"jump": "vault"}))
    assert [(h.host, h.port, h.username) for h in jumped.hops] == [
        (h.host, h.port, h.username) for h in (*route.hops, route.target)]


def test_an_unpinned_hop_is_refused_before_anything_is_opened(tmp_path: Path) -> None:
    dev = _device(tmp_path, "Host vault\n  ProxyJump rogue\n", f"- name: vault\n  host_key: {KEY}\n")
    with pytest.raises(ConnectError, match=r"revert host vault: SSH path: jump host 'rogue'.*no pinned"):
        _revert_host(dev).route()


def test_the_devices_own_ssh_config_wins_over_the_sites(tmp_path: Path) -> None:
    dev = _device(tmp_path, "Host vault\n  HostName 192.0.2.1\n", f"- name: vault\n  host_key: {KEY}\n",
                  device_config="Host vault\n  HostName 192.0.2.2\n  Port 2202\n")
    target = _revert_host(dev).route().target
    assert (target.host, target.port) == ("192.0.2.2", 2202)


# ---------------------------------------------------------------------------------------- real logins
@dataclass
class Seen:
    """What one server saw: authentication attempts (user, method) and exec'd commands with their stdin."""

    auths: list[tuple[str, str]] = field(default_factory=list)
    commands: list[tuple[str, str]] = field(default_factory=list)


def _server(seen: Seen, client_key: str | None) -> type[asyncssh.SSHServer]:
    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return client_key is None

        def validate_password(self, username: str, password: str) -> bool:
            seen.auths.append((username, "password"))
            return password == PASSWORD

        def public_key_auth_supported(self) -> bool:
            return client_key is not None

        def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
            seen.auths.append((username, "publickey"))
            return key.export_public_key().decode().split()[1] == client_key

        def connection_requested(self, dest_host: str, dest_port: int, orig_host: str,
                                 orig_port: int) -> bool:
            return True

    return Server


@dataclass
class Servers:
    """The outer bastion and the revert host behind it: their ports, what each saw, the client key."""

    outer_port: int
    vault_port: int
    outer: Seen
    vault: Seen
    identity: Path


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    keys = tmp_path_factory.mktemp("rh-keys")
    client = asyncssh.generate_private_key("ssh-ed25519")
    identity = keys / "id_vault"
    identity.write_bytes(client.export_private_key("openssh"))
    identity.chmod(0o600)
    client_b64 = client.export_public_key().decode().split()[1]
    loop, holder, ready = asyncio.new_event_loop(), {}, threading.Event()
    outer, vault = Seen(), Seen()

    async def on_exec(process: asyncssh.SSHServerProcess[str]) -> None:
        data = await process.stdin.read()
        command = str(process.command)
        vault.commands.append((command, data))
        if "fail-me" in command:
            process.stderr.write("no such job\n")
            process.exit(3)
            return
        process.stdout.write(f"ran {len(vault.commands)}\n")
        process.exit(0)

    async def start() -> None:
        for name, seen, key, factory in (("rh-outer", outer, None, None),
                                         ("rh-vault", vault, client_b64, on_exec)):
            host_key = hostkeys.write_private(name, keys / name)
            holder[name] = await asyncssh.create_server(
                _server(seen, key), "127.0.0.1", 0, server_host_keys=[str(host_key)], process_factory=factory)

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
        yield Servers(ports["rh-outer"], ports["rh-vault"], outer, vault, identity)
    finally:
        for server in holder.values():
            loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def _chained(tmp_path: Path, srv: Servers, vault_key: str = "rh-vault") -> Device:
    """``vault`` only in ssh_config (HostName, Port, User, IdentityFile, ProxyJump outer); both pinned."""
    config = f"""
        Host vault
          HostName 127.0.0.1
          Port {srv.vault_port}
          User keeper
          IdentityFile {srv.identity}
          ProxyJump outer
        Host outer
          HostName 127.0.0.1
          Port {srv.outer_port}
          User ops
        """
    outer_pin = hostkeys.public_line("rh-outer")
    jumps = (f"- name: vault\n  host_key: {hostkeys.public_line(vault_key)}\n"
             f"- name: outer\n  credential: env:RH_OUTER_PW\n  host_key: {outer_pin}\n")
    return _device(tmp_path, config, jumps)


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No agent, no ~/.ssh of the machine: only the ssh_config's IdentityFile can log in to vault."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.setenv("RH_OUTER_PW", PASSWORD)


def _clear(srv: Servers) -> None:
    for seen in (srv.outer, srv.vault):
        seen.auths.clear()
        seen.commands.clear()


@pytest.mark.ssh
@pytest.mark.usefixtures("clean_env")
def test_arm_read_disarm_through_the_chain_with_the_identity_file(tmp_path: Path, servers: Servers) -> None:
    _clear(servers)
    rh = _revert_host(_chained(tmp_path, servers))
    try:
        rh.arm_files([("secret", "dev-Secret-1"), ("armed", "op=1 owner=t\n")])
        assert rh.state() == "ran 4" and rh.disarm() == "ran 5", "one login, one exec per call"
    finally:
        rh.close()
    assert servers.outer.auths == [("ops", "password")], "the outer hop: its user and inventory credential"
    assert servers.vault.auths == [("keeper", "publickey")], "vault: ssh_config's User and IdentityFile"
    commands = [c for c, _ in servers.vault.commands]
    assert "/secret" in commands[0] and servers.vault.commands[0][1] == "dev-Secret-1", "stdin, not argv"
    assert all("dev-Secret-1" not in c for c in commands)
    assert "setsid" in commands[2] and "was-armed" in commands[4]


@pytest.mark.ssh
@pytest.mark.usefixtures("clean_env")
def test_a_refused_command_and_a_wrong_pin(tmp_path: Path, servers: Servers) -> None:
    _clear(servers)
    rh = _revert_host(_chained(tmp_path, servers))
    try:
        with pytest.raises(DeviceError, match=r"revert host vault: exit 3") as info:
            rh._run("fail-me")
        assert "no such job" in (info.value.device_output or "")
    finally:
        rh.close()
    _clear(servers)
    wrong = _revert_host(_chained(tmp_path, servers, vault_key="not-the-vault"))
    with pytest.raises(HostKeyMismatch, match=re.escape("revert host vault (127.0.0.1:")):
        wrong.state()
    wrong.close()
    assert servers.vault.auths == [], "no key signature reached a host showing another key"
    assert servers.vault.commands == []
