"""A capture analysed by many threads gives, byte for byte, the one-thread report (issue 13 part 2).

Small captures from the deterministic generator (planted leaks, unverified packets, VLAN and IPv6) are cut
into many parts (``MIN_PART`` lowered), and the JSON report of every thread count is compared with the
one-thread report as bytes, timing fields aside. Wrong cuts, a wrong assumed pcapng state, damaged files,
and captures that carry captures in their payloads must not change a byte either: parts that do not prove
their cut are analysed again.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from egressctl_lab.testing import capture_generator as pcapgen

from egressctl.policy import compute_policy
from egressctl.verify.capture import c_engine, cuts, offline, parallel
from egressctl.verify.matcher import CompiledPolicy

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(not c_engine.available(), reason="no C engine in this install (no compiler)")

VARIANTS = {
    "pcap": pcapgen.GenOptions(packets=20_000, seed=21, leak_rate=0.004, unverified_rate=0.002,
                               icmp_error_rate=0.002),
    "pcap-be-ns": pcapgen.GenOptions(packets=20_000, seed=22, byte_order=">", nanosecond=True,
                                     leak_rate=0.004, unverified_rate=0.002),
    "pcapng": pcapgen.GenOptions(packets=20_000, seed=23, fmt="pcapng", leak_rate=0.004,
                                 unverified_rate=0.002),
    "pcapng-be": pcapgen.GenOptions(packets=20_000, seed=24, fmt="pcapng", byte_order=">", leak_rate=0.004,
                                    unverified_rate=0.002, icmp_error_rate=0.002),
}

Parts = list[tuple[int, int, bool]]  # per scan: parts walked, parts counted, rest walked again


@pytest.fixture(scope="module")
def site() -> Any:
    return pcapgen.build_site(1, 210)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("parallel-caps")
    out = {}
    for name, opts in VARIANTS.items():
        out[name] = base / f"{name}.{opts.fmt}"
        pcapgen.generate(out[name], opts)
    return out


@pytest.fixture
def parts(monkeypatch: pytest.MonkeyPatch) -> Parts:
    """Small parts; records (parts walked, parts counted, whether the tail was walked again) per scan."""
    monkeypatch.setattr(parallel, "MIN_PART", 4096)
    seen: Parts = []
    proven = parallel._Scan._proven

    def spy(self: Any, done: list[Any]) -> list[Any]:
        kept = proven(self, done)
        seen.append((len(done), len(kept), kept[-1] is not done[len(kept) - 1]))
        return kept

    monkeypatch.setattr(parallel._Scan, "_proven", spy)
    return seen


def report(path: Path, site: Any, threads: int, monkeypatch: pytest.MonkeyPatch,
           engine: str = "auto") -> bytes:
    """The ``verify --pcap --json`` document as bytes, with the timing fields zeroed."""
    monkeypatch.setenv(parallel.THREADS_ENV, str(threads))
    doc = offline.analyze(path, site, pcapgen.TARGET, engine=engine).to_dict()  # type: ignore[arg-type]
    doc.update(elapsed_s=0, packets_per_s=0)
    return json.dumps(doc, sort_keys=True).encode()


@pytest.mark.parametrize("name", list(VARIANTS))
def test_threads_give_the_one_thread_report(files: dict[str, Path], site: Any, name: str,
                                            parts: Parts,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    one = report(files[name], site, 1, monkeypatch)
    assert parts == [(1, 1, False)]
    for threads in (2, 3, 8):
        assert report(files[name], site, threads, monkeypatch) == one, threads
        walked, counted, redone = parts[-1]
        assert walked == counted == threads * parallel.PARTS_PER_THREAD and not redone  # every cut proven
    doc = json.loads(one)
    assert doc["engine"] == "c" and doc["leak_packets"] > 0 and doc["unverified_packets"] > 0
    assert doc["vlan_tagged_packets"] > 0 and doc["ipv6_packets"] > 0
    assert bool(doc["related_packets"]) == bool(VARIANTS[name].icmp_error_rate)  # errors of allowed flows
    # ... and the numpy engine (one thread, its own flow table) agrees on everything but its name
    numpy = report(files[name], site, 1, monkeypatch, "numpy")
    assert numpy == one.replace(b'"engine": "c"', b'"engine": "numpy"')


@pytest.mark.parametrize("name", ["pcap", "pcapng-be"])
def test_wrong_cuts_are_walked_again(files: dict[str, Path], site: Any, name: str,
                                     parts: Parts, monkeypatch: pytest.MonkeyPatch) -> None:
    one = report(files[name], site, 1, monkeypatch)
    plan = cuts.plan
    for shift in (1, 4, 40):
        def off_by(*a: Any, shift: int = shift) -> list[int]:
            good = plan(*a)
            return [*good[:2], good[2] + shift, *good[3:]]  # the third cut is not a record boundary

        monkeypatch.setattr(cuts, "plan", off_by)
        assert report(files[name], site, 2, monkeypatch) == one
        assert parts[-1] == (8, 3, True)  # parts 1-2 proven, the rest of the file walked again from part 3


def test_a_wrong_pcapng_state_is_walked_again(files: dict[str, Path], site: Any,
                                              parts: Parts,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    one = report(files["pcapng"], site, 1, monkeypatch)
    real = cuts.prologue

    def swapped_ifaces(fd: int, walker: Any) -> cuts.Start:  # the microsecond and nanosecond ones
        start = real(fd, walker)
        return cuts.Start(start.pos, start.swap, start.ifaces[::-1])

    monkeypatch.setattr(cuts, "prologue", swapped_ifaces)
    assert report(files["pcapng"], site, 2, monkeypatch) == one
    assert parts[-1] == (8, 1, True)


def _records(data: bytes) -> list[int]:
    """Offsets of a little-endian pcap's records."""
    out, pos = [], 24
    while pos + 16 <= len(data):
        out.append(pos)
        pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
    return out


def test_damaged_files(files: dict[str, Path], site: Any, tmp_path: Path, parts: Parts,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    data = files["pcap"].read_bytes()
    at = _records(data)[len(_records(data)) // 3]
    corrupt = bytearray(data)
    corrupt[at + 8: at + 12] = struct.pack("<I", 0x0FFFFFFF)  # a record length no file has: corrupt
    damage = {"corrupt": bytes(corrupt), "truncated": data[:-7], "garbage": data + b"x" * 99}
    for label, damaged in damage.items():
        path = tmp_path / f"{label}.pcap"
        path.write_bytes(damaged)
        one = report(path, site, 1, monkeypatch)
        assert report(path, site, 3, monkeypatch) == one, label
        assert json.loads(one)["errors"], label
        assert parts[-1][2] == (label == "corrupt"), label  # the damaged part and the rest: walked again


def test_capture_inside_a_capture(files: dict[str, Path], site: Any, tmp_path: Path,
                                  parts: Parts, monkeypatch: pytest.MonkeyPatch) -> None:
    """Packets whose payloads are runs of plausible pcap records (same time, same lengths) mislead the cut
    finder; the proof catches every wrong cut."""
    inner = files["pcap"].read_bytes()[24: 24 + 60_000]
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
    eth = b"\x02" * 12 + b"\x08\x00"
    ip = bytes([0x45, 0, 0, 40, 0, 1, 0, 0, 64, 17, 0, 0, 10, 1, 1, 1, 100, 1, 2, 3]) + bytes(8)
    recs = []
    for i in range(40):
        frame = eth + ip + inner[i * 1000: i * 1000 + 60_000 - 40_000]
        recs.append(struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)) + frame)
    path = tmp_path / "nested.pcap"
    path.write_bytes(head + b"".join(recs))
    one = report(path, site, 1, monkeypatch)
    assert json.loads(one)["leak_packets"] == 40
    assert report(path, site, 4, monkeypatch) == one
    walked, _, redone = parts[-1]
    assert walked > 1 and redone  # cuts were guessed inside payloads, and not trusted


def test_fuzzed_files(files: dict[str, Path], site: Any, tmp_path: Path, parts: Parts,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Random damage anywhere (headers, lengths, payloads): threads still give the one-thread report."""
    rng = random.Random(13)
    sources = [files[n].read_bytes()[:400_000] for n in ("pcap", "pcapng", "pcapng-be", "pcap-be-ns")]
    for i in range(24):
        data = bytearray(sources[i % 4])
        for _ in range(rng.choice([1, 5, 50])):
            data[rng.randrange(24, len(data))] = rng.randrange(256)
        path = tmp_path / f"fuzz{i}.cap"
        path.write_bytes(bytes(data[: rng.randrange(len(data) // 2, len(data))]))
        assert report(path, site, 3, monkeypatch) == report(path, site, 1, monkeypatch), i


def test_two_sections_in_both_byte_orders(files: dict[str, Path], site: Any, tmp_path: Path,
                                          parts: Parts,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "two-sections.pcapng"
    path.write_bytes(files["pcapng"].read_bytes() + files["pcapng-be"].read_bytes())
    one = report(path, site, 1, monkeypatch)
    assert report(path, site, 3, monkeypatch) == one
    assert json.loads(one)["errors"] == []
    assert parts[-1][0] > 1


def test_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parallel.THREADS_ENV, "1")
    assert parallel.threads() == 1
    for unusable in ("0", "many", ""):
        monkeypatch.setenv(parallel.THREADS_ENV, unusable)
        assert parallel.threads() == len(os.sched_getaffinity(0))


def test_small_windows_and_many_threads(files: dict[str, Path], site: Any) -> None:
    cp = CompiledPolicy.compile(compute_policy(site, pcapgen.TARGET), site)
    for name in ("pcap-be-ns", "pcapng"):
        one = parallel.scan_flows(files[name], cp, n_threads=1)
        assert parallel.scan_flows(files[name], cp, n_threads=5, window=1 << 16) == one


#: 10.10.1.11 -> 192.0.2.80 tcp/80 on Ethernet: inside the lab site, blocked when isolated
LAB_LEAK = (b"\x02" * 12 + b"\x08\x00" + bytes([0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0])
            + bytes([10, 10, 1, 11, 192, 0, 2, 80]) + struct.pack(">HH", 4321, 80) + bytes(16))
PROBE = """
import json, sys
from egressctl.cli.main import main
out, sys.argv = sys.argv[1], ["egressctl", *sys.argv[2:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
with open(out, "w") as f:
    json.dump({"code": code, "numpy": "numpy" in sys.modules}, f)
"""


def test_the_cli_path_does_not_import_numpy(tmp_path: Path) -> None:
    """numpy is a fifth of ``verify --pcap``'s start-up; the C path has no use for it."""
    pcap = tmp_path / "leak.pcap"
    pcap.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
                     + struct.pack("<IIII", 1, 0, len(LAB_LEAK), len(LAB_LEAK)) + LAB_LEAK)
    out = tmp_path / "out.json"
    argv = ["-i", str(ROOT / "inventory" / "lab.yaml"), "--state-dir", str(tmp_path / "state"), "verify",
            "lab", "--pcap", str(pcap), "--stage", "isolated", "--json"]
    subprocess.run([sys.executable, "-c", PROBE, str(out), *argv], capture_output=True, check=True,
                   timeout=120, cwd=tmp_path)
    assert json.loads(out.read_text()) == {"code": 3, "numpy": False}  # a leak found, numpy never imported
