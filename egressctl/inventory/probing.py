"""The inventory's verification points: vantage points (where probes run), canaries and capture points.

A vantage point is a lab namespace or a site host reached over SSH that runs ``egressctl probe``; its SSH
fields mirror a device's (port, pinned host key, ssh_config, jump host, key passphrase), and the site's
SSH defaults reach it the same way (:class:`~egressctl.inventory.access.SiteSsh`).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from egressctl.inventory.access import (
    NO_SITE,
    CredentialRef,
    HostKeyPin,
    Port,
    SiteSsh,
    SshConfigPath,
    ValueRef,
)
from egressctl.inventory.values import HostName, IfName, IpAddress, PortNumber, SafeName, UserName

#: ``egressctl_command``: words a POSIX shell takes literally (it is run by the vantage host's shell).
_COMMAND_RE = re.compile(r"^[A-Za-z0-9_./+=:@-]+( [A-Za-z0-9_./+=:@-]+){0,15}$")
_SSH_ONLY = ("ssh_user", "credential", "ssh_port", "host_key", "ssh_config", "jump", "key_passphrase",
             "egressctl_command")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VantagePoint(_Strict):
    """Where active probes run: a lab namespace, or a site host reached over SSH running `egressctl probe`."""

    name: SafeName = Field(description="Vantage point name, shown in verification results.")
    exit: SafeName = Field(description="Exit this host's traffic leaves the site by.")
    netns: SafeName | None = Field(default=None, description=(
        "Network namespace on the controller to probe from (the emulated lab)."))
    ssh_host: HostName | None = Field(default=None, description=(
        "Site host to probe from over SSH (an address, DNS name or ssh_config Host alias); it runs "
        "`egressctl probe` (raw sockets: root, or sudo -n without a password)."))
    ssh_port: Port | None = Field(default=None, description=(
        "SSH port of ssh_host; omitted: ssh_config's Port, else 22."))
    ssh_user: UserName | None = Field(default=None, description=(
        "SSH user on ssh_host; users other than root run the probe through sudo -n. Omitted: ssh_config's "
        "User (then sudo -n unless root), else the local user name, without sudo."))
    credential: CredentialRef | None = Field(default=None, description=(
        "Credential reference for ssh_host (see Credential references); omitted means the SSH agent and "
        "the default keys in ~/.ssh (or ssh_config's IdentityFile)."))
    key_passphrase: ValueRef | None = Field(default=None, description=(
        "Reference to the passphrase of the key (key:PATH or IdentityFile): env:VAR, file:PATH or "
        "cmd:COMMAND."))
    host_key: HostKeyPin | None = Field(default=None, description=(
        "Pinned SSH host key of ssh_host ('ssh-ed25519 AAAA...') or known_hosts:PATH; omitted: the key "
        "must be in the system or user known_hosts (unknown keys are refused, never added)."))
    ssh_config: SshConfigPath | None = Field(default=None, description=(
        "ssh_config file for ssh_host, or none; omitted: the site's ssh_config."))
    jump: SafeName | None = Field(default=None, description=(
        "Jump host (a name in the site's jump_hosts) ssh_host is reached through; omitted: ssh_config's "
        "ProxyJump, if any."))
    egressctl_command: str | None = Field(default=None, description=(
        "How egressctl is started on ssh_host, e.g. /opt/egressctl/bin/egressctl or '/usr/bin/python3 -m "
        "egressctl'; probe --json --plan - is appended. Omitted: egressctl."))
    addresses: list[IpAddress] = Field(min_length=1, description=(
        "This host's own addresses; probes of a family are sent from its first address of that family."))

    _site_ssh: SiteSsh = PrivateAttr(default=NO_SITE)

    @field_validator("egressctl_command")
    @classmethod
    def _command(cls, v: str | None) -> str | None:
        if v is not None and not _COMMAND_RE.fullmatch(v):
            raise ValueError("expected up to 16 words of letters, digits and . / _ + = : @ - separated by "
                             "single spaces (no shell syntax)")
        return v

    @model_validator(mode="after")
    def _one_kind(self) -> VantagePoint:
        if (self.netns is None) == (self.ssh_host is None):
            raise ValueError("a vantage point needs exactly one of netns or ssh_host")
        if self.netns is not None:
            extra = [f for f in _SSH_ONLY if getattr(self, f) is not None]
            if extra:
                raise ValueError(f"{', '.join(extra)}: only for a vantage point reached over ssh_host")
        return self

    @property
    def site_ssh(self) -> SiteSsh:
        """The SSH defaults of the site this vantage point was validated in."""
        return self._site_ssh


class Canary(_Strict):
    """An outside address used to prove a cut: it answers when reachable.

    The loader refuses a canary inside the site or inside an allowed prefix (it could not prove the cut
    there) unless ``in_allowed_prefix`` says it is deliberately a known answering host of an allowed flow.
    """

    name: SafeName = Field(description="Canary name, shown in verification results.")
    address: IpAddress = Field(description=(
        "Outside address that answers when reachable, so its silence proves the cut; pick one outside "
        "every allowed prefix."))
    in_allowed_prefix: bool = Field(default=False, description=(
        "Set to true when the canary is deliberately inside an allowed prefix, a known answering host of "
        "that flow (verification then uses it to prove the flow opens)."))
    tcp: list[PortNumber] = Field(default_factory=lambda: [25, 80, 443], description=(
        "TCP ports it answers on; each is probed with a SYN."))
    udp: list[PortNumber] = Field(default_factory=lambda: [53, 443], description=(
        "UDP ports it answers on; each is probed with a datagram."))
    icmp: bool = Field(default=True, description=(
        "Whether to probe it with an ICMP echo (ping); false when it does not answer pings."))


class CapturePoint(_Strict):
    """A tap or mirror of one upstream link, for the live leak watch."""

    exit: SafeName = Field(description="Exit whose upstream link this captures.")
    interface: IfName = Field(description=(
        "Interface that sees the link's traffic (a tap or mirror port), on the controller or in netns."))
    netns: SafeName | None = Field(default=None, description=(
        "Network namespace holding interface (the emulated lab); omitted means the controller's own."))
