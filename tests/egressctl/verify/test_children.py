"""The verification children are light and judge exactly as before (issue 13).

A probe run (``python -m egressctl.verify.probe -``) and a watch agent (``python -m
egressctl.verify.watch.agent``) import neither typer, pydantic, scapy nor the inventory and policy code,
nor numpy (a watch agent imports it only for a big batch); the probe templates are the bytes scapy
builds; the compiled policy the controller sends as plain data gives every packet the verdict the policy
compiled in place gives; the agent's scalar path for small batches and its numpy path agree on counters,
flows and their order. Real child processes, no namespace (a watch agent on an interface that does not
exist fails as an error event, after its job was accepted).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6

from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from egressctl.policy import compute_policy, targets
from egressctl.verify.matcher import CompiledPolicy
from egressctl.verify.plain import compiled_policy, policy_doc
from egressctl.verify.probe import wire
from egressctl.verify.probe.active import probe_command
from egressctl.verify.watch.session import agent_job, watch_site

INV = Path(__file__).resolve().parents[3] / "inventory" / "lab.yaml"
#: What a verification child must never import (``egressctl.inventory``: its models are pydantic).
HEAVY = ("typer", "pydantic", "scapy", "yaml", "numpy", "egressctl.inventory", "egressctl.policy",
         "egressctl.cli", "egressctl.registry")
#: Runs a module as ``python -m`` would, then prints the modules it had loaded on stderr's last line.
WRAP = ("import atexit, json, runpy, sys\n"
        "atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))\n"
        "sys.argv = [sys.argv[1], *sys.argv[2:]]\n"
        "runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n")


@pytest.fixture(scope="module")
def site() -> Site:
    return load_inventory(INV).site("lab")


def run_child(module: str, args: list[str], stdin: str) -> tuple[int, str, set[str], str]:
    """(exit code, stdout, modules loaded, stderr without the module list) of one child process."""
    res = subprocess.run([sys.executable, "-c", WRAP, module, *args], input=stdin, capture_output=True,
                         text=True, timeout=60, check=False, cwd="/")
    *err, last = res.stderr.rstrip("\n").split("\n")
    return res.returncode, res.stdout, set(json.loads(last)), "\n".join(err)


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def scapy_template(family: int, proto: str, dns: bool) -> bytes:
    """The template as the probe engine used to build it, with scapy."""
    l3 = IP(src="0.0.0.0", dst="0.0.0.0", ttl=64, id=0, flags="DF") if family == 4 else IPv6(
        src="::", dst="::", hlim=64)
    if proto == "tcp":
        pkt = l3 / TCP(sport=1, dport=1, seq=0, flags="S", window=64240, options=[("MSS", 1460)])
    elif proto == "udp":
        pkt = l3 / UDP(sport=1, dport=1) / (wire.DNS_QUERY if dns else wire.PAYLOAD)
    elif family == 4:
        pkt = l3 / ICMP(type=8, id=0, seq=0) / wire.PAYLOAD
    else:
        pkt = l3 / ICMPv6EchoRequest(id=0, seq=0, data=wire.PAYLOAD)
    return bytes(pkt)


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize(("proto", "dns"), [("tcp", False), ("udp", False), ("udp", True), ("icmp", False)])
def test_templates_are_the_bytes_scapy_builds(family: int, proto: Any, dns: bool) -> None:
    tpl = wire.template(family, proto, dns)
    assert tpl.data == scapy_template(family, proto, dns)
    assert tpl.l3len == (20 if family == 4 else 40)
    src, dst = (bytes([10, 0, 0, 1]), bytes([198, 51, 100, 7])) if family == 4 else (
        bytes.fromhex("20010db8" + "00" * 11 + "01"), bytes.fromhex("20010db8" + "00" * 11 + "02"))
    built = wire.build(tpl, src, dst, 40000, 443, 12345)
    fresh = IP(built) if family == 4 else IPv6(built)
    layer = fresh
    while layer:  # clear every checksum and length: scapy computes them again as it builds
        for name in ("chksum", "cksum", "len", "plen"):
            if name in layer.fields:
                delattr(layer, name)
        layer = layer.payload if layer.payload.fields else None
    assert bytes(fresh) == built  # every checksum and length is what scapy computes


def test_probe_child_runs_the_engine_without_the_command_line() -> None:
    argv = probe_command()
    assert argv == [sys.executable, "-m", "egressctl.verify.probe", "-"]
    plan = json.dumps({"version": 1, "timeout": 1.0, "retries": 1, "probes": []})
    code, out, modules, _ = run_child("egressctl.verify.probe", ["-"], plan)
    assert code == 0
    assert json.loads(out)["results"] == []
    assert heavy(modules) == []


def test_probe_child_refuses_a_bad_plan_with_one_line() -> None:
    code, out, _, err = run_child("egressctl.verify.probe", ["-"], '{"probes": [{"id": 1}]}')
    assert code != 0 and out == ""
    assert err.startswith("egressctl probe: malformed probe plan") and "\n" not in err


def test_held_child_is_standard_library_only() -> None:
    code, out, modules, _ = run_child("egressctl.verify.probe", ["--hold"], "not json\n")
    assert code == 2 and json.loads(out)["event"] == "error"
    assert heavy(modules) == [] and "numpy" not in modules


def test_plain_policy_gives_the_same_verdicts(site: Site) -> None:
    rng = random.Random(13)
    for target in targets(site):
        cp = CompiledPolicy.compile(compute_policy(site, target), site)
        back = compiled_policy(json.loads(json.dumps(policy_doc(cp))))
        assert (back.v4, back.v6, back.rule_names, back.is_normal) == (cp.v4, cp.v6, cp.rule_names,
                                                                       cp.is_normal)
        inside = [n for n in site.inside]
        for _ in range(400):
            net = rng.choice(inside)
            fam = net.version
            src = int(net.network_address) + rng.randrange(net.num_addresses)
            dst = rng.getrandbits(32 if fam == 4 else 128)
            proto = rng.choice([6, 17, 1 if fam == 4 else 58])
            sp, dp = rng.randrange(65536), rng.choice([22, 53, 80, 443, 123, rng.randrange(65536)])
            assert back.code(fam, proto, src, dst, sp, dp) == cp.code(fam, proto, src, dst, sp, dp)


@pytest.mark.parametrize("damage", ["normal", "atom", "class", "family", "missing"])
def test_malformed_policy_documents_are_refused(site: Site, damage: str) -> None:
    doc = policy_doc(CompiledPolicy.compile(compute_policy(site, "isolated"), site))
    if damage == "normal":
        doc["normal"] = "no"
    elif damage == "atom":
        doc["v4"]["atoms"][0] = [1, 2, 3]
    elif damage == "class":
        doc["v4"]["interval_class"][0] = 10_000
    elif damage == "family":
        doc["v6"]["family"] = 4
    else:
        del doc["v4"]["bounds"]
    with pytest.raises((TypeError, ValueError, KeyError)):
        compiled_policy(doc)


def test_watch_agent_takes_tables_and_imports_no_models(site: Site) -> None:
    job = {**agent_job(site, "isolated", 0.1), "iface": "egx-missing0", "exit": "primary"}
    assert "site" not in job and job["inside"] == [str(n) for n in site.inside]
    code, out, modules, _ = run_child("egressctl.verify.watch.agent", [], json.dumps(job))
    event = json.loads(out.splitlines()[-1])
    assert code == 1 and event["event"] == "error", event
    assert not event["error"].startswith(("KeyError", "TypeError", "ValueError")), event  # past the job
    assert heavy(modules) == []
    bad = {**job, "policy": {**job["policy"], "normal": "maybe"}}
    code, out, _, _ = run_child("egressctl.verify.watch.agent", [], json.dumps(bad))
    assert code == 1 and json.loads(out)["error"].startswith("TypeError")  # never a clean end


def test_watch_of_an_unknown_target_fails_per_capture_point(site: Site) -> None:
    seen: list[dict[str, Any]] = []
    report = watch_site(site, "no-such-target", 0.1, on_event=seen.append)
    assert report.verdict == "incomplete" and not report.ok and not report.captures
    assert len(report.errors) == len(site.captures) == len(seen)
    assert all(e.startswith("PolicyError: ") for e in report.errors.values())
    assert {ev["event"] for ev in seen} == {"error"}


def random_records(site: Site, cp_rules: list[Any], n: int, rng: random.Random) -> Any:
    """``n`` records mixing inside/outside, allowed/denied destinations, every status, vlans."""
    import numpy as np

    from egressctl.verify.watch.records import RECORD, S_FRAGMENT, S_MALFORMED, S_NON_IP, S_OK, S_TRUNCATED

    nets = {4: [n for n in site.inside if n.version == 4], 6: [n for n in site.inside if n.version == 6]}
    dsts = {4: [], 6: []}  # type: dict[int, list[Any]]
    for rule in cp_rules:
        for d in rule.destinations:
            dsts[d.version].append(d)
    ports = sorted({p.first for r in cp_rules for p in r.dst_ports} | {25, 80, 443})
    rec = np.zeros(n, dtype=RECORD)
    for i in range(n):
        fam = rng.choice([f for f in (4, 6) if nets[f]])
        inside = rng.choice(nets[fam])
        src = int(inside.network_address) + rng.randrange(min(inside.num_addresses, 1 << 16))
        if rng.random() < 0.1:  # inbound or inside-to-inside: not subject
            src = rng.getrandbits(32 if fam == 4 else 128)
        dst_net = rng.choice(dsts[fam]) if dsts[fam] and rng.random() < 0.5 else None
        dst = (int(dst_net.network_address) + rng.randrange(min(dst_net.num_addresses, 256))) if dst_net \
            else rng.getrandbits(32 if fam == 4 else 128)
        status = rng.choices([S_OK, S_FRAGMENT, S_NON_IP, S_TRUNCATED, S_MALFORMED], [20, 2, 1, 1, 1])[0]
        vflag = int(rng.random() < 0.2)
        proto = rng.choice([6, 17, 1 if fam == 4 else 58])
        quote = int(proto in (1, 58) and rng.random() < 0.7)  # an ICMP error: its quote, as a walker reads it
        q_dst = (int(inside.network_address) + rng.randrange(min(inside.num_addresses, 1 << 16))) * quote
        rec[i] = (1_000 + rng.randrange(10_000), src >> 64, src & (2**64 - 1), dst >> 64, dst & (2**64 - 1),
                  rng.randrange(60, 1500), rng.choice([1234, 40000, 53]), rng.choice(ports), vflag * 42, fam,
                  proto, status, vflag, quote, rng.choice([6, 17]) if quote else 0, q_dst >> 64,
                  q_dst & (2**64 - 1), rng.choice(ports) if quote else 0, 40000 if quote else 0, 0)
    return rec


@pytest.mark.parametrize("target", ["isolated", "normal"])
def test_scalar_and_numpy_watchers_agree(site: Site, target: str) -> None:
    from egressctl.verify.watch.agent import SCALAR_BATCH, Watcher
    from egressctl.verify.watch.layout import PACKED

    policy = compute_policy(site, target)
    cp = compiled_policy(policy_doc(CompiledPolicy.compile(policy, site)))
    rng = random.Random(1313)
    vec, rows, packed = Watcher(cp), Watcher(cp), Watcher(cp)
    total_leaks = 0
    for size in (300, 1, 0, 500, 77, SCALAR_BATCH):
        rec = random_records(site, list(policy.rules), size, rng)
        new_vec = vec.feed(rec)
        assert rows.feed_rows(PACKED.iter_unpack(rec.tobytes())) == new_vec
        assert packed.feed_packed(memoryview(rec.tobytes())) == new_vec
        total_leaks += len(new_vec)
    for other in (rows, packed):
        assert other.counters == vec.counters
        assert list(other.flows.items()) == list(vec.flows.items())  # same flows, times and order
    assert (vec.counters["leaks"] > 0) == (target != "normal") and vec.counters["permitted"] > 0
    assert (vec.counters["related"] > 0) == (target != "normal")  # ICMP errors of allowed flows
    assert total_leaks == len(vec.flows)


def test_walker_block_gives_the_packed_records_of_walk() -> None:
    import numpy as np
    from egressctl_lab.testing.ring_blocks import tpacket_block
    from scapy.layers.l2 import Ether

    from egressctl.verify.watch.layout import PACKED
    from egressctl.verify.watch.walker import Walker, library

    if library() is None:
        pytest.skip("no C compiler")
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    frames = [(bytes(eth / IP(src="10.10.1.11", dst=f"192.0.2.{i}") / TCP(dport=80 + i)), None)
              for i in range(20)]
    raw = bytearray(tpacket_block(frames))
    walker = Walker()
    got = walker.block(raw, np.frombuffer(raw, dtype=np.uint8).ctypes.data, 0, len(raw))
    assert isinstance(got, memoryview) and len(got) == 20 * PACKED.size
    ref = walker.walk(np.frombuffer(bytes(raw), dtype=np.uint8), 0, len(raw))
    assert ref is not None and bytes(got) == ref.tobytes()


def test_one_route_lookup_per_destination(monkeypatch: pytest.MonkeyPatch) -> None:
    """RSTs forged next to the vantage point name the gateway: looked up once per destination, not per RST."""
    from egressctl.verify.probe import classify as cl
    from egressctl.verify.probe.records import Probe

    calls: list[str] = []
    real = cl.first_hop

    def counted(dst: str) -> str | None:
        calls.append(dst)
        return real(dst)

    monkeypatch.setattr(cl, "first_hop", counted)
    probes = [Probe(f"p{i}", 4, "tcp", f"192.0.2.{i % 2 + 1}", 1000 + i) for i in range(30)]
    raw = [cl.RawOutcome("rst", wire.packed(p.dst), 64, None, None, 1.0) for p in probes]
    results = cl.classify(probes, raw, [0.5] * len(probes))
    assert sorted(calls) == ["192.0.2.1", "192.0.2.2"]
    assert {r.outcome for r in results} == {"refused"} and len({r.responder for r in results[::2]}) == 1
