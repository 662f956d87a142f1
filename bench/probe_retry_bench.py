"""False ``blocked-allowed`` verdicts under CPU load: one try per probe (before) vs retries (after).

A verification on an open path must not say ``blocked-allowed``. On a loaded machine a single allowed
probe can miss its 1 s time-out (the probe child, the destination's userspace UDP service and the
forwarding namespaces all compete for the CPU). This builds the probe testbed (namespaces ``h19-in``,
``h19-rt``, ``h19-out``: an inside host, a router whose nftables isolate it, an outside network answering
TCP by the kernel and UDP by a userspace echo server), isolates it with the always-allowed flows open
(tcp/443 to 198.18.1.0/24, udp/53 to the DNS address, v4 and v6), starts ``--hogs`` busy processes for
the duration (bounded in time), and runs ``--runs`` verifications per side, alternating:

* ``before``: ``retry_schedule=NO_RETRY`` (one try per probe, what verification did before retries);
* ``after``: the default schedule (silent allowed probes run again, up to 3 times within 6 s).

Busy processes alone rarely make a reply 1 s late here (the kernel answers TCP, and CFS wakes the UDP
echo server quickly), so ``--stall-ms`` adds what a starved userspace service looks like: the outside
namespace's echo server is stopped (SIGSTOP) for that long at random moments (on average every
``--stall-every-ms``) and continued (SIGCONT), so a DNS probe landing in a stall is answered late, as a
starved service answers. The stalls end with the runs (SIGCONT in a ``finally``).

Every verdict other than ``cut-confirmed`` is false here (the path is open by construction, and the
denied canaries are dropped or refused by the router). Prints, per side: false verdicts out of N, late
answers (answered only on a retry), the largest number of tries, wall time per verification, and the
load average. Nothing leaves the namespaces made here; they are removed in a ``finally`` (also on
Ctrl-C), and so are the hogs. No loopback port is used.

Measured on 2 shared cores (false verdicts before -> after, N = 20 per side, time-out 1 s): 2 hogs alone
(load 3) 0 -> 0, 18 hogs alone (load 19) 0 -> 0; with 1.5 s stalls every 1.5 s on average: 2 hogs (load 4)
4 -> 0 (6 late answers, at most 2 tries), 18 hogs (load 17) 2 -> 0 (8 late answers, at most 3 tries,
after's slowest verification 6.8 s vs 3.1 s).

Usage: ``python bench/probe_retry_bench.py [--runs 20] [--hogs 2] [--timeout 1.0] [--limit 600]
[--stall-ms 0] [--stall-every-ms 3000]`` (root).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

from egressctl_lab.testing.probe_testbed import Testbed

from egressctl.inventory.models import Site
from egressctl.verify.probe.active import verify_active
from egressctl.verify.probe.retry import BUDGET, NO_RETRY, SCHEDULE, WALL

PREFIX = "h19-"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHoR2vS8mK8Q0DAZU864neT/yRls23XrEDy7IrLAeu2"
ISOLATE = """chain filter_fwd { type filter hook forward priority 0; policy drop;
  iifname "out0" accept
  ip daddr 198.18.1.0/24 tcp dport 443 accept
  ip daddr 198.18.2.53 udp dport 53 accept
  ip6 daddr 2001:db8:77::53 udp dport 53 accept
  ip daddr 198.18.0.80 tcp dport 80 reject with tcp reset
}"""
HOG = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end:\n    pass\n"


def site_over(tb: Testbed) -> Site:
    """The testbed as a site: one vantage point inside, always-allowed TLS and DNS, two canaries."""
    return Site.model_validate({
        "name": "h19", "inside": ["10.77.1.0/24", "fd77:1::/64"],
        "management": [{"name": "ops", "sources": ["10.77.1.50/32"]}],
        "always_allowed": [
            {"name": "svc", "destinations": ["198.18.1.0/24"], "protocol": "tcp", "ports": [443]},
            {"name": "dns", "destinations": ["198.18.2.53/32", "2001:db8:77::53/128"], "protocol": "udp",
             "ports": [53]}],
        "devices": [{"name": "rt", "platform": "linux_nftables", "host": "127.0.0.1", "username": "admin",
                     "credential": "env:H19_UNUSED", "host_key": KEY, "inside": ["in0"], "outside": ["out0"],
                     "exit": "main", "mgmt_address": "10.77.1.1"}],
        "vantage_points": [{"name": "inside", "exit": "main", "netns": tb.ns["in"],
                            "addresses": ["10.77.1.2", "fd77:1::2"]}],
        "canaries": [{"name": "web", "address": "198.18.0.80", "tcp": [80, 443], "udp": [443]},
                     {"name": "web6", "address": "2001:db8:77::80", "tcp": [443], "udp": [53]}],
    })


def hogs(n: int, seconds: float) -> list[subprocess.Popen[bytes]]:
    """``n`` busy processes, each ending by itself after ``seconds``."""
    return [subprocess.Popen([sys.executable, "-c", HOG.format(s=seconds)]) for _ in range(n)]


def _cont(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


class Stalls:
    """Stop the outside namespace's processes (the echo server) for ``ms`` at random moments, then go on."""

    def __init__(self, tb: Testbed, ms: float, every_ms: float) -> None:
        out = subprocess.run(["ip", "netns", "pids", tb.ns["out"]], capture_output=True, text=True,
                             timeout=10, check=True).stdout
        self.pids = [int(p) for p in out.split()]
        self.ms, self.every_ms, self.stop, self.count = ms, every_ms, threading.Event(), 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(random.uniform(0, 2 * self.every_ms) / 1000):
            for pid in self.pids:
                os.kill(pid, signal.SIGSTOP)
            self.count += 1
            try:
                self.stop.wait(self.ms / 1000)
            finally:
                _cont(self.pids)

    def __enter__(self) -> Stalls:
        if self.ms > 0:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(10)
        _cont(self.pids)


def one(site: Site, tb: Testbed, side: str, timeout: float) -> dict[str, Any]:
    """One verification; its verdict, late answers, most tries, wall time and the 1-minute load."""
    t0 = time.monotonic()
    rep = verify_active(site, "isolated", timeout=timeout, exec_prefix=tb.exec_prefix_for_netns,
                        retry_schedule=NO_RETRY if side == "before" else SCHEDULE)
    return {"side": side, "verdict": rep.verdict, "late": len(rep.answered_on_retry),
            "tries": max((o.tries for o in rep.observations), default=0), "wall": time.monotonic() - t0,
            "load": os.getloadavg()[0], "probes": len(rep.observations)}


def runs(site: Site, tb: Testbed, args: argparse.Namespace) -> list[dict[str, Any]]:
    """``args.runs`` verifications per side, alternating, until ``args.limit`` seconds have passed."""
    rows: list[dict[str, Any]] = []
    end = time.monotonic() + args.limit
    for k in range(2 * args.runs):
        if time.monotonic() > end:
            print("time limit reached", flush=True)
            break
        row = one(site, tb, ("before", "after")[k % 2], args.timeout)
        rows.append(row)
        print(f"{k + 1:3} {row['side']:6} {row['verdict']:22} late {row['late']} "
              f"tries {row['tries']} {row['wall']:.2f} s load {row['load']:.1f}", flush=True)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The before/after table."""
    out = [f"{'side':7} {'N':>3} {'false verdicts':>15} {'late answers':>13} {'max tries':>9} "
           f"{'wall median/max s':>18} {'load 1m median':>15}"]
    for side in ("before", "after"):
        rs = [r for r in rows if r["side"] == side]
        if not rs:
            continue
        false = sum(r["verdict"] != "cut-confirmed" for r in rs)
        walls = [r["wall"] for r in rs]
        out.append(f"{side:7} {len(rs):>3} {false:>9} / {len(rs):<3} {sum(r['late'] for r in rs):>13} "
                   f"{max(r['tries'] for r in rs):>9} {statistics.median(walls):>9.2f}/{max(walls):<8.2f} "
                   f"{statistics.median(r['load'] for r in rs):>15.1f}")
    verdicts = sorted({r["verdict"] for r in rows})
    out.append("verdicts seen: " + ", ".join(
        f"{v} (before {sum(r['verdict'] == v and r['side'] == 'before' for r in rows)}, "
        f"after {sum(r['verdict'] == v and r['side'] == 'after' for r in rows)})" for v in verdicts))
    return "\n".join(out)


def main() -> int:
    """Build, load, measure, print, tear down."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="verifications per side (N)")
    ap.add_argument("--hogs", type=int, default=2, help="busy processes for the duration")
    ap.add_argument("--timeout", type=float, default=1.0, help="probe time-out (s)")
    ap.add_argument("--limit", type=float, default=600.0, help="stop starting runs after this many seconds")
    ap.add_argument("--stall-ms", type=float, default=0.0, help="stop the outside echo server this long")
    ap.add_argument("--stall-every-ms", type=float, default=3000.0, help="mean time between stalls")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []
    busy: list[subprocess.Popen[bytes]] = []
    with Testbed(PREFIX) as tb:
        try:
            tb.nft(ISOLATE)
            site = site_over(tb)
            warm = one(site, tb, "after", args.timeout)  # idle: the testbed answers as expected
            print(f"idle check: {warm['verdict']}, {warm['probes']} probes, {warm['wall']:.2f} s", flush=True)
            busy = hogs(args.hogs, args.limit + 30)
            time.sleep(2.0)
            with Stalls(tb, args.stall_ms, args.stall_every_ms) as stalls:
                rows = runs(site, tb, args)
            print(f"stalls of the echo server: {stalls.count} x {args.stall_ms:.0f} ms", flush=True)
        finally:
            for p in busy:
                p.terminate()
                p.wait(5)
    print(f"\n{args.hogs} hog(s), time-out {args.timeout} s, "
          f"retries {SCHEDULE} x time-out, together within {BUDGET} x time-out, none after {WALL} x")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
