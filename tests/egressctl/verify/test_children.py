"""The verification children are light and judge exactly as before (issue 13).

A probe run (``python -m egressctl.verify.probe -``) and a watch agent (``python -m
egressctl.verify.watch.agent``) import neither typer, pydantic, scapy nor the inventory and policy code;
the probe templates are the bytes scapy builds; the compiled policy the controller sends as plain data
gives every packet the verdict the policy compiled in place gives. Real child processes, no namespace
(a watch agent on an interface that does not exist fails as an error event, after its job was accepted).
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
HEAVY = ("typer", "pydantic", "scapy", "yaml", "egressctl.inventory", "egressctl.policy", "egressctl.cli",
         "egressctl.registry")
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
