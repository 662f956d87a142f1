"""Build and tear down the lab's namespaces, links, addresses, routes and ISP NAT with iproute2 and nft.

Work is batched to keep ``lab up`` fast: one ``ip -batch`` creates every namespace, one creates every
veth (each end created directly inside its namespace, so no lab interface ever exists in the host's
namespace, even for a moment), and per-namespace batches then run in parallel. The same code runs as real
root (named namespaces visible in ``ip netns``) and as root inside the keeper's user namespace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from egressctl_lab.errors import LabError
from egressctl_lab.topology import Node, Topology

_COMMON_SYSCTLS = {
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
    "net.ipv6.conf.all.accept_dad": "0",
    "net.ipv6.conf.default.accept_dad": "0",
    "net.ipv6.conf.all.accept_ra": "0",
    "net.ipv6.conf.default.accept_ra": "0",
}
_FORWARD_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.ipv6.conf.all.forwarding": "1",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.default.send_redirects": "0",
}
_BRIDGE_SYSCTLS = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}


def run(argv: list[str], *, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one command; a failure becomes a LabError carrying the command's own error text."""
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60, check=False)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(argv[:6])} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def netns_exec(ns: str) -> list[str]:
    """Argv prefix running a command in namespace ``ns`` (as seen by the process running it)."""
    return ["ip", "netns", "exec", ns]


def existing_namespaces() -> set[str]:
    """Names listed by ``ip netns`` in the current mount namespace."""
    out = run(["ip", "netns", "list"], check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def _parallel(jobs: Iterable[Callable[[], object]]) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        for fut in [pool.submit(job) for job in jobs]:
            fut.result()


def _sysctls(node: Node) -> dict[str, str]:
    values = dict(_COMMON_SYSCTLS)
    if node.forward:
        values.update(_FORWARD_SYSCTLS)
    if node.role == "bridge":
        values.update(_BRIDGE_SYSCTLS)
    return values


def _link_batch(topo: Topology, prefix: str) -> list[str]:
    lines: list[str] = []
    seen: set[frozenset[str]] = set()
    for node in topo.nodes:
        for iface in node.interfaces:
            ns = prefix + node.name
            if iface.bridge is not None:
                port = topo.bridge_port(node.name, iface.name)
                lines.append(
                    f"link add name {iface.name} netns {ns} type veth peer name {port} "
                    f"netns {prefix}{iface.bridge}"
                )
            elif iface.peer is not None:
                key = frozenset({f"{node.name}:{iface.name}", iface.peer})
                if key in seen:
                    continue
                seen.add(key)
                pnode, pif = iface.peer_ref()
                lines.append(
                    f"link add name {iface.name} netns {ns} type veth peer name {pif} netns {prefix}{pnode}"
                )
    return lines


def _address_batch(topo: Topology, node: Node) -> list[str]:
    lines = ["link set lo up"]
    if node.role == "bridge":
        lines.append("link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0")
        lines.append("link set br0 up")
        for member in topo.nodes:
            for iface in member.interfaces:
                if iface.bridge == node.name:
                    port = topo.bridge_port(member.name, iface.name)
                    lines += [f"link set {port} master br0", f"link set {port} up"]
        return lines
    for iface in node.interfaces:
        if iface.kind == "dummy":
            lines.append(f"link add {iface.name} type dummy")
        for addr in iface.addresses:
            lines.append(f"addr add {addr} dev {iface.name}" + (" nodad" if addr.version == 6 else ""))
        if iface.name != "lo":
            lines.append(f"link set {iface.name} up")
    return lines


#: First routing table of source routes (one table per distinct source of a node, in order).
SOURCE_TABLE_BASE = 100


def _source_tables(node: Node) -> dict[str, int]:
    """Routing table of each distinct route source of ``node``, in order from ``SOURCE_TABLE_BASE``."""
    sources = dict.fromkeys(str(r.source) for r in node.routes if r.source is not None)
    return {src: SOURCE_TABLE_BASE + i for i, src in enumerate(sources)}


def _rules(node: Node, family: int) -> list[str]:
    """The two rules of each source route's source of that family (IPv4 or IPv6).

    The main table first, its defaults suppressed (the site's own prefixes keep their routes), then the
    source's table.
    """
    lines = []
    for src, table in _source_tables(node).items():
        if (":" in src) == (family == 6):
            lines += [f"rule add from {src} lookup main suppress_prefixlength 0 pref {table * 10}",
                      f"rule add from {src} lookup {table} pref {table * 10 + 1}"]
    return lines


def _route_batch(node: Node) -> list[str]:
    """Routes and the IPv4 rules; a source route goes to its source's table (see ``Route.source``).

    The IPv6 rules are a batch of their own (``_rules(node, 6)``): ``ip -batch`` takes no ``-6`` per line.
    """
    tables = _source_tables(node)
    lines = _rules(node, 4)
    for r in node.routes:
        dest = r.to if r.to != "default" else ("0.0.0.0/0" if r.family == 4 else "::/0")
        table = f" table {tables[str(r.source)]}" if r.source is not None else ""
        lines.append(f"route add {dest} via {r.via}{table}")
    return lines


def _nat_ruleset(node: Node) -> str:
    assert node.nat is not None
    names = ", ".join(f'"{i}"' for i in node.nat.masquerade)
    rules = [f"    {'ip' if net.version == 4 else 'ip6'} saddr {net} oifname {{ {names} }} masquerade\n"
             for net in node.nat.sources] or [f"    oifname {{ {names} }} masquerade\n"]
    # The empty prerouting chain matters: it registers NAT at prerouting, where replies are un-masqueraded
    # *before* routing; without it IPv6 replies are routed by their masqueraded address, back out inet0.
    return (
        "table inet lab_nat {\n"
        "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n  }\n"
        "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
        + "".join(rules) + "  }\n}\n"
    )


def build(topo: Topology, prefix: str) -> list[str]:
    """Create every namespace and wire it; returns the namespace names (for teardown even on failure).

    Raises:
        LabError: a namespace already exists or an iproute2/nft command failed.
    """
    names = [prefix + n.name for n in topo.nodes]
    clash = sorted(set(names) & existing_namespaces())
    if clash:
        raise LabError(f"namespaces already exist: {', '.join(clash)} (run `egressctl lab down` first)")
    run(["ip", "-batch", "-"], stdin="".join(f"netns add {n}\n" for n in names))

    def sysctl(node: Node) -> Callable[[], object]:
        pairs = [f"{k}={v}" for k, v in _sysctls(node).items()]
        return lambda: run([*netns_exec(prefix + node.name), "sysctl", "-q", "-w", *pairs])

    _parallel(sysctl(n) for n in topo.nodes)
    run(["ip", "-batch", "-"], stdin="\n".join(_link_batch(topo, prefix)) + "\n")

    def batch(node: Node, lines: list[str]) -> Callable[[], object]:
        return lambda: run(["ip", "-n", prefix + node.name, "-batch", "-"], stdin="\n".join(lines) + "\n")

    _parallel(batch(n, _address_batch(topo, n)) for n in topo.nodes)
    _parallel(batch(n, _route_batch(n)) for n in topo.nodes if n.routes)
    for node in topo.nodes:
        rules6 = _rules(node, 6)
        if rules6:
            run(["ip", "-6", "-n", prefix + node.name, "-batch", "-"], stdin="\n".join(rules6) + "\n")
    for node in topo.nodes:
        if node.nat is not None:
            run([*netns_exec(prefix + node.name), "nft", "-f", "-"], stdin=_nat_ruleset(node))
    return names


def teardown(names: Iterable[str]) -> list[str]:
    """Kill every process left inside the named namespaces and delete them; returns what was deleted."""
    present = existing_namespaces()
    gone: list[str] = []
    for ns in names:
        if ns not in present:
            continue
        pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        run(["ip", "netns", "del", ns], check=False)
        gone.append(ns)
    return gone
