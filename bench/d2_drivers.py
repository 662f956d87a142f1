"""Per-step timings of the fortinet and paloalto_panos drivers against EMU2's emulators (DRV2).

Real SSH through netmiko's real device classes to emulators served on 127.0.0.1 (no data plane), device
clock at 0.25. Prints one line per step and device: open, read_state, snapshot, load_candidate, commit,
confirm, for normal -> isolated -> ministry -> allowlist -> normal.

    python bench/d2_drivers.py
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("EGRESSCTL_STATE_DIR", tempfile.mkdtemp(prefix="d2-bench-"))

from egressctl_lab.testing.emulator import serve_emulated

from egressctl.inventory.loader import load_inventory
from egressctl.policy import compute_policy
from egressctl.registry import driver_class

LAB_YAML = Path(__file__).resolve().parents[1] / "inventory" / "lab.yaml"
TIME_SCALE = 0.25  # as the FortiOS and PAN-OS live tests (tests/support/emulated_device.py)

SPECS: dict[str, tuple[int, dict[str, Any]]] = {
    "fw-b": (23590, {"interfaces": {"port1": "port1", "port2": "port2"}}),
    "fw-a": (23591, {"interfaces": {"ethernet1/1": "e1-1", "ethernet1/2": "e1-2"},
                     "zones": {"trust": ["ethernet1/2"], "untrust": ["ethernet1/1"]}}),
}


def timed(label: str, fn: Callable[[], Any]) -> Any:
    t = time.perf_counter()
    out = fn()
    print(f"  {label:<30} {1000 * (time.perf_counter() - t):8.1f} ms")
    return out


def run_device(name: str, port: int, spec: dict[str, Any]) -> None:
    site = load_inventory(LAB_YAML).site("lab")
    dev = site.device(name)
    with serve_emulated(dev, port=port, spec_kw=spec, time_scale=TIME_SCALE, tag="d2") as e:
        print(f"{name} ({dev.platform})")
        drv = driver_class(dev.platform)(e.device, timeout=20.0)
        timed("open", functools.partial(drv.open, e.secret))
        for target in ("isolated", "ministry", "allowlist", "normal"):
            policy = compute_policy(site, target)
            state = timed(f"read_state (before {target})", drv.read_state)
            timed("snapshot", drv.snapshot)
            n = len(drv.render(policy, state))
            timed(f"load_candidate ({n} lines)", functools.partial(drv.load_candidate, policy, state))
            timed("commit", functools.partial(drv.commit, 120))
            timed("confirm", drv.confirm)
        state = drv.read_state()
        again = functools.partial(drv.render, compute_policy(site, "normal"), state)
        lines = timed("re-render at normal", again)
        print(f"  lines for an idempotent re-apply: {len(lines)}")
        timed("close", drv.close)


def main() -> None:
    for name, (port, spec) in SPECS.items():
        run_device(name, port, spec)


if __name__ == "__main__":
    main()
