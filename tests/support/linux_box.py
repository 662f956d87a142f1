"""A real Linux firewall for the linux_nftables driver tests: the lab's core-b.

core-b is a real OpenSSH server with a real bash, password-protected sudo and real nftables in its own
network namespace, built by :class:`egressctl_lab.Lab` with its own accounts bind-mounted in a private
mount namespace, so these tests never add users or sudoers entries to the host. The controller reaches
it through the lab's loopback forwarder, like any lab device.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from egressctl_lab import Lab

from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device

PREFIX = "d1-"
NODE = "core-b"
REPO = Path(__file__).resolve().parents[2]
_state: dict[str, Path] = {}


def available() -> bool:
    """Root with ip, nft and sshd: what the lab's real Linux box needs."""
    return os.geteuid() == 0 and all(shutil.which(t) for t in ("ip", "nft", "sudo")) and Path(
        "/usr/sbin/sshd").exists()


def ns(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run a command inside core-b's namespace."""
    return subprocess.run(["ip", "netns", "exec", f"{PREFIX}{NODE}", *argv], capture_output=True, text=True,
                          timeout=30)


@dataclass
class LinuxBox:
    """The running box: its inventory device (credential reference resolves to the lab secret)."""

    device: Device


@contextlib.contextmanager
def linux_box(port: int) -> Iterator[LinuxBox]:
    """Bring up a lab (prefix ``d1-``, ports from ``port``) and yield core-b; always torn down."""
    with tempfile.TemporaryDirectory(prefix="d1-lab-") as tmp:
        lab = Lab(REPO / "inventory" / "lab.yaml", prefix=PREFIX, port_base=port, state_dir=Path(tmp))
        old = os.environ.get("EGRESSCTL_STATE_DIR")
        os.environ["EGRESSCTL_STATE_DIR"] = tmp  # the lab.yaml credential is file:{state}/lab/secret
        try:
            with lab:
                site = load_inventory(lab.inventory_path).site("lab")
                yield LinuxBox(site.device(NODE))
        finally:
            if old is None:
                os.environ.pop("EGRESSCTL_STATE_DIR", None)
            else:
                os.environ["EGRESSCTL_STATE_DIR"] = old
