"""What the lab-building tests check from outside: a plain netmiko script, packet probes, leftovers.

``NETMIKO_SCRIPT`` is deliberately a plain netmiko script with no egressctl import: it reads the
``lab status --json`` document on stdin, exactly what an outside CI job would do.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

LAB_YAML = Path(__file__).resolve().parents[2] / "inventory" / "lab.yaml"

NETMIKO_SCRIPT = r'''
import json, sys
from netmiko import ConnectHandler

doc = json.load(sys.stdin)
wanted = set(sys.argv[1:])
results = {}
SHOW = {
    "linux": "ip -brief address show",
    "cisco_ios": "show running-config | include hostname",
    "juniper_junos": "show configuration | display set",
    "fortinet": "get system status",
    "paloalto_panos": "show system info",
}
for dev in doc["devices"]:
    if wanted and dev["name"] not in wanted:
        continue
    password = open(dev["credential"].split(":", 1)[1]).read().strip()
    conn = ConnectHandler(device_type=dev["device_type"], host=dev["host"], port=dev["port"],
                          username=dev["username"], password=password, secret=password)
    out = {"prompt": conn.find_prompt()}
    kind = dev["device_type"]
    if kind in ("cisco_ios", "linux"):
        conn.enable()
        out["enabled_prompt"] = conn.find_prompt()
    out["show"] = conn.send_command(SHOW[kind])
    if kind == "linux":
        out["nft"] = conn.send_command("nft list tables; echo nft-rc=$?")
        conn.exit_enable_mode()
        out["after_exit"] = conn.find_prompt()
    if kind in ("cisco_ios", "juniper_junos"):
        conn.config_mode()
        out["config_prompt"] = conn.find_prompt()
        conn.exit_config_mode()
    conn.disconnect()
    results[dev["name"]] = out
print(json.dumps(results))
'''

PROBE_SCRIPT = r'''
import json, socket, struct, sys
dst, tcp_port, udp_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
out = {}
try:
    s = socket.create_connection((dst, tcp_port), timeout=3)
    s.settimeout(3)
    out["tcp"] = s.recv(200).decode().strip()
    s.close()
except OSError as exc:
    out["tcp"] = None
try:
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.settimeout(3)
    u.sendto(b"probe", (dst, udp_port))
    out["udp"] = u.recvfrom(600)[0].decode(errors="replace")
except OSError:
    out["udp"] = None
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF
try:
    if fam == socket.AF_INET:
        r = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        pkt = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + b"egressctl"
        pkt = pkt[:2] + struct.pack("!H", csum(pkt + b"\0")) + pkt[4:]
        want = 0
    else:
        r = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        pkt = struct.pack("!BBHHH", 128, 0, 0, 0x4242, 1) + b"egressctl"
        want = 129
    r.settimeout(3)
    r.sendto(pkt, (dst, 0))
    out["icmp"] = False
    for _ in range(20):
        data, addr = r.recvfrom(200)
        body = data[20:] if fam == socket.AF_INET else data
        if addr[0] == dst and body[0] == want:
            out["icmp"] = True
            break
except OSError:
    out["icmp"] = False
print(json.dumps(out))
'''


def probe(prefix_for: Callable[[str], list[str]], node: str, dst: str, tcp_port: int = 443,
          udp_port: int = 443) -> dict[str, Any]:
    """TCP banner, UDP reply and ICMP echo from lab node ``node`` to ``dst``."""
    proc = subprocess.run([*prefix_for(node), sys.executable, "-c", PROBE_SCRIPT, dst, str(tcp_port),
                           str(udp_port)], capture_output=True, text=True, timeout=30, check=True)
    return dict(json.loads(proc.stdout))


def run_netmiko(status_json: str, *devices: str) -> dict[str, Any]:
    """Run the plain netmiko script against the lab described by ``status_json``."""
    proc = subprocess.run([sys.executable, "-c", NETMIKO_SCRIPT, *devices], input=status_json,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def port_free(port: int) -> bool:
    """Whether 127.0.0.1:``port`` can be bound (no listener left behind)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def namespaces_with(prefix: str) -> list[str]:
    """Host-visible namespaces whose name starts with ``prefix``."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix)]


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (e.g. a lab's state directory)."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmd and state != "Z":
            found.append(f"{d.name}: {cmd[:160]}")
    return found


def check_devices(results: dict[str, Any]) -> None:
    """What every device type must have answered in the netmiko script."""
    linux = results["core-b"]
    assert linux["prompt"] == "admin@core-b:~$"
    assert linux["enabled_prompt"].startswith("root@core-b:") and linux["enabled_prompt"].endswith("#")
    assert "10.99.0.3" in linux["show"] and "nft-rc=0" in linux["nft"]
    assert linux["after_exit"] == "admin@core-b:~$"
    assert results["ce-a"]["enabled_prompt"] == "ce-a#" and "hostname ce-a" in results["ce-a"]["show"]
    assert results["ce-a"]["config_prompt"] == "ce-a(config)#"
    assert "host-name" in results["ce-b"]["show"] or "security" in results["ce-b"]["show"]
    assert results["ce-b"]["config_prompt"].endswith("admin@ce-b#")
    assert "Version" in results["fw-b"]["show"]
    assert "operational-mode" in results["fw-a"]["show"]
