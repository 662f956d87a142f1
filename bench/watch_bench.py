"""Live leak watch benchmark: rate, kernel drops, leaks found vs planted, CPU; scapy AsyncSniffer beside it.

Two namespaces (vb-wb-tx, vb-wb-rx) joined by one veth. A sender in vb-wb-tx replays a deterministic cycle
of 1,000 frames (permitted IPv4/IPv6/VLAN traffic from the lab site's inside, inbound traffic the kernel
filter discards, and 6 planted leaks: prefix edge, port edge, wrong protocol, IPv6, VLAN-tagged, IPv4 with
options) with sendmmsg(2) batches on an AF_PACKET socket, paced to a target rate. The watch
(egressctl.verify.watch.session, the lab site's policy at stage "allowlist") captures on the rx end for
each rate.
Then scapy's AsyncSniffer with the same exact per-packet check runs at low rates for comparison.

Usage: python bench/watch_bench.py [--rates 50000,150000,300000,0] [--seconds 5] [--no-scapy]
       (rate 0 = as fast as the sender can go)
"""

from __future__ import annotations

import argparse
import ctypes
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import CapturePoint
from egressctl.verify.watch.session import watch_site

TX, RX = "vb-wb-tx", "vb-wb-rx"
ROOT = Path(__file__).resolve().parents[1]
TARGET = "allowlist"


def frames() -> tuple[list[bytes], int, int, set[tuple[str, str, int]]]:
    """The cycle: frames, how many pass the site filter, leak packets per cycle, planted leak flows."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_RR
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Dot1Q, Ether

    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    out, passing = [], 0
    for i in range(994):
        src = f"10.10.{1 + i % 3}.{10 + i % 200}"
        k = i % 10
        if k < 5:
            p = e / IP(src=src, dst="203.0.113.10") / TCP(sport=30000 + i, dport=443)
        elif k < 7:
            p = e / IP(src=src, dst=f"198.18.20.{i % 250 + 1}") / TCP(sport=30000 + i, dport=443)
        elif k == 7:
            p = e / IPv6(src=f"fd10::{i:x}", dst="2001:db8:c::d53") / UDP(sport=30000 + i, dport=53)
        elif k == 8:
            p = e / Dot1Q(vlan=10) / IP(src=src, dst="203.0.113.53") / UDP(sport=30000 + i, dport=53)
        else:
            p = e / IP(src="192.0.2.80", dst=src) / ICMP()  # inbound: discarded by the kernel filter
        passing += k != 9
        out.append(bytes(p))
    leaks = [e / IP(src="10.10.1.66", dst="198.18.21.0") / TCP(sport=40001, dport=443),
             e / IP(src="10.10.1.66", dst="203.0.113.10") / TCP(sport=40002, dport=444),
             e / IP(src="10.10.1.66", dst="203.0.113.10") / UDP(sport=40003, dport=443),
             e / IPv6(src="fd10::66", dst="2001:db8:c::80") / TCP(sport=40004, dport=443),
             e / Dot1Q(vlan=20) / IP(src="10.10.2.66", dst="192.0.2.80") / TCP(sport=40005, dport=80),
             e / IP(src="10.10.1.67", dst="192.0.2.80", options=[IPOption_RR()]) / TCP(sport=40006, dport=25)]
    planted = {("10.10.1.66", "198.18.21.0", 443), ("10.10.1.66", "203.0.113.10", 444),
               ("10.10.1.66", "203.0.113.10", 443), ("fd10::66", "2001:db8:c::80", 443),
               ("10.10.2.66", "192.0.2.80", 80), ("10.10.1.67", "192.0.2.80", 25)}
    for j, lk in enumerate(leaks):  # spread the leaks through the cycle
        out.insert(150 * j + 7, bytes(lk))
    return out, passing + len(leaks), len(leaks), planted


class _IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32), ("iov", ctypes.POINTER(_IOVec)),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("hdr", _MsgHdr), ("len", ctypes.c_uint)]


def send(rate: int, seconds: float) -> None:
    """Sender (runs inside vb-wb-tx): whole cycles, paced in batches; prints JSON {sent, cycles, elapsed}."""
    cycle, _, _, _ = frames()
    libc = ctypes.CDLL(None, use_errno=True)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.setsockopt(263, 20, 1)  # PACKET_QDISC_BYPASS
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    s.bind(("eth0", 0))
    bufs = [ctypes.create_string_buffer(f, len(f)) for f in cycle]
    iovs = (_IOVec * len(cycle))(*[_IOVec(ctypes.addressof(b), len(f))
                                   for b, f in zip(bufs, cycle, strict=True)])
    msgs = (_MMsgHdr * len(cycle))()
    for i in range(len(cycle)):
        msgs[i].hdr.iov = ctypes.pointer(iovs[i])
        msgs[i].hdr.iovlen = 1
    sent, cycles, t0 = 0, 0, time.monotonic()
    batch = max(1, min(200, rate // 5000)) if rate else 200  # small batches at low rates: no bursts
    while time.monotonic() - t0 < seconds:
        for start in range(0, len(cycle), batch):
            n = min(batch, len(cycle) - start)
            done = 0
            while done < n:
                r = libc.sendmmsg(s.fileno(), ctypes.byref(msgs, (start + done) * ctypes.sizeof(_MMsgHdr)),
                                  n - done, 0)
                if r < 0:
                    time.sleep(0.0002)  # ENOBUFS: the sender outran the link; retry, never skip
                    continue
                done += r
            sent += n
            if rate:
                ahead = sent / rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
        cycles += 1
    print(json.dumps({"sent": sent, "cycles": cycles, "elapsed": time.monotonic() - t0}))


def sniff_scapy(seconds: float) -> None:
    """scapy AsyncSniffer with the same exact per-packet verdicts (runs inside vb-wb-rx)."""
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.sendrecv import AsyncSniffer

    from egressctl.policy import compute_policy
    from egressctl.verify.matcher import CompiledPolicy

    site = load_inventory(ROOT / "inventory/lab.yaml").site("lab")
    cp = CompiledPolicy.compile(compute_policy(site, TARGET), site)
    seen, leaks, flows = [0], [0], set()

    def check(p: object) -> None:
        seen[0] += 1
        if isinstance(p, Raw):  # scapy cannot always guess the link type inside a namespace
            p = Ether(bytes(p))
        ip = p.getlayer(IP) or p.getlayer(IPv6)  # type: ignore[attr-defined]
        if ip is None:
            return
        l4 = ip.getlayer(TCP) or ip.getlayer(UDP)
        sport, dport = (l4.sport, l4.dport) if l4 is not None else (0, 0)
        proto = ip.proto if ip.version == 4 else ip.nh
        if cp.verdict(ip.version, int(proto), ip.src, ip.dst, sport, dport).leak:
            leaks[0] += 1
            flows.add((ip.src, ip.dst, dport))

    cpu0 = time.process_time()
    sn = AsyncSniffer(iface="eth0", prn=check, store=False)
    sn.start()
    time.sleep(0.5)
    print("ready", flush=True)
    time.sleep(seconds)
    sn.stop()
    print(json.dumps({"seen": seen[0], "leaks": leaks[0], "flows": sorted(map(list, flows)),
                      "cpu_s": time.process_time() - cpu0}))


def sh(*argv: str) -> None:
    subprocess.run(list(argv), check=True, capture_output=True)


def setup() -> None:
    teardown()
    for ns in (TX, RX):
        sh("ip", "netns", "add", ns)
    sh("ip", "-n", TX, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", RX)
    for ns in (TX, RX):
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def teardown() -> None:
    for ns in (TX, RX):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def in_ns(ns: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns, sys.executable, str(Path(__file__).resolve()), *args]


def one_rate(rate: int, seconds: float, planted: set[tuple[str, str, int]], per_cycle: int,
             passing: int) -> dict[str, object]:
    site = load_inventory(ROOT / "inventory/lab.yaml").site("lab")
    started = threading.Event()
    sender: dict[str, object] = {}

    def go() -> None:
        started.wait(10)
        time.sleep(0.3)
        res = subprocess.run(in_ns(TX, "--send", str(rate), str(seconds)), capture_output=True, text=True,
                             check=True)
        sender.update(json.loads(res.stdout))

    t = threading.Thread(target=go)
    t.start()
    report = watch_site(site, TARGET, seconds + 4.0, exec_prefix=lambda ns: ["ip", "netns", "exec", ns],
                        captures=[CapturePoint(exit="bench", netns=RX, interface="eth0")],
                        on_event=lambda e: started.set() if e.get("event") == "start" else None)
    t.join()
    cap = next(iter(report.captures.values()), {})
    found = {(f["src"], f["dst"], f["dport"]) for f in report.flows}
    cycles = int(sender.get("cycles", 0))  # type: ignore[call-overload]
    return {"rate": rate, "sent": sender.get("sent"), "tx_s": sender.get("elapsed"),
            "seen": cap.get("counters", {}).get("packets"), "expected": cycles * passing,
            "drops": report.drops, "leaks": report.leak_packets, "planted": cycles * per_cycle,
            "flows_ok": found == planted, "cpu_s": cap.get("cpu_s"), "wall_s": cap.get("elapsed_s"),
            "ppcs": cap.get("packets_per_cpu_s"), "unverified": report.unverified, "errors": report.errors}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="50000,150000,300000,0")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--no-scapy", action="store_true")
    ap.add_argument("--send", nargs=2)
    ap.add_argument("--sniff", type=float)
    args = ap.parse_args()
    if args.send:
        return send(int(args.send[0]), float(args.send[1]))
    if args.sniff:
        return sniff_scapy(args.sniff)
    _, passing, per_cycle, planted = frames()
    setup()
    try:
        print(f"policy: lab site at {TARGET!r}; cycle 1000 frames, {passing} pass the site filter, "
              f"{per_cycle} planted leaks (6 flows)")
        print(f"{'target pps':>10} {'sent pps':>9} {'seen/expected':>19} {'drops':>6} "
              f"{'leaks found/planted':>20} {'flows':>5} {'CPU (load)':>10} {'pkts/CPU-s':>11}")
        for rate in (int(x) for x in args.rates.split(",")):
            r = one_rate(rate, args.seconds, planted, per_cycle, passing)
            pps = (r["sent"] or 0) / (r["tx_s"] or 1)  # type: ignore[operator]
            cpu = (r["cpu_s"] or 0) / (r["tx_s"] or 1)  # type: ignore[operator]  # CPU over the loaded time
            print(f"{rate or 'max':>10} {pps:9.0f} {r['seen']:>9}/{r['expected']:<9} {r['drops']:>6} "
                  f"{r['leaks']:>9}/{r['planted']:<10} {'ok' if r['flows_ok'] else 'MISS':>5} {cpu:8.0%} "
                  f"{r['ppcs'] or 0:>11.0f}" + (f"  errors: {r['errors']}" if r["errors"] else ""))
        if not args.no_scapy:
            print("scapy AsyncSniffer + the same exact check (python per packet):")
            for rate in (1000, 5000, 20000):
                sn = subprocess.Popen(in_ns(RX, "--sniff", str(args.seconds + 3.0)), stdout=subprocess.PIPE,
                                      text=True)
                assert sn.stdout is not None
                sn.stdout.readline()  # "ready": the sniffer is running
                tx = json.loads(subprocess.run(in_ns(TX, "--send", str(rate), str(args.seconds)),
                                               capture_output=True, text=True, check=True).stdout)
                out = json.loads(sn.communicate()[0])
                cycles = tx["cycles"]
                flows = {tuple(f) for f in out["flows"]}
                print(f"{rate:>10} {tx['sent'] / tx['elapsed']:9.0f} {out['seen']:>9}/{cycles * 1000:<9} "
                      f"{'n/a':>6} {out['leaks']:>9}/{cycles * per_cycle:<10} "
                      f"{'ok' if flows == planted else 'MISS':>5} {out['cpu_s'] / (args.seconds + 3.0):8.0%} "
                      f"{out['seen'] / max(out['cpu_s'], 1e-9):>11.0f}  (sees inbound too: no kernel filter)")
    finally:
        teardown()
    return None


if __name__ == "__main__":
    main()
