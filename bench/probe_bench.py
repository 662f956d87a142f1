"""Probe engine benchmark: patched templates + one raw socket vs scapy's sr(), side by side, same probes.

Builds the vb- testbed (inside host, filtering router, 1,016 outside targets answering TCP/UDP/ICMP),
puts a mixed filter on the router (allowed, dropped, rejected with TCP reset, rejected with ICMP
admin-prohibited), and runs the same probe set from the inside namespace through:
  - egressctl's engine (``python -m egressctl.verify.probe``), retries 0 (like sr) and 1 (the default);
  - scapy ``sr(threaded=True)`` (``python -m egressctl_lab.testing.scapy_baseline``).
Prints wall time inside the vantage point (engine's own figure) and for the whole subprocess, and whether
the verdicts (reachable vs blocked) agree probe by probe.

Usage: python bench/probe_bench.py [--sizes 500,2000,5000] [--timeout 1.0] [--no-scapy]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter

from egressctl_lab.testing.probe_testbed import Testbed

from egressctl.verify.probe.records import Probe, plan_to_json

RULES = """chain filter_fwd { type filter hook forward priority 0; policy accept;
  ip daddr 198.18.1.0/24 tcp dport 80 reject with tcp reset
  ip daddr 198.18.1.0/24 udp dport 53 drop
  ip daddr 198.18.2.0/24 drop
  ip daddr 198.18.3.0/25 reject with icmp type admin-prohibited
  ip6 daddr 2001:db8:77::/112 tcp dport 443 drop
}"""


def probe_set(n: int) -> list[Probe]:
    out: list[Probe] = []
    kinds = [("tcp", 80), ("udp", 53), ("icmp", 0), ("tcp", 443), ("tcp", 25), ("udp", 443)]
    for i in range(n):
        proto, port = kinds[i % len(kinds)]
        if i % 10 == 9:
            out.append(Probe(f"p{i}", 6, proto, f"2001:db8:77::{i % 2000 + 1:x}", port))  # type: ignore[arg-type]
        else:
            out.append(Probe(f"p{i}", 4, proto, f"198.18.{(i // 254) % 4}.{i % 254 + 1}", port))  # type: ignore[arg-type]
    return out


def run(tb: Testbed, module: str, probes: list[Probe], timeout: float, retries: int) -> tuple[dict, float]:
    t0 = time.monotonic()
    res = subprocess.run([*tb.exec_prefix("in"), sys.executable, "-m", module, "-"], capture_output=True,
                         text=True, input=plan_to_json(probes, timeout, retries), timeout=300, check=False)
    wall = time.monotonic() - t0
    if res.returncode:
        raise RuntimeError(res.stderr[-2000:])
    return json.loads(res.stdout), wall


def verdicts(doc: dict) -> dict[str, str]:
    return {r["id"]: "reach" if r["outcome"] == "answered" else "blocked" for r in doc["results"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="500,2000,5000")
    ap.add_argument("--timeout", type=float, default=1.0)
    ap.add_argument("--no-scapy", action="store_true")
    args = ap.parse_args()
    with Testbed("vb-pb-") as tb:
        tb.nft(RULES)
        print(f"timeout {args.timeout} s; times are inside the vantage point (subprocess wall in brackets)")
        print(f"{'probes':>7} | {'ours r=0':>16} | {'ours r=1':>16} | {'scapy sr()':>16} | speedup "
              "| verdicts")
        for n in (int(x) for x in args.sizes.split(",")):
            probes = probe_set(n)
            ours0, w0 = run(tb, "egressctl.verify.probe", probes, args.timeout, 0)
            ours1, w1 = run(tb, "egressctl.verify.probe", probes, args.timeout, 1)
            row = (f"{n:>7} | {ours0['elapsed_s']:6.2f}s [{w0:5.2f}s] | {ours1['elapsed_s']:6.2f}s "
                   f"[{w1:5.2f}s] |")
            if args.no_scapy:
                print(row + " (skipped)")
                continue
            ref, wr = run(tb, "egressctl_lab.testing.scapy_baseline", probes, args.timeout, 0)
            v0, v1, vr = verdicts(ours0), verdicts(ours1), verdicts(ref)
            same = sum(v0[k] == vr[k] for k in vr)
            same1 = sum(v1[k] == vr[k] for k in vr)
            speed = ref["elapsed_s"] / ours0["elapsed_s"]
            print(f"{row} {ref['elapsed_s']:6.2f}s [{wr:5.2f}s] | {speed:6.1f}x | r=0 {same}/{n} identical, "
                  f"r=1 {same1}/{n}")
            print("         outcomes ours r=0:", dict(Counter(r["outcome"] for r in ours0["results"])),
                  " scapy:", dict(Counter(r["outcome"] for r in ref["results"])))


if __name__ == "__main__":
    main()
