"""The same probe plan through scapy's ``sr()``: the reference the fast engine is measured against.

Used by ``bench/probe_bench.py`` and the tests to show identical verdicts. Scapy builds every packet
itself and matches answers with its own ``answers()`` logic; each answer is then classified by the very
same code as the fast engine's (:mod:`egressctl.verify.probe.classify`), so any difference in verdicts
comes from the sending and matching, not from interpretation.
"""

from __future__ import annotations

import json
import random
import sys
import time
from typing import Any

from egressctl.verify.probe.classify import RawOutcome, classify
from egressctl.verify.probe.records import Probe, ProbeRun, plan_from_json
from egressctl.verify.probe.wire import DNS_QUERY, PAYLOAD, l4_key, parse_reply, split_l3


def _scapy_packet(p: Probe, src: str | None, a: int, seq: int) -> Any:
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6

    l3 = IP(dst=p.dst, ttl=64, flags="DF") if p.family == 4 else IPv6(dst=p.dst, hlim=64)
    if src:
        l3.src = src
    if p.proto == "tcp":
        return l3 / TCP(sport=a, dport=p.dport, seq=seq, flags="S", window=64240, options=[("MSS", 1460)])
    if p.proto == "udp":
        return l3 / UDP(sport=a, dport=p.dport) / (DNS_QUERY if p.dport == 53 else PAYLOAD)
    if p.family == 4:
        return l3 / ICMP(type=8, id=a, seq=seq & 0xFFFF) / PAYLOAD
    return l3 / ICMPv6EchoRequest(id=a, seq=seq & 0xFFFF, data=PAYLOAD)


def run_scapy(probes: list[Probe], timeout: float = 1.0, threaded: bool = True) -> ProbeRun:
    """Send ``probes`` with ``scapy.sendrecv.sr`` and classify the answers like the fast engine."""
    from scapy.sendrecv import sr

    start = time.monotonic()
    base, ident = random.randrange(28000), random.randrange(1, 0xFFFF)
    pkts, keys = [], {}
    for i, p in enumerate(probes):
        a = ident if p.proto == "icmp" else 32768 + (base + i) % 28000
        pkt = _scapy_packet(p, p.src, a, i)
        pkts.append(pkt)
        parts = split_l3(bytes(pkt))
        if parts:
            key = l4_key(parts[0], parts[2], parts[4], outbound=True)
            if key:
                keys[key] = i
    built = time.monotonic()
    answered, _unanswered = sr(pkts, timeout=timeout, verbose=0, threaded=threaded)
    raw: list[RawOutcome | None] = [None] * len(probes)
    sent_at = [built] * len(probes)
    for query, answer in answered:
        parts = split_l3(bytes(query))
        key = l4_key(parts[0], parts[2], parts[4], outbound=True) if parts else None
        reply = parse_reply(bytes(answer))
        idx = keys.get(key) if key else None
        if idx is None or reply is None:
            continue
        raw[idx] = RawOutcome(reply.kind, reply.sender, reply.ttl, reply.icmp, None,
                            built + (float(answer.time) - float(query.sent_time or answer.time)))
    run = ProbeRun(classify(probes, raw, sent_at), time.monotonic() - start,
                   {"probes": len(probes), "answered_pairs": len(answered)})
    run.stats["build_ms"] = int((built - start) * 1000)
    return run


if __name__ == "__main__":  # `python -m egressctl_lab.testing.scapy_baseline PLAN|-` (inside a vantage point)
    from pathlib import Path

    text = sys.stdin.read() if len(sys.argv) < 2 or sys.argv[1] == "-" else Path(sys.argv[1]).read_text()
    plan, tmo, _retries = plan_from_json(text)
    print(json.dumps(run_scapy(plan, tmo).to_dict()))
