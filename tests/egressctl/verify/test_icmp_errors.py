"""ICMP errors of an allowed flow are not leaks; errors quoting a denied flow still are (H26).

Stateful firewalls forward the errors of a connection they allow (``ct state related``): a port unreachable
for a late DNS answer, packet too big (PMTUD), time exceeded. An error leaving the site quotes the inbound
datagram of its flow; every place that classifies packets (the C capture engine, the numpy engine, the
Python reference, threads, both watch walkers and both watch verdict paths) must call it *related* when that
flow, reversed, is allowed, and a leak otherwise: a quote that is cut short, not sent by the error's
destination, or whose flow is denied changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from egressctl_lab.testing import capture_generator as gen
from egressctl_lab.testing.capture_reference import Judge, Packet, pcap_packets, pcapng
from egressctl_lab.testing.ring_blocks import tpacket_block

from egressctl.policy import compute_policy
from egressctl.verify import pktparse
from egressctl.verify.capture import c_engine, offline, parallel
from egressctl.verify.matcher import LEAK, CompiledPolicy
from egressctl.verify.watch.agent import Watcher
from egressctl.verify.watch.layout import PACKED
from egressctl.verify.watch.pywalk import walk_block_py
from egressctl.verify.watch.walker import Walker
from tests.egressctl.verify.icmp_samples import SITE_SEED, samples, tagged
from tests.egressctl.verify.test_parsers import mutations, scan_engine, truncations

ENGINES = ["c", "numpy"] if c_engine.available() else ["numpy"]


@pytest.fixture(scope="module")
def site() -> Any:
    return gen.build_site(SITE_SEED, 210)


@pytest.fixture(scope="module")
def cp(site: Any) -> CompiledPolicy:
    return CompiledPolicy.compile(compute_policy(site, gen.TARGET), site)


def test_reference_parser_reads_the_quote(cp: CompiledPolicy) -> None:
    related, denied = samples(cp)
    for frame, vlan in related:
        p = pktparse.parse(frame, pktparse.ETHERNET, vlan)
        q = pktparse.quote(p, frame)
        assert q is not None and q.src == p.dst
        assert cp.related(p.family, q.proto, q.src, q.dst, q.sport, q.dport)
        assert cp.code(p.family, p.proto, p.src, p.dst) == LEAK  # a leak by its own header alone
    verdicts = []
    for frame, vlan in denied:
        p = pktparse.parse(frame, pktparse.ETHERNET, vlan)
        q = pktparse.quote(p, frame)
        verdicts.append(q is not None and cp.related(p.family, q.proto, q.src, q.dst, q.sport, q.dport))
    assert verdicts == [False] * len(denied)
    assert [pktparse.quote(pktparse.parse(f), f) is None for f, _ in denied] == [False, False] + [True] * 6


@pytest.mark.parametrize("engine", ENGINES)
def test_capture_engines_call_related_errors_no_leak(tmp_path: Path, site: Any, cp: CompiledPolicy,
                                                     engine: str) -> None:
    related, denied = samples(cp)
    packets: list[Packet] = [(1, tagged(f, v)) for f, v in related + denied]
    path = tmp_path / "errors.pcapng"
    path.write_bytes(pcapng(packets))
    ref = Judge(cp, packets)
    assert ref.counters["related"] == len(related) and ref.counters["leaks"] == len(denied)
    rep = offline.analyze_compiled(path, cp, site.name, gen.TARGET, engine=engine)  # type: ignore[arg-type]
    assert (rep.engine, rep.related_packets, rep.leak_packets) == (engine, len(related), len(denied))
    assert rep.subject_packets == rep.permitted_packets + rep.leak_packets + rep.related_packets
    assert rep.rule_hits == {}  # a related error hits no rule: it is not permitted, only not a leak
    assert {f.proto for f in rep.leak_flows} == {1, 58}
    lines = [text for text, _ in offline.report_lines(rep.to_dict())]
    assert f"  {len(related)} ICMP errors of allowed flows (not leaks)" in lines


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_equal_the_reference_on_broken_errors(tmp_path: Path, cp: CompiledPolicy,
                                                       engine: str) -> None:
    """Every bounds check of the quote crossed: errors cut at every length, and mutated."""
    related, denied = samples(cp)
    base: list[Packet] = [(1, tagged(f, v)) for f, v in related + denied]
    packets = base + truncations(base) + mutations(base, 2000, seed=11)
    path = tmp_path / "broken.pcapng"
    path.write_bytes(pcapng(packets))
    ref = Judge(cp, packets)
    counters, hits, leaks = scan_engine(path, cp, engine)
    assert counters == ref.counters and hits == ref.rule_hits[: len(cp.rule_names)]
    assert leaks.tobytes() == ref.records().tobytes()
    assert ref.counters["related"] > len(related) and ref.counters["leaks"] > len(denied)
    frames = [(data, None) for _, data in packets]
    assert watch_records(frames, True).tobytes() == watch_records(frames, False).tobytes()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, gen.GroundTruth]]:
    base = tmp_path_factory.mktemp("icmp-errors")
    out = {}
    for name, opts in {"pcap": gen.GenOptions(packets=30_000, seed=31, site_seed=SITE_SEED,
                                              icmp_error_rate=0.004),
                       "pcapng": gen.GenOptions(packets=30_000, seed=32, site_seed=SITE_SEED, fmt="pcapng",
                                                byte_order=">", icmp_error_rate=0.004)}.items():
        out[name] = base / f"g.{name}", gen.generate(base / f"g.{name}", opts)
    return out


def document(path: Path, site: Any, engine: str, threads: int, monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv(parallel.THREADS_ENV, str(threads))
    doc = offline.analyze(path, site, gen.TARGET, engine=engine).to_dict()  # type: ignore[arg-type]
    doc.update(elapsed_s=0, packets_per_s=0, engine="")
    return json.dumps(doc, sort_keys=True).encode()


@pytest.mark.parametrize("name", ["pcap", "pcapng"])
def test_planted_errors_against_the_ground_truth(generated: dict[str, tuple[Path, gen.GroundTruth]],
                                                 site: Any, name: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path, truth = generated[name]
    assert truth.related_packets > 20 and truth.leak_packets > 20 and truth.vlan_leaks and truth.ipv6_leaks
    one = document(path, site, ENGINES[-1], 1, monkeypatch)
    doc = json.loads(one)
    assert (doc["related_packets"], doc["leak_packets"]) == (truth.related_packets, truth.leak_packets)
    flows = {f"{f['family']}|{f['proto']}|{f['src']}|{f['dst']}|{f['sport']}|{f['dport']}": f["packets"]
             for f in doc["leak_flows"]}  # keyed as the ground truth keys them (gen.flow_key)
    assert flows == truth.leak_flows
    # every engine, one thread and several: the same report, byte for byte
    variants = [(e, t) for e in ENGINES for t in ((1, 2, 3) if e == "c" else (1,))]
    assert {document(path, site, e, t, monkeypatch) for e, t in variants} == {one}


def test_planted_errors_cover_both_families_and_tags(generated: dict[str, tuple[Path, gen.GroundTruth]],
                                                     site: Any) -> None:
    """The Python reference finds the truth's related errors, in both families, tagged and untagged."""
    path, truth = generated["pcap"]
    packets = list(pcap_packets(path))
    cp = CompiledPolicy.compile(compute_policy(site, gen.TARGET), site)
    kinds = set()
    for _, data in packets:
        p = pktparse.parse(data)
        q = pktparse.quote(p, data)
        if q is not None and cp.code(p.family, p.proto, p.src, p.dst) == LEAK and \
                cp.related(p.family, q.proto, q.src, q.dst, q.sport, q.dport):
            kinds.add((p.family, p.tags))
    assert kinds == {(4, 0), (4, 1), (6, 0), (6, 1)}
    assert Judge(cp, packets).counters["related"] == truth.related_packets


def watch_records(frames: list[tuple[bytes, int | None]], use_c: bool) -> Any:
    raw = np.frombuffer(tpacket_block(frames), dtype=np.uint8)
    if not use_c:
        return walk_block_py(memoryview(raw.tobytes()))
    walker = Walker(cap=len(frames), use_c=True)
    if walker.lib is None:
        pytest.skip("the C ring walker is not built in this install")
    return walker.walk(raw, 0, len(raw))


@pytest.mark.parametrize("use_c", [True, False])
def test_watch_calls_related_errors_no_leak(cp: CompiledPolicy, use_c: bool) -> None:
    related, denied = samples(cp)
    rec = watch_records(related + denied, use_c)
    assert rec is not None and len(rec) == len(related) + len(denied)
    assert list(rec["quote"]) == [1] * len(related) + [1, 1] + [0] * (len(denied) - 2)
    if use_c:
        assert rec.tobytes() == watch_records(related + denied, False).tobytes()
    vector, rows = Watcher(cp), Watcher(cp)
    vector.feed(rec)
    rows.feed_rows(PACKED.iter_unpack(rec.tobytes()))
    for w in (vector, rows):
        c = w.counters
        assert (c["related"], c["leaks"], c["permitted"]) == (len(related), len(denied), 0)
        assert sum(f.packets for f in w.flows.values()) == len(denied)
    assert vector.flows == rows.flows


def test_normal_target_has_nothing_to_relate(site: Any) -> None:
    cp = CompiledPolicy.compile(compute_policy(site, "normal"), site)
    related, denied = samples(CompiledPolicy.compile(compute_policy(site, gen.TARGET), site))
    w = Watcher(cp)
    w.feed(watch_records(related + denied, False))
    assert (w.counters["related"], w.counters["leaks"]) == (0, 0)
    assert w.counters["permitted"] == len(related) + len(denied)
