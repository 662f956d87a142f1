"""Shared plumbing for the netmiko-based drivers: pinned host keys, error translation, the session base."""

from egressctl_drivers.common.errors import map_netmiko_errors
from egressctl_drivers.common.knownhosts import PinnedHostKeys
from egressctl_drivers.common.session import NetmikoDriverBase

__all__ = ["NetmikoDriverBase", "PinnedHostKeys", "map_netmiko_errors"]
