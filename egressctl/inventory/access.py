"""How egressctl reaches hosts over SSH: jump hosts, ssh_config files, pinned keys and secret references.

These are the inventory's access fields, shared by devices, vantage points and jump hosts. A jump host
(bastion) is listed once per site with its own pinned host key, and named by a device's ``jump:`` or by
the ``ProxyJump`` of the ssh_config file in effect; a hop whose key is not pinned here is refused, so no
credential is ever sent through an unverified host. The site's defaults reach each device and vantage
point as a :class:`SiteSsh` attached when the site is validated (:meth:`attach`), because a driver is
handed one ``Device`` and must still find the site's jump hosts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from egressctl.inventory.credentials import validate_reference, validate_value_reference
from egressctl.inventory.values import HostName, SafeName, UserName

_KEY_RE = re.compile(r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]{16,}")
#: ``ssh_config: none`` reads no ssh_config file at all (not even ``~/.ssh/config``).
NO_SSH_CONFIG = "none"


def check_host_key(value: str) -> str:
    """A pinned host key: an OpenSSH public key line (type and base64) or ``known_hosts:PATH``."""
    value = value.strip()
    if value.startswith("known_hosts:") or _KEY_RE.fullmatch(value):
        return value
    raise ValueError("expected an OpenSSH public key ('ssh-ed25519 AAAA...') or known_hosts:PATH")


def check_ssh_config(value: str) -> str:
    """An ssh_config path ({state} and ~ expand) or ``none``; one line, no NUL."""
    value = value.strip()
    if not value or "\n" in value or "\0" in value:
        raise ValueError("expected the path of an ssh_config file, or none")
    return value


CredentialRef = Annotated[str, AfterValidator(validate_reference)]
ValueRef = Annotated[str, AfterValidator(validate_value_reference)]
HostKeyPin = Annotated[str, AfterValidator(check_host_key)]
SshConfigPath = Annotated[str, AfterValidator(check_ssh_config)]
Port = Annotated[int, Field(ge=1, le=65535)]


class JumpHost(BaseModel):
    """A jump host (bastion) that devices and vantage points are reached through, with its pinned key.

    Fields left out come from the ssh_config file in effect (``HostName``, ``Port``, ``User``,
    ``IdentityFile``), as ``ssh`` would take them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: SafeName = Field(description=(
        "Jump host name: what a device's jump names, and what an ssh_config ProxyJump names (its Host "
        "alias) for this pin to apply."))
    host: HostName | None = Field(default=None, description=(
        "Address or DNS name to connect to; omitted: ssh_config's HostName for name, else name itself."))
    port: Port | None = Field(default=None, description="SSH port; omitted: ssh_config's Port, else 22.")
    username: UserName | None = Field(default=None, description=(
        "User on the jump host; omitted: the ProxyJump's user@, ssh_config's User, else the local user."))
    credential: CredentialRef | None = Field(default=None, description=(
        "Credential reference for the jump host (see Credential references); omitted: the SSH agent and "
        "ssh_config's IdentityFile."))
    key_passphrase: ValueRef | None = Field(default=None, description=(
        "Reference to the passphrase of the key (key:PATH or IdentityFile): env:VAR, file:PATH or "
        "cmd:COMMAND."))
    host_key: HostKeyPin = Field(description=(
        "Pinned SSH host key of the jump host ('ssh-ed25519 AAAA...') or known_hosts:PATH; any other key is "
        "refused before a credential is sent, to it or through it."))


@dataclass(frozen=True)
class SiteSsh:
    """A site's SSH defaults as one device or vantage point sees them."""

    ssh_config: str | None = None
    jump_hosts: tuple[JumpHost, ...] = ()

    def jump_host(self, name: str) -> JumpHost | None:
        """The jump host called ``name`` (None when the site has none of that name)."""
        return next((j for j in self.jump_hosts if j.name == name), None)


#: What a device or vantage point validated on its own (not through a site) sees.
NO_SITE = SiteSsh()
