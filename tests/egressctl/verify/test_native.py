"""The C helpers are extension modules built at install time: present in this install when it could build
them, loaded from the package only, never compiled or looked up in a cache at run time, and when missing
the numpy/Python paths run after one warning line."""

from __future__ import annotations

import importlib
import json
import logging
import os
import shutil
import struct
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from egressctl_lab.testing import capture_generator as gen

import egressctl.verify
from egressctl.policy import compute_policy
from egressctl.verify import native
from egressctl.verify.capture import c_engine, offline
from egressctl.verify.matcher import CompiledPolicy
from egressctl.verify.watch import walker

ROOT = Path(__file__).resolve().parents[3]
VERIFY = Path(egressctl.verify.__file__).parent
HELPERS = {c_engine.MODULE: VERIFY / "capture" / "engine.c", walker.MODULE: VERIFY / "watch" / "ring_walk.c"}
CAN_BUILD = bool((shutil.which("cc") or shutil.which("gcc"))
                 and (Path(sysconfig.get_paths()["include"]) / "Python.h").exists())
# 10.10.1.11 -> 192.0.2.80 tcp/80: inside the lab site, blocked when isolated
LEAK = (struct.pack(">6s6sH", b"\2" * 6, b"\4" * 6, 0x0800)
        + bytes([0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 10, 1, 11, 192, 0, 2, 80])
        + struct.pack(">HH", 4321, 80) + bytes(16))


def pcap(path: Path, frames: list[bytes]) -> Path:
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    path.write_bytes(out + b"".join(struct.pack("<IIII", 1, 0, len(f), len(f)) + f for f in frames))
    return path


def run(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter with no compiler reachable and a private, empty cache and home."""
    clean = {"PATH": "", "HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
             "CC": "/nonexistent/cc", **env}
    return subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, check=False)


@pytest.mark.skipif(not CAN_BUILD, reason="no C compiler or Python headers: installs here run the numpy path")
@pytest.mark.parametrize("module", sorted(HELPERS))
def test_extension_is_built_into_this_install(module: str) -> None:
    origin = native.extension_path(module)
    assert origin is not None, f"{module} is not built: reinstall (pip install -e '.[dev]') with a compiler"
    assert Path(origin).parent == HELPERS[module].parent  # inside the package, nowhere else
    assert importlib.import_module(module).__file__ == origin  # a valid extension module
    sources = [HELPERS[module], VERIFY / "pktparse.h"]
    if Path(origin).is_relative_to(ROOT):  # an editable install builds once: a stale build tests old code
        assert all(Path(origin).stat().st_mtime >= s.stat().st_mtime for s in sources), (
            f"{origin} is older than its sources: rebuild with pip install -e '.[dev]'")
    assert c_engine.available() and walker.Walker().name == "c"


def test_nothing_compiled_or_cached_at_run_time(tmp_path: Path) -> None:
    path = pcap(tmp_path / "leak.pcap", [LEAK])
    code = f"""
import json, os, subprocess
def refuse(*a, **k):
    raise AssertionError(f"verification started a process: {{a[:2]}}")
subprocess.Popen.__init__ = refuse
os.posix_spawn = os.fork = os.system = refuse
from egressctl.inventory.loader import load_inventory
from egressctl.verify import native
from egressctl.verify.capture import c_engine, offline
from egressctl.verify.watch.walker import Walker
site = load_inventory({str(ROOT / "inventory" / "lab.yaml")!r}).site("lab")
rep = offline.analyze({str(path)!r}, site, "isolated")
lib = c_engine.library()
print(json.dumps({{"engine": rep.engine, "leaks": rep.leak_packets, "walker": Walker().name,
                  "loaded": lib._name if lib else None, "origin": native.extension_path(c_engine.MODULE)}}))
"""
    for cc in ("/nonexistent/cc", "gcc -O3"):
        res = run(code, tmp_path, CC=cc)
        assert res.returncode == 0, res.stderr
        doc = json.loads(res.stdout)
        assert doc["leaks"] == 1 and doc["loaded"] == doc["origin"]
        assert (doc["engine"], doc["walker"]) == (("c", "c") if doc["origin"] else ("numpy", "python"))
        assert not (tmp_path / "cache").exists() and not (tmp_path / "home").exists()


def test_cli_pcap_check_with_a_broken_cc(tmp_path: Path) -> None:
    path = pcap(tmp_path / "leak.pcap", [LEAK])
    argv = ["-m", "egressctl.cli.main", "-i", str(ROOT / "inventory" / "lab.yaml"), "--state-dir",
            str(tmp_path / "state"), "verify", "lab", "--pcap", str(path), "--stage", "isolated", "--json"]
    for cc in ("/nonexistent/cc", "gcc -O3"):
        res = subprocess.run([sys.executable, *argv], env={"PATH": "", "CC": cc, "HOME": str(tmp_path)},
                             capture_output=True, text=True, timeout=120, check=False)
        assert res.returncode == 3, res.stdout + res.stderr  # a leak: never 5 (partial failure)
        assert '"leak_packets": 1' in res.stdout


def test_missing_helper_warns_once_and_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(native, "_LOADED", {})
    monkeypatch.setattr(native, "extension_path", lambda module: None)
    site = gen.build_site(1, 210)
    path = tmp_path / "g.pcap"
    gen.generate(path, gen.GenOptions(packets=2000, seed=4))
    with caplog.at_level(logging.WARNING, logger=native.__name__):
        reports = [offline.analyze(path, site, gen.TARGET) for _ in range(2)]
        names = [walker.Walker().name for _ in range(2)]
    assert [r.engine for r in reports] == ["numpy", "numpy"] and names == ["python", "python"]
    assert reports[0].leak_packets == reports[1].leak_packets > 0
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "numpy path" in lines[0] and "Python walker" in lines[1]
    with pytest.raises(RuntimeError, match="not built"):
        c_engine.CEngine(CompiledPolicy.compile(compute_policy(site, gen.TARGET), site))


def test_missing_helper_is_one_stderr_line(tmp_path: Path) -> None:
    path = pcap(tmp_path / "leak.pcap", [LEAK] * 3)
    code = f"""
from egressctl.inventory.loader import load_inventory
from egressctl.verify import native
from egressctl.verify.capture import offline
native.extension_path = lambda module: None  # as in an install built without a compiler
site = load_inventory({str(ROOT / "inventory" / "lab.yaml")!r}).site("lab")
print([offline.analyze({str(path)!r}, site, "isolated").leak_packets for _ in range(3)])
"""
    res = run(code, tmp_path, PATH=os.environ.get("PATH", ""))
    assert res.returncode == 0 and res.stdout.strip() == "[3, 3, 3]", res.stderr
    assert len(res.stderr.splitlines()) == 1 and "runs the numpy path" in res.stderr
