"""PAN-OS 10/11 emulator personality (``paloalto_panos``): candidate/commit CLI, nftables data plane."""

from egressctl_lab.emu.paloalto_panos.device import PanDevice, create

__all__ = ["PanDevice", "create"]
