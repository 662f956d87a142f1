"""Active probes and the live leak watch with real packets in real namespaces.

Two settings:
* VERIFY-B's own small testbed (``vb-`` namespaces: an inside host, a router whose nftables filter the
  test sets, an outside network answering on 1,024 addresses): the probe engine through the real
  ``egressctl probe`` command, identical verdicts with scapy's ``sr()``, and ``verify_active`` + the watch
  on a site described over that testbed (cut confirmed; a leak named with its exit, path and flows).
* The lab site driven by the engine (``vb-`` lab instance, port base 23600): isolated with one exit left
  open (``TestFaults(skip_exit="backup")``) -> the matrix names exit backup and its paths and the watch
  reports the leak flows on backup's provider link; then fully isolated -> cut confirmed.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from egressctl_lab.testing.probe_testbed import Testbed

from egressctl.inventory.models import Site
from egressctl.verify.probe.active import probe_command, verify_active
from egressctl.verify.probe.records import Probe, plan_to_json
from egressctl.verify.watch.report import WatchReport
from egressctl.verify.watch.session import watch_site
from tests.conftest import lab_available
from tests.support.labkit import running_lab

pytestmark = [pytest.mark.lab]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHoR2vS8mK8Q0DAZU864neT/yRls23XrEDy7IrLAeu2"

ISOLATE = """chain filter_fwd { type filter hook forward priority 0; policy drop;
  iifname "out0" accept
  ip daddr 198.18.1.0/24 tcp dport 443 accept
  ip daddr 198.18.2.53 udp dport 53 accept
  ip6 daddr 2001:db8:77::53 udp dport 53 accept
  ip daddr 198.18.0.80 tcp dport 80 reject with tcp reset
  ip daddr 198.18.0.81 reject with icmp type admin-prohibited
}"""
LEAKY = ISOLATE.replace("policy drop;", "policy drop;\n  ip daddr 198.18.0.80 tcp dport 443 accept")


@pytest.fixture(scope="module")
def testbed() -> Iterator[Testbed]:
    if not lab_available():
        pytest.skip("network namespaces are not available")
    with Testbed("vb-it-") as tb:
        yield tb


def site_over(tb: Testbed) -> Site:
    return Site.model_validate(
        {
            "name": "tb",
            "inside": ["10.77.1.0/24", "fd77:1::/64"],
            "management": [{"name": "ops", "sources": ["10.77.1.50/32"]}],
            "always_allowed": [
                {"name": "svc", "destinations": ["198.18.1.0/24"], "protocol": "tcp", "ports": [443]},
                {
                    "name": "dns",
                    "destinations": ["198.18.2.53/32", "2001:db8:77::53/128"],
                    "protocol": "udp",
                    "ports": [53],
                },
            ],
            "devices": [
                {
                    "name": "rt",
                    "platform": "linux_nftables",
                    "host": "127.0.0.1",
                    "username": "admin",
                    "credential": "env:VB_UNUSED",
                    "host_key": KEY,
                    "inside": ["in0"],
                    "outside": ["out0"],
                    "exit": "main",
                    "mgmt_address": "10.77.1.1",
                }
            ],
            "vantage_points": [
                {
                    "name": "inside",
                    "exit": "main",
                    "netns": tb.ns["in"],
                    "addresses": ["10.77.1.2", "fd77:1::2"],
                }
            ],
            "canaries": [
                {"name": "web", "address": "198.18.0.80", "tcp": [80, 443], "udp": [443]},
                {"name": "blk", "address": "198.18.0.81", "tcp": [25], "udp": []},
                {"name": "web6", "address": "2001:db8:77::80", "tcp": [443], "udp": [53]},
            ],
            "captures": [{"exit": "main", "netns": tb.ns["out"], "interface": "eth0"}],
        }
    )


def run_cli_probe(tb: Testbed, probes: list[Probe], module: str | None = None) -> dict[str, Any]:
    argv = probe_command() if module is None else [sys.executable, "-m", module, "-"]
    res = subprocess.run(
        [*tb.exec_prefix("in"), *argv],
        input=plan_to_json(probes, 1.0),
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc


def test_probe_command_classifies_and_agrees_with_scapy(testbed: Testbed) -> None:
    testbed.nft(ISOLATE)
    probes = []
    for i in range(600):
        host = ipaddress.ip_address("198.18.0.0") + 256 * (i % 3) + 10 + i // 3
        proto, port = [("tcp", 443), ("udp", 53), ("icmp", 0)][(i // 3) % 3]
        probes.append(Probe(f"p{i}", 4, proto, str(host), port))  # type: ignore[arg-type]
    probes += [
        Probe("rst", 4, "tcp", "198.18.0.80", 80),
        Probe("adm", 4, "tcp", "198.18.0.81", 25),
        Probe("v6ok", 6, "udp", "2001:db8:77::53", 53),
        Probe("v6no", 6, "tcp", "2001:db8:77::80", 443),
    ]
    doc = run_cli_probe(testbed, probes)
    assert doc["elapsed_s"] < 1.0 + 1.0
    res = {r["id"]: r for r in doc["results"]}
    # 198.18.0.x: only tcp/443 on 198.18.1.0/24 and udp/53 on 198.18.2.53 are allowed by ISOLATE
    for i, p in enumerate(probes[:600]):
        allowed = (p.proto == "tcp" and p.dst.startswith("198.18.1.")) or (
            p.dst == "198.18.2.53" and p.proto == "udp"
        )
        assert (res[f"p{i}"]["outcome"] == "answered") == allowed, (p, res[f"p{i}"])
    assert res["rst"]["outcome"] == "refused" and "forged" in res["rst"]["detail"]
    assert res["rst"]["responder"] == "10.77.1.1"  # the gateway, named from the route
    assert res["adm"]["outcome"] in ("refused", "silent")  # ICMP refusals are rate limited: never relied on
    assert res["v6ok"]["outcome"] == "answered" and res["v6no"]["outcome"] == "silent"
    ref = run_cli_probe(testbed, probes, "egressctl_lab.testing.scapy_baseline")
    ours = {r["id"]: r["outcome"] == "answered" for r in doc["results"]}
    theirs = {r["id"]: r["outcome"] == "answered" for r in ref["results"]}
    assert ours == theirs


def test_verify_active_and_watch_on_testbed(testbed: Testbed) -> None:
    site = site_over(testbed)
    prefix = testbed.exec_prefix_for_netns
    testbed.nft(ISOLATE)
    rep = verify_active(site, "isolated", exec_prefix=prefix)
    assert rep.verdict == "cut-confirmed", rep.summary
    assert {o.cell.expected for o in rep.observations} == {"blocked", "reachable"}
    testbed.nft(LEAKY)
    holder: dict[str, WatchReport] = {}
    watcher = threading.Thread(
        target=lambda: holder.setdefault("w", watch_site(site, "isolated", 3.0, exec_prefix=prefix))
    )
    watcher.start()
    time.sleep(1.5)  # the agent has started its ring
    rep = verify_active(site, "isolated", exec_prefix=prefix)
    watcher.join(30)
    assert rep.verdict == "leak" and rep.leaking_exits == ["main"]
    assert [o.cell.path for o in rep.leaks] == ["10.77.1.2 -> 198.18.0.80 tcp/443"]
    assert "LEAK through exit(s) main" in rep.summary
    w = holder["w"]
    assert w.verdict == "leak" and w.drops == 0
    leak_flows = {(f["src"], f["dst"], f["proto"], f["dport"], f["exit"]) for f in w.flows}
    assert ("10.77.1.2", "198.18.0.80", 6, 443, "main") in leak_flows


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("egressctl.engine")
    with running_lab(tmp_path_factory, "vb-", 23600, export_state=False) as instance:
        yield instance


@pytest.mark.slow
def test_lab_leaking_exit_then_cut_confirmed(lab: Any) -> None:
    from egressctl_lab import node_exec_prefix

    from egressctl.engine import Engine
    from egressctl.planner import TestFaults

    eng = Engine(lab.inventory_path, state_dir=lab.state)
    site = eng.site("lab")

    def prefix(node: str) -> list[str]:
        return list(node_exec_prefix(node, state_dir=lab.state))

    res = eng.isolate("lab", yes=True, verify=True, faults=TestFaults(skip_exit="backup"))
    verification = res.to_dict().get("verification") or {}
    details = verification.get("details", verification)
    assert details.get("leaking_exits") == ["backup"], verification
    holder: dict[str, WatchReport] = {}
    watcher = threading.Thread(
        target=lambda: holder.setdefault("w", watch_site(site, "isolated", 4.0, exec_prefix=prefix))
    )
    watcher.start()
    time.sleep(1.5)
    rep = verify_active(site, "isolated", exec_prefix=prefix)
    watcher.join(60)
    assert "leak" in rep.verdict and rep.leaking_exits == ["backup"]
    assert rep.leaks and all(o.cell.exit == "backup" and o.cell.vantage == "srv1" for o in rep.leaks)
    w = holder["w"]
    assert {f["exit"] for f in w.flows} == {"backup"} and w.drops == 0
    assert any(f["src"] == "10.10.1.20" and f["dst"] == "192.0.2.80" and f["dport"] == 80 for f in w.flows)
    res = eng.isolate("lab", yes=True, verify=False)
    final = eng.verify("lab")
    assert final.verdict == "cut-confirmed", final.summary
