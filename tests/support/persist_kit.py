"""A lab whose devices reboot as real ones do, for the persistence tests (IOS, Linux: issue 14 kind B).

Every emulator runs under ``egressctl_lab.faultemu`` (a restart boots from what the box saved: IOS its
startup-config), and core-b, the real Linux box, keeps its own ``/etc`` across a restart and loads
``/etc/nftables.conf`` at boot. :func:`reboot_lab` yields the running lab and its site; it is always torn
down. The helpers drive one device through the real driver, as the executor does.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from egressctl_lab import Lab
from egressctl_lab.testing.lifecycle import make

from egressctl.driver import DeviceState
from egressctl.inventory.credentials import resolve
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from egressctl.policy import compute_policy

REPO = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def reboot_lab(prefix: str, port: int) -> Iterator[tuple[Lab, Site]]:
    """A root-mode lab (``prefix``, loopback ports from ``port``) with reboot semantics; always torn down."""
    emulators = f"{sys.executable} -m egressctl_lab.faultemu"
    with tempfile.TemporaryDirectory(prefix=f"{prefix}lab-") as tmp, \
            _env(EGRESSCTL_STATE_DIR=tmp, EGRESSCTL_LAB_EMU_CMD=emulators):
        lab = Lab(REPO / "inventory" / "lab.yaml", prefix=prefix, port_base=port, state_dir=Path(tmp))
        with lab:
            yield lab, load_inventory(lab.inventory_path).site("lab")


@contextlib.contextmanager
def session(site: Site, name: str) -> Iterator[Any]:
    """An open driver session to device ``name`` (closed at the end)."""
    dev = site.device(name)
    drv = make(dev, timeout=30.0)
    drv.open(resolve(dev.credential))
    try:
        yield drv
    finally:
        drv.close()


def commit(site: Site, name: str, target: str, *, confirm: bool, revert_in: int = 600) -> None:
    """Take ``name`` to ``target`` under its dead-man switch, then confirm it (or leave it pending)."""
    with session(site, name) as drv:
        state, policy = drv.read_state(), compute_policy(site, target)
        if not drv.render(policy, state):
            return  # already there
        drv.load_candidate(policy, state)
        drv.commit(revert_in)
        if confirm:
            drv.confirm()


def read(site: Site, name: str) -> DeviceState:
    """What ``name`` holds now, read over a fresh session."""
    with session(site, name) as drv:
        state: DeviceState = drv.read_state()
        return state
