"""How long loading a large inventory takes (goal: a 2,000-device site in under 1 s). Prints the figures.

Generates one site with ``--devices`` devices (five platforms in turn, each with its own address, host key
pin and credential reference, on four exits), two stages (one a deliberate world-wide web allow),
vantage points, a canary and capture points; writes it to a temporary file and loads it with
``egressctl.inventory.load_inventory`` ``--runs`` times, once with libyaml's composer and once with
PyYAML's pure-Python one, side by side in one run (medians printed). ``--merge`` writes the devices with
an anchor of shared fields and YAML merge keys instead.

    python bench/inventory_load.py [--devices 2000] [--runs 5] [--merge]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from egressctl.inventory import load_inventory, yamlnodes

PLATFORMS = ["linux_nftables", "cisco_ios", "juniper_junos", "fortinet", "paloalto_panos"]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHoR2vS8mK8Q0DAZU864neT/yRls23XrEDy7IrLAe{:02d}"

HEAD = """\
version: 1
sites:
  - name: big
    description: generated site for the loader benchmark
    inside: [10.0.0.0/8, "fd00::/8"]
    management:
      - name: ops-ssh
        sources: [10.255.0.10/32, 10.255.0.11/32]
        protocol: tcp
        ports: [22]
    always_allowed:
      - name: dns-fwd
        destinations: [203.0.113.53/32, "2001:db8:c::d53/128"]
        protocol: udp
        ports: [53]
    stages:
      - name: ministry
        allow:
          - name: ministry-vpn
            destinations: [203.0.113.20/32]
            protocol: udp
            ports: [500, 4500]
      - name: web
        allow:
          - name: proxy-web
            destinations: [0.0.0.0/0, "::/0"]
            allow_world: true
            protocol: tcp
            ports: [80, 443]
"""

DEVICE = """\
      - name: dev{i:04d}
        platform: {platform}
        host: 10.{a}.{b}.1
        port: 22
        username: admin
        credential: env:DEV{i:04d}_PASSWORD
        host_key: {key}
        inside: [lan0, lan1]
        outside: [wan0]
        exit: exit{e}
        mgmt_address: 10.{a}.{b}.1
        options: {{vdom: root, timeout: 30}}
"""

TAIL = """\
    vantage_points:
      - name: ws1
        exit: exit0
        netns: ws1
        addresses: [10.1.1.11, "fd00:1::11"]
      - name: ws2
        exit: exit1
        ssh_host: 10.1.1.12
        ssh_user: probe
        credential: env:PROBE_PASSWORD
        addresses: [10.1.1.12]
    canaries:
      - name: web
        address: 192.0.2.80
        tcp: [25, 80, 443]
        udp: [53]
    captures:
      - exit: exit0
        interface: ce0
      - exit: exit1
        interface: ce1
"""


MERGED_DEVICE = """\
      - <<: *device
        name: dev{i:04d}
        platform: {platform}
        host: 10.{a}.{b}.1
        credential: env:DEV{i:04d}_PASSWORD
        host_key: {key}
        exit: exit{e}
        mgmt_address: 10.{a}.{b}.1
"""


def generate(devices: int, merge: bool = False) -> str:
    """A valid inventory text with ``devices`` devices on four exits (sharing an anchor when ``merge``)."""
    body = "".join(
        (MERGED_DEVICE if merge and i else DEVICE).format(
            i=i, platform=PLATFORMS[i % len(PLATFORMS)], a=1 + i // 250, b=i % 250, e=i % 4,
            key=KEY.format(i % 100))
        for i in range(devices)
    )
    if merge:
        body = body.replace("      - name: dev0000\n", "      - &device\n        name: dev0000\n", 1)
    return HEAD + "    devices:\n" + body + TAIL


def time_load(path: Path, runs: int, loader: Any) -> float:
    """Median seconds of ``runs`` loads of ``path`` composed by ``loader``."""
    saved, yamlnodes.LOADER = yamlnodes.LOADER, loader
    try:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            load_inventory(path)
            times.append(time.perf_counter() - t0)
    finally:
        yamlnodes.LOADER = saved
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--merge", action="store_true", help="devices share an anchor through merge keys")
    args = parser.parse_args()
    loaders: list[tuple[str, Any]] = [("pure Python", yaml.SafeLoader)]
    if hasattr(yaml, "CSafeLoader"):
        loaders.insert(0, ("libyaml", yaml.CSafeLoader))
    with tempfile.TemporaryDirectory(prefix="egressctl-bench-") as tmp:
        path = Path(tmp) / "big.yaml"
        path.write_text(generate(args.devices, args.merge))
        size = path.stat().st_size
        results = {name: time_load(path, args.runs, loader) for name, loader in loaders}
    shape = "merge keys" if args.merge else "plain"
    print(f"load_inventory, {args.devices} devices ({shape}, {size / 1e6:.2f} MB), "
          f"median of {args.runs} runs:")
    for name, seconds in results.items():
        print(f"  {name:12} composer: {seconds:.3f} s (goal < 1 s)")
    if len(results) == 2:
        print(f"  libyaml is {results['pure Python'] / results['libyaml']:.1f}x faster")


if __name__ == "__main__":
    main()
