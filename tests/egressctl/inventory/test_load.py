"""Loading a large inventory: a generated 2,000-device site loads fast, with either YAML composer.

The figure is printed, never asserted tightly (bench/inventory_load.py measures it properly); the bound
here only catches a return to per-scalar re-parsing or per-device plugin scans (seconds, not tenths).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from egressctl.inventory import load_inventory, yamlnodes

BENCH = Path(__file__).parents[3] / "bench" / "inventory_load.py"


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("inventory_load_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("merge", [False, True], ids=["plain", "merge-keys"])
def test_a_2000_device_inventory_loads(tmp_path: Path, merge: bool) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(bench().generate(2000, merge))
    t0 = time.perf_counter()
    inv = load_inventory(path)
    elapsed = time.perf_counter() - t0
    print(f"2,000 devices ({'merge keys' if merge else 'plain'}) loaded in {elapsed:.3f} s "
          f"with {yamlnodes.LOADER.__name__}")
    devices = inv.sites[0].devices
    assert len(devices) == 2000 and devices[-1].name == "dev1999" and devices[-1].exit == "exit3"
    assert devices[-1].inside == ["lan0", "lan1"] and devices[7].platform == "juniper_junos"
    assert elapsed < 10.0


def test_both_composers_give_the_same_inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mid.yaml"
    path.write_text(bench().generate(200, merge=True))
    monkeypatch.setattr(yamlnodes, "LOADER", yaml.SafeLoader)
    pure = load_inventory(path)
    monkeypatch.setattr(yamlnodes, "LOADER", getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert load_inventory(path) == pure
