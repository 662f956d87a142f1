"""The path an SSH login takes: the inventory merged with the ssh_config file in effect.

Precedence, for the target (a device or a vantage point): what the inventory writes wins (a device's
``port`` when written, its ``username`` always, a ``key:`` credential, ``jump:``); ssh_config fills in the
rest (``HostName``, ``Port``, ``User`` for vantage points, ``IdentityFile``, ``ProxyJump``,
``ProxyCommand``); then the defaults (port 22, the local user). For each jump host: the ProxyJump's own
``user@``/``:port``, then the inventory's ``jump_hosts`` entry, then ssh_config for that host. A hop must
be pinned in ``jump_hosts`` (by name, or by its host); a ProxyJump through any other host is refused here,
before anything is opened. When both ProxyJump and ProxyCommand apply, ProxyJump wins (paramiko's
ssh_config reader keeps no order to decide as ssh does); a first hop's own ProxyCommand is honoured.

A jump host logged in to for itself (a device's ``revert_host``: :func:`jump_route`) is reached exactly
as a device's ``jump:`` reaches it: the same entry-then-ssh_config precedence, its own ProxyJump chain.

The ssh_config file in effect: the device's or vantage point's ``ssh_config``, else the site's, else
``~/.ssh/config`` when it exists; ``none`` reads no file. ``Include`` is followed (relative paths from
``~/.ssh``, globs, nested up to :data:`MAX_INCLUDES` deep), by inlining each file where it is named.
"""

from __future__ import annotations

import getpass
import glob
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from egressctl.inventory.access import NO_SSH_CONFIG, JumpHost, SiteSsh
from egressctl.inventory.credentials import expand_path

if TYPE_CHECKING:
    from egressctl.inventory.models import Device, VantagePoint

#: Jump hosts in one chain, at most (a ProxyJump loop in an ssh_config file stops here).
MAX_HOPS = 8
#: ``Include`` nesting, at most (an Include loop stops here).
MAX_INCLUDES = 8
_INCLUDE = re.compile(r"^\s*include(?:\s*=\s*|\s+)(?P<paths>.+?)\s*$", re.I)


class RouteError(ValueError):
    """The inventory and ssh_config do not give a usable, fully pinned path (nothing was opened)."""


@dataclass(frozen=True)
class Endpoint:
    """One SSH login of a path: where, as whom, which pin and which secrets."""

    label: str
    host: str
    port: int
    username: str
    host_key: str | None
    identity_file: str | None = None
    jump: JumpHost | None = None


@dataclass(frozen=True)
class Route:
    """A login's path: jump hosts, then the target over the last hop's forwarded channel (or directly).

    The first connection (the first hop's, or the target's when there is none) runs over
    ``proxy_command`` when one is set, else plain TCP.
    """

    target: Endpoint
    hops: tuple[Endpoint, ...] = ()
    proxy_command: str | None = None
    config_file: Path | None = None

    def describe(self) -> str:
        """``host:port via hop, hop`` for messages (no secrets in it)."""
        via = " via " + ", ".join(f"{h.label} ({h.host}:{h.port})" for h in self.hops) if self.hops else ""
        proxy = f" over ProxyCommand {self.proxy_command!r}" if self.proxy_command else ""
        return f"{self.target.host}:{self.target.port}{via}{proxy}"


def config_path(own: str | None, ssh: SiteSsh) -> Path | None:
    """The ssh_config file in effect (None: no file).

    Raises:
        RouteError: a file named in the inventory does not exist.
    """
    choice = own or ssh.ssh_config
    if choice == NO_SSH_CONFIG:
        return None
    if choice is None:
        default = Path("~/.ssh/config").expanduser()
        return default if default.is_file() else None
    path = expand_path(choice)
    if not path.is_file():
        raise RouteError(f"ssh_config file {path} does not exist")
    return path


def inline_includes(path: Path, depth: int = 0) -> str:
    """The text of ``path`` with every ``Include`` replaced by the files it names (paramiko skips them).

    Raises:
        OSError: a file cannot be read.
        RouteError: Includes nest deeper than :data:`MAX_INCLUDES`.
    """
    if depth > MAX_INCLUDES:
        raise RouteError(f"ssh_config Include nested deeper than {MAX_INCLUDES} (a loop?) at {path}")
    out: list[str] = []
    for line in path.read_text().splitlines():
        found = _INCLUDE.match(line)
        if found is None:
            out.append(line)
            continue
        for word in found.group("paths").split():
            pattern = Path(word).expanduser()
            pattern = pattern if pattern.is_absolute() else Path("~/.ssh").expanduser() / pattern
            out += [inline_includes(Path(f), depth + 1) for f in sorted(glob.glob(str(pattern)))
                    if Path(f).is_file()]
    return "\n".join(out) + "\n"


class _Config:
    """An ssh_config file's lookups (an empty one when there is no file)."""

    def __init__(self, path: Path | None) -> None:
        import paramiko

        self.path = path
        try:
            self._cfg = paramiko.SSHConfig.from_text(inline_includes(path)) if path else paramiko.SSHConfig()
        except (OSError, UnicodeDecodeError, paramiko.ssh_exception.ConfigParseError) as exc:
            raise RouteError(f"ssh_config file {path} cannot be read: {exc}") from None

    def lookup(self, alias: str) -> dict[str, Any]:
        try:
            return dict(self._cfg.lookup(alias))
        except Exception as exc:  # paramiko raises assorted errors for Match/token problems
            raise RouteError(f"ssh_config file {self.path}: lookup of {alias!r} failed: {exc}") from None


def _port(value: Any, where: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        raise RouteError(f"{where}: port {value!r} is not 1-65535")
    return port


def _identity(found: dict[str, Any]) -> str | None:
    """The first IdentityFile of a lookup that exists (ssh skips missing ones the same way)."""
    return next((f for f in found.get("identityfile", []) if Path(f).expanduser().is_file()), None)


def parse_jump(token: str) -> tuple[str | None, str, int | None]:
    """``[ssh://][user@]host[:port]`` (``[v6]:port`` too) as ``(user, host, port)``."""
    token = token.strip().removeprefix("ssh://")
    user, _, hostport = token.rpartition("@")
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        port = rest.removeprefix(":") or None
    elif hostport.count(":") == 1:
        host, _, port = hostport.partition(":")
    else:
        host, port = hostport, None
    if not host:
        raise RouteError(f"ProxyJump {token!r} names no host")
    return user or None, host, _port(port, f"ProxyJump {token!r}") if port else None


class _Builder:
    """Builds one route; holds the ssh_config and the site's pins while hops are followed."""

    def __init__(self, cfg: _Config, ssh: SiteSsh) -> None:
        self.cfg, self.ssh = cfg, ssh

    def pinned(self, alias: str, token: str) -> JumpHost:
        jump = self.ssh.jump_host(alias) or next((j for j in self.ssh.jump_hosts if j.host == alias), None)
        if jump is None:
            where = f" (ssh_config {self.cfg.path})" if self.cfg.path else ""
            raise RouteError(f"jump host {token!r}{where} has no pinned host key: add it to the site's "
                             f"jump_hosts (name: {alias}, host_key: ...)")
        return jump

    def chain(self, proxyjump: str | None, depth: int) -> tuple[list[Endpoint], str | None]:
        """The hops of a ProxyJump value (recursively, through each first hop's own ProxyJump)."""
        if not proxyjump or proxyjump.strip().lower() == "none":
            return [], None
        hops: list[Endpoint] = []
        proxy: str | None = None
        for i, token in enumerate(proxyjump.split(",")):
            user, alias, port = parse_jump(token)
            hop, found = self.hop(self.pinned(alias, token), user, alias, port)
            if i == 0:
                before, proxy = self.first(found, depth)
                hops += before
            hops.append(hop)
        return hops, proxy

    def reach(self, jump: JumpHost) -> tuple[list[Endpoint], str | None]:
        """The hops to ``jump`` ending with its own, as ``jump: NAME`` takes them (and the ProxyCommand)."""
        hop, found = self.hop(jump, None, jump.name, None)
        before, proxy = self.first(found, 1)
        return [*before, hop], proxy

    def first(self, found: dict[str, Any], depth: int) -> tuple[list[Endpoint], str | None]:
        """How the first connection of a chain is made: its own ProxyJump, ProxyCommand, or TCP."""
        if found.get("proxyjump") and found["proxyjump"].lower() != "none":
            if depth >= MAX_HOPS:
                raise RouteError(f"ProxyJump chain longer than {MAX_HOPS} hops (a loop in the ssh_config?)")
            return self.chain(found["proxyjump"], depth + 1)
        command = found.get("proxycommand")
        return [], command if command and command.lower() != "none" else None

    def hop(self, jump: JumpHost, user: str | None, alias: str,
            port: int | None) -> tuple[Endpoint, dict[str, Any]]:
        found = self.cfg.lookup(alias)  # as ssh does: the ProxyJump's host (its Host alias)
        where = f"jump host {jump.name}"
        return Endpoint(
            label=where,
            host=jump.host or str(found.get("hostname", alias)),
            port=port or jump.port or _port(found.get("port", 22), where),
            username=user or jump.username or str(found.get("user") or getpass.getuser()),
            host_key=jump.host_key,
            identity_file=_identity(found),
            jump=jump,
        ), found


def _route(label: str, alias: str, port: int | None, user: str | None, host_key: str | None,
           key_credential: bool, jump: str | None, own_config: str | None, ssh: SiteSsh) -> Route:
    cfg = _Config(config_path(own_config, ssh))
    build = _Builder(cfg, ssh)
    found = cfg.lookup(alias)
    target = Endpoint(
        label=label,
        host=str(found.get("hostname", alias)),
        port=port or _port(found.get("port", 22), label),
        username=user or str(found.get("user") or getpass.getuser()),
        host_key=host_key,
        identity_file=None if key_credential else _identity(found),
    )
    if jump is not None:
        pinned = ssh.jump_host(jump)
        if pinned is None:
            raise RouteError(f"jump host {jump!r} is not in the site's jump_hosts")
        hops, proxy = build.reach(pinned)
        return Route(target, tuple(hops), proxy, cfg.path)
    hops, proxy = build.chain(found.get("proxyjump"), 1)
    if not hops:
        command = found.get("proxycommand")
        proxy = command if command and command.lower() != "none" else None
    return Route(target, tuple(hops), proxy, cfg.path)


def device_route(device: Device) -> Route:
    """The path to ``device`` (its username always; its port when written, else ssh_config's).

    Raises:
        RouteError: a named ssh_config is missing or unreadable, or a jump host is not pinned.
    """
    explicit_port = device.port if "port" in device.model_fields_set else None
    return _route(f"device {device.name}", device.host, explicit_port, device.username, device.host_key,
                  device.credential.startswith("key:"), device.jump, device.ssh_config, device.site_ssh)


def jump_route(jump: JumpHost, own_config: str | None, ssh: SiteSsh, label: str) -> Route:
    """The path to a jump host as the login's target (a device's ``revert_host``), labelled ``label``.

    The same endpoint a device's ``jump:`` would open as its hop (the entry's fields, then ssh_config's
    ``HostName``/``Port``/``User``/``IdentityFile``), over the hops of the jump host's own ProxyJump;
    ``own_config`` is the device's ``ssh_config`` (None: the site's).

    Raises:
        RouteError: a named ssh_config is missing or unreadable, or a hop of the chain is not pinned.
    """
    cfg = _Config(config_path(own_config, ssh))
    (*hops, target), proxy = _Builder(cfg, ssh).reach(jump)
    return Route(replace(target, label=label), tuple(hops), proxy, cfg.path)


def vantage_route(vp: VantagePoint) -> Route:
    """The path to an SSH vantage point (``vp.ssh_host`` must be set).

    Raises:
        RouteError: a named ssh_config is missing or unreadable, or a jump host is not pinned.
    """
    assert vp.ssh_host is not None
    key = vp.credential is not None and vp.credential.startswith("key:")
    return _route(f"vantage point {vp.name}", vp.ssh_host, vp.ssh_port, vp.ssh_user, vp.host_key, key,
                  vp.jump, vp.ssh_config, vp.site_ssh)


def config_user(vp: VantagePoint) -> str | None:
    """The user a vantage point logs in as when the inventory or its ssh_config names one (else None)."""
    if vp.ssh_user or vp.ssh_host is None:
        return vp.ssh_user
    user = _Config(config_path(vp.ssh_config, vp.site_ssh)).lookup(vp.ssh_host).get("user")
    return str(user) if user else None
