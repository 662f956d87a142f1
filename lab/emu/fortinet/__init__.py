"""FortiOS 7.2 emulator personality (``fortinet``): FortiGate CLI over an nftables data plane."""

from egressctl_lab.emu.fortinet.device import FortiDevice, create

__all__ = ["FortiDevice", "create"]
