"""The compiled-policy cache of ``verify --pcap`` (issue 13): exact, private, and keyed by the bytes.

A cached policy must be indistinguishable from a fresh compilation: the same tables, the same verdicts on
both engines. It must never be read when someone else could have written it, and an edited inventory
(or an edited egressctl) must miss.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest
from egressctl_lab.testing import capture_generator as pcapgen

from egressctl.inventory.loader import load_inventory
from egressctl.verify.capture import c_engine, offline, policy_cache
from egressctl.verify.matcher import CompiledPolicy

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "inventory" / "lab.yaml"
GOOD = sorted((ROOT / "tests" / "data" / "good_inventories").glob("*.yaml"))
ENGINES = ["c", "numpy"] if c_engine.available() else ["numpy"]


def tables(cp: CompiledPolicy) -> dict[str, Any]:
    """Everything a capture engine reads from a compiled policy."""
    fields = ("family", "inside_lo", "inside_hi", "bounds", "interval_class", "class_start", "class_len",
              "atoms")
    return {"rules": cp.rule_names, "normal": cp.is_normal,
            **{f"v{t.family}": {f: getattr(t, f) for f in fields} for t in (cp.v4, cp.v6)}}


def cached(tmp_path: Path, site: Any) -> dict[str, CompiledPolicy]:
    """``site``'s policies written to a fresh cache and read back."""
    policy_cache.store(tmp_path, "k", {site.name: policy_cache.compile_site(site)})
    found = policy_cache.load(tmp_path, "k", site.name)
    assert found is not None
    return found


@pytest.mark.parametrize("path", [LAB, *GOOD], ids=lambda p: p.name)
def test_a_cached_policy_is_the_compiled_one(tmp_path: Path, path: Path) -> None:
    for site in load_inventory(path).sites:
        fresh = policy_cache.compile_site(site)
        assert {t: tables(cp) for t, cp in cached(tmp_path, site).items()} == {
            t: tables(cp) for t, cp in fresh.items()}


@pytest.mark.parametrize("engine", ENGINES)
def test_cached_and_fresh_policies_give_the_same_report(tmp_path: Path, engine: str) -> None:
    """On a generated capture with leaks, IPv6 and unverified packets, at every target of its site."""
    site = pcapgen.build_site(1, 210)
    capture = tmp_path / "gen.pcap"
    pcapgen.generate(capture, pcapgen.GenOptions(packets=6_000, seed=11, leak_rate=0.01,
                                                 unverified_rate=0.005))
    for target, cp in cached(tmp_path, site).items():
        fresh = offline.analyze(capture, site, target, engine=engine)
        again = offline.analyze_compiled(capture, cp, site.name, target, engine=engine)
        assert dataclasses.replace(again, elapsed_s=0) == dataclasses.replace(fresh, elapsed_s=0)


def test_files_are_private_and_foreign_ones_ignored(tmp_path: Path) -> None:
    site = load_inventory(LAB).site("lab")
    cached(tmp_path, site)
    folder = tmp_path / "cache"
    (path,) = folder.iterdir()
    assert (folder.stat().st_mode & 0o777, path.stat().st_mode & 0o777) == (0o700, 0o600)
    path.chmod(0o622)  # others may write it: it decides what a leak is, so it is not read
    assert policy_cache.load(tmp_path, "k", "lab") is None
    path.chmod(0o600)
    folder.chmod(0o777)
    assert policy_cache.load(tmp_path, "k", "lab") is None
    folder.chmod(0o700)
    assert policy_cache.load(tmp_path, "k", "lab") is not None


@pytest.mark.parametrize("damage", ["garbage", "other-key", "no-site", "bad-table", "atom-arity", "empty"])
def test_a_damaged_file_is_a_miss(tmp_path: Path, damage: str) -> None:
    site = load_inventory(LAB).site("lab")
    cached(tmp_path, site)
    (path,) = (tmp_path / "cache").iterdir()
    doc = json.loads(path.read_text())
    table = doc["sites"]["lab"]["isolated"]["v4"]
    if damage == "other-key":
        doc["key"] = "other"
    elif damage == "no-site":
        doc["sites"] = {}
    elif damage == "bad-table":
        table["bounds"] = ["0"]
    elif damage == "atom-arity":
        table["atoms"][0] = table["atoms"][0][:-1]
    text = {"garbage": "{not json", "empty": ""}.get(damage, json.dumps(doc))
    path.write_text(text)
    assert policy_cache.load(tmp_path, "k", "lab") is None


def test_the_key_follows_the_bytes_and_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = LAB.read_bytes()
    assert policy_cache.key(raw) == policy_cache.key(bytes(raw))
    assert policy_cache.key(raw + b"\n") != policy_cache.key(raw)
    before = policy_cache.key(raw)
    monkeypatch.setattr(policy_cache, "_stamp", lambda p: f"{p} changed")  # any module edited
    assert policy_cache.key(raw) != before


def test_nothing_is_written_without_a_state_directory(tmp_path: Path) -> None:
    """``--stage`` never creates the state directory; the cache does not either."""
    site = load_inventory(LAB).site("lab")
    policy_cache.store(tmp_path / "missing", "k", {"lab": policy_cache.compile_site(site)})
    assert not (tmp_path / "missing").exists()


def test_old_files_are_pruned(tmp_path: Path) -> None:
    site = load_inventory(LAB).site("lab")
    compiled = {"lab": policy_cache.compile_site(site)}
    for i in range(policy_cache.KEEP + 3):
        policy_cache.store(tmp_path, f"k{i}", compiled)
        os.utime(tmp_path / "cache" / f"{policy_cache.PREFIX}k{i}.json", ns=(i * 10**9, i * 10**9))
    kept = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(kept) == policy_cache.KEEP and f"{policy_cache.PREFIX}k{policy_cache.KEEP + 2}.json" in kept
