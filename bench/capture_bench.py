#!/usr/bin/env python3
"""Capture analysis benchmark: egressctl's engines side by side with tcpdump and scapy, same file, one run.

    python bench/capture_bench.py [--packets 2000000] [--repeat 3] [--scapy-packets 20000]

Generates (and caches) a deterministic capture with planted leaks
(``egressctl_lab.testing.capture_generator``, in its BPF-expressible profile so tcpdump can be held to the
same ground truth), then measures, each in its own subprocess so peak RSS is that tool's alone:

* scapy ``PcapReader`` + a Python check per packet, on a prefix of the file (extrapolated, labelled so);
* ``tcpdump -r`` with the equivalent BPF generated from the policy (with the ``vlan`` repeat), whose
  matched-packet count must equal the ground truth's leak count;
* ``tcpdump -r`` with no filter (the floor of reading the file with libpcap);
* egressctl ``offline.analyze`` with the C engine and with the numpy fallback.

Figures are medians of ``--repeat`` runs; the machine is shared, so compare within one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from egressctl_lab.testing import capture_generator as pcapgen

from egressctl.policy import Policy, Rule, compute_policy

ROOT = Path(__file__).resolve().parent.parent


# -- the equivalent BPF -------------------------------------------------------------------------
def _any_of(words: list[str]) -> str:
    return "(" + " or ".join(words) + ")"


def _rule_bpf(r: Rule, fam: int) -> str:
    parts: list[str] = []
    if r.protocol != "any":
        parts.append("icmp6" if (r.protocol == "icmp" and fam == 6) else r.protocol)
    for qual, nets in (("src", r.sources), ("dst", r.destinations)):
        mine = [n for n in nets if n.version == fam]
        if mine:
            parts.append(_any_of([f"{qual} net {n}" for n in mine]))
    for qual, ports in (("src", r.src_ports), ("dst", r.dst_ports)):
        if ports:
            parts.append(
                _any_of(
                    [
                        f"{qual} port {p.first}"
                        if p.first == p.last
                        else f"{qual} portrange {p.first}-{p.last}"
                        for p in ports
                    ]
                )
            )
    return "(" + " and ".join(parts or ["1 = 1"]) + ")"


def leak_bpf(policy: Policy, inside: list[Any]) -> str:
    """BPF matching exactly the packets egressctl calls leaks (first-match policy, final deny)."""
    assert all(r.action == "permit" for r in policy.rules[:-1]) and policy.rules[-1].action == "deny"
    fams = []
    for fam, word in ((4, "ip"), (6, "ip6")):
        ins = [n for n in inside if n.version == fam]
        rules = [_rule_bpf(r, fam) for r in policy.rules[:-1] if fam in r.families()]
        clause = [
            word,
            _any_of([f"src net {n}" for n in ins]),
            "not " + _any_of([f"dst net {n}" for n in ins]),
        ]
        if fam == 4:
            clause.insert(1, "ip[6:2] & 0x1fff = 0")  # non-first fragments are unverified, not leaks
        if rules:
            clause.append("not " + _any_of(rules))
        fams.append("(" + " and ".join(clause) + ")")
    expr = " or ".join(fams)
    return f"({expr}) or (vlan and ({expr}))"


# -- workers (run in subprocesses) ------------------------------------------------------------------
def _maxrss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def worker_ours(path: str, engine: str, site_seed: int) -> dict[str, Any]:
    from egressctl.verify.capture import offline

    site = pcapgen.build_site(site_seed)
    t0 = time.perf_counter()
    rep = offline.analyze(path, site, pcapgen.TARGET, engine=engine)  # type: ignore[arg-type]
    el = time.perf_counter() - t0
    flows = {
        pcapgen.flow_key(f.family, f.proto, f.src, f.dst, f.sport, f.dport): f.packets for f in rep.leak_flows
    }
    return {
        "elapsed": el,
        "packets": rep.packets,
        "leaks": rep.leak_packets,
        "flows": flows,
        "engine": rep.engine,
        "rss_mb": _maxrss_mb(),
    }


def worker_scapy(path: str, limit: int, site_seed: int) -> dict[str, Any]:
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.utils import PcapReader

    from egressctl.verify.matcher import LEAK, CompiledPolicy

    site = pcapgen.build_site(site_seed)
    cp = CompiledPolicy.compile(compute_policy(site, pcapgen.TARGET), site)
    leaks = n = 0
    t0 = time.perf_counter()
    with PcapReader(path) as rd:
        for pkt in rd:
            n += 1
            ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
            if ip is not None and ip.version in (4, 6) and not (ip.version == 4 and ip.frag):
                l4 = ip.getlayer(TCP) or ip.getlayer(UDP)
                proto = ip.proto if ip.version == 4 else ip.nh
                sp, dp = (l4.sport, l4.dport) if l4 is not None else (0, 0)
                leaks += cp.code(ip.version, proto, ip.src, ip.dst, sp, dp) == LEAK
            if n >= limit:
                break
    return {"elapsed": time.perf_counter() - t0, "packets": n, "leaks": leaks, "rss_mb": _maxrss_mb()}


def worker_exec(argv: list[str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=False)
    el = time.perf_counter() - t0
    count = next((int(w.split()[0]) for w in out.stdout.splitlines() if w.endswith("packets")), -1)
    return {
        "elapsed": el,
        "count": count,
        "rss_mb": _maxrss_mb(resource.RUSAGE_CHILDREN),
        "rc": out.returncode,
        "stderr": out.stderr[-300:],
    }


def run_worker(kind: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps([kind, *args])],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- orchestration ------------------------------------------------------------------
def prefix_pcap(src: Path, dst: Path, n: int) -> None:
    """The first ``n`` records of a little-endian pcap (for the scapy subset's exactness check)."""
    with src.open("rb") as f, dst.open("wb") as o:
        o.write(f.read(24))
        for _ in range(n):
            hdr = f.read(16)
            if len(hdr) < 16:
                break
            o.write(hdr + f.read(struct.unpack("<IIII", hdr)[2]))


def measure(label: str, repeat: int, kind: str, *args: str) -> dict[str, Any]:
    runs = [run_worker(kind, *args) for _ in range(repeat)]
    best = sorted(runs, key=lambda r: r["elapsed"])[len(runs) // 2]
    best["label"] = label
    best["rss_mb"] = max(r["rss_mb"] for r in runs)
    print(f"  measured {label}: {best['elapsed']:.2f} s", file=sys.stderr, flush=True)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scapy-packets", type=int, default=20_000, help="scapy runs on this prefix (0 = skip)")
    ap.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "egressctl" / "bench",
    )
    ap.add_argument("--no-numpy", action="store_true", help="skip the numpy fallback (slowest of ours)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns.worker:
        kind, *rest = json.loads(ns.worker)
        if kind == "ours":
            res = worker_ours(rest[0], rest[1], int(rest[2]))
        elif kind == "scapy":
            res = worker_scapy(rest[0], int(rest[1]), int(rest[2]))
        else:
            res = worker_exec(rest)
        print(json.dumps(res))
        return
    opts = pcapgen.GenOptions(packets=ns.packets, seed=ns.seed, bpf_exact=True)
    ns.cache.mkdir(parents=True, exist_ok=True)
    path = ns.cache / f"capture-{ns.packets}-{ns.seed}.pcap"
    truth_path = Path(str(path) + ".truth.json")
    if not (path.exists() and truth_path.exists()):
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        pcapgen.generate(path, opts)
        print(f"  generated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    truth = pcapgen.GroundTruth.load(truth_path)
    site = pcapgen.build_site(opts.site_seed)
    bpf = leak_bpf(compute_policy(site, pcapgen.TARGET), list(site.inside))
    bpf_file = ns.cache / f"leaks-{opts.site_seed}.bpf"
    bpf_file.write_text(bpf)
    rows = run_all(ns, path, bpf_file, opts.site_seed)
    report(rows, truth, path, bpf)


def run_all(ns: argparse.Namespace, path: Path, bpf_file: Path, site_seed: int) -> list[dict[str, Any]]:
    rows = []
    if ns.scapy_packets:
        sub = ns.cache / f"prefix-{ns.scapy_packets}.pcap"
        prefix_pcap(path, sub, ns.scapy_packets)
        r = measure(
            "scapy PcapReader + Python check", 1, "scapy", str(sub), str(ns.scapy_packets), str(site_seed)
        )
        ref = run_worker("ours", str(sub), "auto", str(site_seed))
        r["exact"] = (
            f"{'yes' if r['leaks'] == ref['leaks'] else 'NO'} (subset of {r['packets']:,}, extrapolated)"
        )
        rows.append(r)
    tcp = ["tcpdump", "-n", "-r", str(path), "--count"]
    r = measure("tcpdump -r + equivalent BPF (vlan repeat)", ns.repeat, "exec", *tcp, "-F", str(bpf_file))
    r["packets"] = ns.packets
    rows.append(r)
    r = measure("tcpdump -r, no filter (floor)", ns.repeat, "exec", *tcp)
    r["packets"], r["exact"] = r["count"], "n/a"
    rows.append(r)
    for engine, label in (("c", "egressctl C engine"), ("numpy", "egressctl numpy fallback")):
        if engine == "numpy" and ns.no_numpy:
            continue
        rows.append(measure(label, ns.repeat, "ours", str(path), engine, str(site_seed)))
    return rows


def report(rows: list[dict[str, Any]], truth: pcapgen.GroundTruth, path: Path, bpf: str) -> None:
    size = path.stat().st_size
    print(
        f"\ncapture: {path} ({size / 1e9:.2f} GB, {truth.packets:,} packets, "
        f"{truth.leak_packets:,} planted leak packets in {len(truth.leak_flows):,} flows, "
        f"{truth.vlan_leaks} VLAN-tagged, {truth.ipv6_leaks} IPv6; unverified {truth.unverified})"
    )
    print(f"BPF: {len(bpf):,} characters\n")
    print(f"| {'approach':<44} | {'packets/s':>12} | {'exact':<40} | {'peak RSS':>9} |")
    print(f"|{'-' * 46}|{'-' * 13}:|{'-' * 42}|{'-' * 10}:|")
    for r in rows:
        if "exact" not in r:
            if "count" in r:
                r["exact"] = "yes" if r["count"] == truth.leak_packets else f"NO ({r['count']} matched)"
            else:
                ok = r["leaks"] == truth.leak_packets and r["flows"] == truth.leak_flows
                r["exact"] = "yes (packets and flows)" if ok else f"NO ({r['leaks']} leaks)"
        pps = r["packets"] / r["elapsed"] if r["elapsed"] else 0
        r["pps"] = pps
        print(f"| {r['label']:<44} | {pps:>12,.0f} | {r['exact']:<40} | {r['rss_mb']:>6.0f} MB |")
    by = {r["label"]: r for r in rows}
    filt = by["tcpdump -r + equivalent BPF (vlan repeat)"]["pps"]
    for label in ("egressctl C engine", "egressctl numpy fallback"):
        if label in by and filt:
            print(f"\n{label} / tcpdump-with-filter = {by[label]['pps'] / filt:.2f}x", end="")
    print()


if __name__ == "__main__":
    main()
