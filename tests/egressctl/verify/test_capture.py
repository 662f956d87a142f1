"""Capture analysis: exact against the generator's ground truth, C and numpy engines identical, robust."""

from __future__ import annotations

import contextlib
import json
import mmap
import random
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from egressctl_lab.testing import capture_generator as pcapgen

from egressctl.errors import VerificationError
from egressctl.policy import compute_policy
from egressctl.verify.capture import c_engine, offline
from egressctl.verify.capture import defs as capture_defs
from egressctl.verify.capture import scan as capture
from egressctl.verify.matcher import CompiledPolicy

ENGINES = ["c", "numpy"] if c_engine.available() else ["numpy"]


@pytest.fixture(scope="module")
def site() -> Any:
    return pcapgen.build_site(1, 210)


@pytest.fixture(scope="module")
def cp(site: Any) -> CompiledPolicy:
    return CompiledPolicy.compile(compute_policy(site, pcapgen.TARGET), site)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, pcapgen.GroundTruth]]:
    base = tmp_path_factory.mktemp("va-caps")
    variants = {
        "pcap": pcapgen.GenOptions(packets=40_000, seed=3, leak_rate=0.004, unverified_rate=0.002),
        "pcap-be-ns": pcapgen.GenOptions(packets=15_000, seed=4, byte_order=">", nanosecond=True,
                                         leak_rate=0.004, unverified_rate=0.002),
        "pcapng": pcapgen.GenOptions(packets=40_000, seed=5, fmt="pcapng", leak_rate=0.004,
                                     unverified_rate=0.002),
        "pcapng-be": pcapgen.GenOptions(packets=15_000, seed=6, fmt="pcapng", byte_order=">",
                                        leak_rate=0.004),
    }
    out = {}
    for name, opts in variants.items():
        path = base / f"{name}.{opts.fmt}"
        out[name] = (path, pcapgen.generate(path, opts))
    return out


def flows_of(rep: offline.CaptureReport) -> dict[str, int]:
    return {pcapgen.flow_key(f.family, f.proto, f.src, f.dst, f.sport, f.dport): f.packets
            for f in rep.leak_flows}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["pcap", "pcap-be-ns", "pcapng", "pcapng-be"])
def test_exact_against_ground_truth(files: Any, site: Any, name: str, engine: str) -> None:
    path, truth = files[name]
    rep = offline.analyze(path, site, pcapgen.TARGET, engine=engine)  # type: ignore[arg-type]
    assert rep.engine == engine
    assert rep.packets == truth.packets
    assert rep.leak_packets == truth.leak_packets > 0
    assert flows_of(rep) == truth.leak_flows
    assert {k: v for k, v in rep.unverified.items() if v} == {k: v for k, v in truth.unverified.items() if v}
    assert rep.non_ip_packets == truth.non_ip
    assert rep.errors == [] and not rep.ok and rep.verdict.startswith("leak")
    assert rep.subject_packets == rep.permitted_packets + rep.leak_packets
    # VLAN-tagged (incl. QinQ) and IPv6 leaks are among those found
    assert truth.vlan_leaks > 0 and truth.ipv6_leaks > 0


def _scan_all(path: Path, cp: CompiledPolicy, engine: str, window: int = capture.WINDOW) -> tuple[Any, Any]:
    recs: list[Any] = []
    res = capture.scan(path, cp, recs.append, engine=engine, window=window)  # type: ignore[arg-type]
    return res, (np.concatenate(recs) if recs else np.zeros(0, dtype=capture_defs.LEAK_DTYPE))


@pytest.mark.skipif(len(ENGINES) < 2, reason="no C compiler")
@pytest.mark.parametrize("name", ["pcap", "pcapng"])
def test_engines_identical_records(files: Any, cp: CompiledPolicy, name: str) -> None:
    path, _ = files[name]
    rc, lc = _scan_all(path, cp, "c")
    rn, ln = _scan_all(path, cp, "numpy")
    assert rc.counters == rn.counters and rc.rule_hits == rn.rule_hits
    assert lc.tobytes() == ln.tobytes()
    assert sum(rc.rule_hits) == rc.counters["permitted"]


@pytest.mark.slow  # over 1.4 s: kept out of the fast tier (scripts/test --fast, < 60 s)
@pytest.mark.parametrize("engine", ENGINES)
def test_small_windows_same_result(files: Any, cp: CompiledPolicy, engine: str) -> None:
    path, _ = files["pcapng"]
    big, lbig = _scan_all(path, cp, engine)
    small, lsmall = _scan_all(path, cp, engine, window=mmap.ALLOCATIONGRANULARITY)
    assert big.counters == small.counters and lbig.tobytes() == lsmall.tobytes()


def test_normal_target_has_no_leaks(files: Any, site: Any) -> None:
    path, truth = files["pcap"]
    rep = offline.analyze(path, site, "normal")
    assert rep.leak_packets == 0 and rep.leak_flows == []
    assert rep.permitted_packets == rep.subject_packets > 0
    assert rep.packets == truth.packets


def test_report_document_and_beacons(files: Any, site: Any) -> None:
    path, truth = files["pcap"]
    rep = offline.analyze(path, site, pcapgen.TARGET)
    doc = json.loads(json.dumps(rep.to_dict()))
    assert doc["leak_packets"] == truth.leak_packets and doc["verdict"] == "leak+unverified"
    assert doc["unverified_packets"] == sum(truth.unverified.values())
    assert doc["packets_per_s"] > 0 and doc["rule_hits"]
    hosts = [b.packets for b in rep.beacons]
    assert hosts == sorted(hosts, reverse=True) and sum(hosts) == truth.leak_packets
    # the generator's beaconing hosts (many packets to a few C2 addresses) rank first
    assert rep.beacons[0].packets >= 10
    csv_text = rep.beacons_csv()
    assert csv_text.splitlines()[0].startswith("rank,host") and len(csv_text.splitlines()) > 1
    assert len(rep.flows_csv().splitlines()) == len(rep.leak_flows) + 1


# -- hand-built files ----------------------------------------------------------------------------------
ETH = b"\x02" * 6 + b"\x04" * 6


def ipv4_tcp(src: str, dst: str, sp: int, dp: int, proto: int = 6) -> bytes:
    ip = bytes([0x45, 0, 0, 40, 0, 1, 0, 0, 64, proto, 0, 0])
    ip += bytes(map(int, src.split("."))) + bytes(map(int, dst.split(".")))
    return ip + struct.pack(">HH", sp, dp) + bytes(16)


LEAK = ipv4_tcp("10.1.1.1", "100.1.2.3", 1234, 443)  # 100/8 is never allowed by the generator's site
OK_IN = ipv4_tcp("100.1.2.3", "10.1.1.1", 443, 1234)


def pcap(records: list[bytes], linktype: int = 1, order: str = "<") -> bytes:
    out = struct.pack(order + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    for r in records:
        out += struct.pack(order + "IIII", 1, 2, len(r), len(r)) + r
    return out


def block(btype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def shb() -> bytes:
    return block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(linktype: int, snaplen: int = 0) -> bytes:
    return block(1, struct.pack("<HHI", linktype, 0, snaplen))


def epb(ifid: int, data: bytes) -> bytes:
    return block(6, struct.pack("<IIIII", ifid, 0, 0, len(data), len(data)) + data)


def spb(data: bytes) -> bytes:
    return block(3, struct.pack("<I", len(data)) + data)


def run_all(tmp_path: Path, cp: CompiledPolicy, data: bytes) -> capture.ScanResult:
    path = tmp_path / "t.cap"
    path.write_bytes(data)
    results = [_scan_all(path, cp, e) for e in ENGINES]
    for res, recs in results[1:]:
        assert res.counters == results[0][0].counters and res.errors == results[0][0].errors
        assert recs.tobytes() == results[0][1].tobytes()
    return results[0][0]


def test_link_types_and_pcapng_blocks(tmp_path: Path, cp: CompiledPolicy) -> None:
    data = (shb() + idb(1) + idb(101) + idb(113) + idb(147) + epb(0, ETH + b"\x08\x00" + LEAK)
            + epb(1, LEAK) + epb(2, bytes(14) + b"\x08\x00" + LEAK) + epb(3, LEAK) + epb(9, LEAK)
            + spb(ETH + b"\x08\x00" + LEAK) + block(5, bytes(8)) + epb(1, OK_IN)
            + shb() + idb(228) + epb(0, LEAK))
    res = run_all(tmp_path, cp, data)
    c = res.counters
    assert c["packets"] == 8 and c["leaks"] == 5 and c["not_subject"] == 1
    assert c["linktype"] == 1 and c["interface"] == 1 and res.errors == []


def test_truncated_tail_and_garbage(tmp_path: Path, cp: CompiledPolicy) -> None:
    good = pcap([ETH + b"\x08\x00" + LEAK] * 3)
    res = run_all(tmp_path, cp, good[:-10])
    assert res.counters["leaks"] == 2 and res.counters["truncated"] == 1 and res.errors
    res = run_all(tmp_path, cp, pcap([ETH + b"\x08\x00" + LEAK]) + struct.pack("<IIII", 0, 0, 0xFFFFFFF, 5))
    assert res.counters["leaks"] == 1 and "corrupt" in res.errors[0]
    with pytest.raises(VerificationError):
        run_all(tmp_path, cp, b"hello world, not a capture")
    assert run_all(tmp_path, cp, pcap([])).counters["packets"] == 0


def test_headers_unverified_by_reason(tmp_path: Path, cp: CompiledPolicy) -> None:
    frag = bytearray(LEAK)
    frag[6:8] = b"\x00\x10"
    bad_ver = bytearray(LEAK)
    bad_ver[0] = 0x55
    ip = ETH + b"\x08\x00"
    recs = [ip + bytes(frag), ip + bytes(bad_ver), ip + LEAK[:22],
            ETH + b"\x08\x00" + LEAK[:19], ETH + b"\x81\x00\x00\x05",
            ETH + (b"\x81\x00\x00\x05") * 9 + b"\x08\x00" + LEAK, ETH + b"\x08\x06" + bytes(28),
            ETH + b"\x88\xa8\x00\x01\x81\x00\x00\x02\x08\x00" + LEAK]
    c = run_all(tmp_path, cp, pcap(recs, order=">")).counters
    assert (c["fragment"], c["malformed"], c["truncated"], c["non_ip"], c["leaks"]) == (1, 2, 3, 1, 1)


def test_fuzz_engines_agree_and_never_crash(tmp_path: Path, cp: CompiledPolicy, files: Any) -> None:
    rng = random.Random(11)
    src = files["pcapng"][0].read_bytes()[:200_000]
    src_pcap = files["pcap"][0].read_bytes()[:200_000]
    for i in range(40):
        base = bytearray(src if i % 2 else src_pcap)
        for _ in range(rng.choice([1, 5, 50])):
            pos = rng.randrange(24 if i % 2 == 0 else 0, len(base))
            base[pos] = rng.randrange(256)
        cut = rng.randrange(len(base) // 2, len(base))
        with contextlib.suppress(VerificationError):
            run_all(tmp_path, cp, bytes(base[:cut]))
    for _ in range(20):  # pure garbage after a valid header
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 3000)))
        run_all(tmp_path, cp, pcap([]) + junk)
        run_all(tmp_path, cp, shb() + idb(1) + junk)
