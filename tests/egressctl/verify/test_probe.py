"""Probe engine pieces that need no network: templates, checksums, reply parsing, classification, plans."""

from __future__ import annotations

import json

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPerror, TCPerror, UDPerror
from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest, IPv6

from egressctl.errors import VerificationError
from egressctl.verify.probe.classify import RawOutcome, classify
from egressctl.verify.probe.records import Probe, ProbeRun, plan_from_json, plan_to_json
from egressctl.verify.probe.wire import (
    DNS_QUERY,
    PAYLOAD,
    build,
    checksum,
    hop_distance,
    packed,
    parse_reply,
    probe_key,
    template,
)

SRC4, DST4, SRC6, DST6 = "10.10.1.11", "192.0.2.80", "fd10:0:1::11", "2001:db8:c::80"


def scapy_ref(family: int, proto: str, dport: int, a: int, seq: int) -> bytes:
    l3 = (
        IP(src=SRC4, dst=DST4, ttl=64, id=0, flags="DF") if family == 4 else IPv6(src=SRC6, dst=DST6, hlim=64)
    )
    if proto == "tcp":
        return bytes(
            l3 / TCP(sport=a, dport=dport, seq=seq, flags="S", window=64240, options=[("MSS", 1460)])
        )
    if proto == "udp":
        return bytes(l3 / UDP(sport=a, dport=dport) / (DNS_QUERY if dport == 53 else PAYLOAD))
    if family == 4:
        return bytes(l3 / ICMP(type=8, id=a, seq=dport) / PAYLOAD)
    return bytes(l3 / ICMPv6EchoRequest(id=a, seq=dport, data=PAYLOAD))


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("proto,dport", [("tcp", 443), ("udp", 53), ("udp", 4500), ("icmp", 7)])
def test_patched_template_equals_scapy_bytes(family: int, proto: str, dport: int) -> None:
    src, dst = (SRC4, DST4) if family == 4 else (SRC6, DST6)
    tpl = template(family, proto, proto == "udp" and dport == 53)  # type: ignore[arg-type]
    for a, seq in ((40000, 0), (65535, 0xFFFFFFFF), (1, 12345)):
        assert build(tpl, packed(src), packed(dst), a, dport, seq) == scapy_ref(family, proto, dport, a, seq)


def test_checksum_known_vectors() -> None:
    assert checksum(b"") == 0xFFFF
    assert checksum(b"\x00\x01\xf2\x03\xf4\xf5\xf6\xf7") == 0x220D  # RFC 1071 example sums to 0xddf2
    assert checksum(b"\xff\xff") == 0


def test_hop_distance() -> None:
    assert hop_distance(64) == 0 and hop_distance(61) == 3 and hop_distance(128) == 0
    assert hop_distance(120) == 8 and hop_distance(250) == 5


def test_parse_replies_match_probe_keys() -> None:
    dst = packed(DST4)
    synack = IP(src=DST4, dst=SRC4, ttl=61) / TCP(sport=443, dport=40000, flags="SA")
    r = parse_reply(bytes(synack))
    assert (
        r is not None and r.kind == "syn-ack" and r.key == probe_key("tcp", dst, 40000, 443) and r.ttl == 61
    )
    rst = IP(src=DST4, dst=SRC4) / TCP(sport=443, dport=40000, flags="RA")
    assert parse_reply(bytes(rst)).kind == "rst"  # type: ignore[union-attr]
    udp = IP(src=DST4, dst=SRC4) / UDP(sport=53, dport=40001) / b"x"
    assert parse_reply(bytes(udp)).key == probe_key("udp", dst, 40001, 53)  # type: ignore[union-attr]
    # An ICMP error quotes the probe: its key is the probe's, the sender is the router.
    err = (
        IP(src="10.10.101.1", dst=SRC4)
        / ICMP(type=3, code=13)
        / IPerror(src=SRC4, dst=DST4)
        / UDPerror(sport=40002, dport=443)
    )
    r = parse_reply(bytes(err))
    assert r is not None and r.kind == "icmp-error" and r.icmp == (3, 13)
    assert r.key == probe_key("udp", dst, 40002, 443) and r.sender == packed("10.10.101.1")
    terr = (
        IP(src="10.10.101.1", dst=SRC4)
        / ICMP(type=3, code=10)
        / IPerror(src=SRC4, dst=DST4)
        / TCPerror(sport=40003, dport=80, flags="S")
    )
    assert parse_reply(bytes(terr)).key == probe_key("tcp", dst, 40003, 80)  # type: ignore[union-attr]
    echo6 = IPv6(src=DST6, dst=SRC6) / ICMPv6EchoReply(id=7, seq=9)
    assert parse_reply(bytes(echo6)).key == probe_key("icmp", packed(DST6), 7, 9)  # type: ignore[union-attr]
    un6 = (
        IPv6(src="fd10:0:101::1", dst=SRC6)
        / ICMPv6DestUnreach(code=1)
        / IPv6(src=SRC6, dst=DST6)
        / TCP(sport=40004, dport=443)
    )
    r = parse_reply(bytes(un6))
    assert r is not None and r.icmp == (1, 1) and r.key == probe_key("tcp", packed(DST6), 40004, 443)
    assert parse_reply(bytes(IP(src=DST4, dst=SRC4, frag=3) / b"xxxxxxxx")) is None


def _raw(kind: str, sender: str | None, ttl: int, icmp: tuple[int, int] | None = None) -> RawOutcome:
    return RawOutcome(kind, packed(sender) if sender else None, ttl, icmp, None, 1.0)


def test_classify_outcomes_and_rst_origin() -> None:
    probes = [
        Probe("a", 4, "tcp", DST4, 80),
        Probe("b", 4, "icmp", DST4, 0),
        Probe("c", 4, "tcp", DST4, 81),
        Probe("d", 4, "tcp", "198.51.100.53", 53),
        Probe("e", 4, "tcp", "198.51.100.54", 53, None, False),
        Probe("f", 4, "udp", DST4, 443),
        Probe("g", 4, "udp", DST4, 53),
        Probe("h", 4, "tcp", DST4, 25),
    ]
    raw = [
        _raw("syn-ack", DST4, 61),  # genuine: the destination is 3 hops away
        _raw("echo-reply", DST4, 61),
        _raw("rst", DST4, 64),  # forged by the first hop (0 hops < 3): refused
        _raw("rst", "198.51.100.53", 63),  # no reference, a listener expected: refused
        _raw("rst", "198.51.100.54", 63),  # no reference, no listener expected: answered
        _raw("icmp-error", "10.10.101.1", 63, (3, 13)),
        _raw("icmp-error", DST4, 61, (3, 3)),  # port unreachable from the destination: path open
        None,
    ]
    res = {r.id: r for r in classify(probes, raw, [0.5] * len(probes))}
    assert res["a"].outcome == "answered" and res["a"].hops == 3 and res["a"].rtt_ms == 500.0
    assert res["c"].outcome == "refused" and "0 hop" in res["c"].detail
    assert res["d"].outcome == "refused" and res["d"].responder == "10.10.101.1"  # router seen at 1 hop
    assert res["e"].outcome == "answered"
    assert res["f"].outcome == "refused" and res["f"].detail == "admin-prohibited"
    assert res["f"].responder == "10.10.101.1"
    assert res["g"].outcome == "answered" and res["g"].detail == "port-unreachable"
    assert res["h"].outcome == "silent"


def test_rank_prefers_answers() -> None:
    assert (
        RawOutcome.rank_of("syn-ack", None)
        > RawOutcome.rank_of("rst", None)
        > RawOutcome.rank_of("icmp-error", (3, 13))
        > RawOutcome.rank_of("local-error", None)
    )


def test_plan_roundtrip_and_validation() -> None:
    probes = [Probe("x:0", 4, "tcp", DST4, 443, SRC4), Probe("x:1", 6, "icmp", DST6)]
    back, timeout, retries = plan_from_json(plan_to_json(probes, 0.5, 1))
    assert back == probes and timeout == 0.5 and retries == 1
    for bad in (
        '{"probes": [{"id": "a", "family": 5, "proto": "tcp", "dst": "1.2.3.4"}]}',
        '{"probes": [{"id": "a"}]}',
        "not json",
        '{"timeout": 999, "probes": []}',
    ):
        with pytest.raises(VerificationError):
            plan_from_json(bad)


def test_run_document_roundtrip() -> None:
    run = ProbeRun(classify([Probe("a", 4, "tcp", DST4, 80)], [None], [0.0]), 1.0, {"sent": 1}, "h")
    back = ProbeRun.from_dict(json.loads(json.dumps(run.to_dict())))
    assert back.results == run.results and back.host == "h"
    with pytest.raises(VerificationError):
        ProbeRun.from_dict({"results": [{"nope": 1}], "elapsed_s": 1})
