"""Never proven from silence: a capture or a watch with no site traffic it can account for is unverified.

``verify --pcap`` on an empty capture and on one with no site packets exits 3 with the reason in the
human output, the JSON (``liveness``) and the JUnit report; the watch report applies the same rule per
capture point; the joint verification document validates against its schema. Also: ``isolate`` and
``restore`` hand ``--no-held-sessions`` and ``--watch-after`` to the engine.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from egressctl.cli import jsonout, junit
from egressctl.verify.liveness import liveness
from egressctl.verify.proof import Proof
from egressctl.verify.watch.report import WatchReport
from tests.egressctl.cli.test_harness import Cli, make_cli
from tests.egressctl.cli.test_output_schemas import check
from tests.egressctl.verify.test_held import active_ok, watch


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return make_cli(tmp_path, monkeypatch, vantage=True)


def pcap(path: Path, packets: list[Any]) -> Path:
    wrpcap(str(path), packets, linktype=1)
    return path


def captures(tmp: Path) -> dict[str, Path]:
    ether = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    return {
        "empty": pcap(tmp / "empty.pcap", []),
        "foreign": pcap(tmp / "foreign.pcap", [ether / IP(src="198.51.100.7", dst="203.0.113.53")
                                               / UDP(sport=40000, dport=53)]),
        "replies only": pcap(tmp / "replies.pcap", [ether / IP(src="203.0.113.53", dst="10.10.0.5")
                                                    / UDP(sport=53, dport=40000)]),
        "allowed": pcap(tmp / "allowed.pcap", [ether / IP(src="10.10.0.5", dst="203.0.113.53")
                                               / UDP(sport=40000, dport=53)]),
    }


@pytest.mark.parametrize("name", ["empty", "foreign", "replies only"])
def test_pcap_without_site_traffic_is_unverified(cli: Cli, tmp_path: Path, name: str) -> None:
    path = captures(tmp_path)[name]
    report = tmp_path / "verify.xml"
    res = cli("verify", "hq", "--pcap", str(path), "--stage", "isolated", "--junit", str(report))
    assert res.exit_code == 3, res.output
    assert ": unverified - " in res.stdout and "no packet from the site" in res.stdout
    failed = {c.get("name"): c.find("failure") for c in ET.parse(report).getroot().iter("testcase")}
    live = failed[f"{path}: site traffic seen"]
    assert live is not None and live.get("type") == "unverified" and "no packet from the site" in (
        live.get("message") or "")
    assert failed[f"{path}: no leak"] is None
    doc = cli.json("verify", "hq", "--pcap", str(path), "--stage", "isolated")
    check(doc, jsonout.VERIFY_CAPTURE)
    assert doc["verdict"] == "unverified" and not doc["ok"]
    assert doc["liveness"]["status"] == "unverified" and doc["liveness"]["site_packets"] == 0


def test_pcap_with_allowed_site_traffic_is_verified(cli: Cli, tmp_path: Path) -> None:
    doc = cli.json("verify", "hq", "--pcap", str(captures(tmp_path)["allowed"]), "--stage", "isolated")
    assert doc["verdict"] == "clean" and doc["ok"]
    assert doc["liveness"] == {"status": "verified", "site_packets": 1, "allowed_packets": 1,
                               "reason": "1 packets from the site, 1 of them allowed by the policy"}


def test_liveness_rule() -> None:
    assert liveness(0, 0)["status"] == "unverified"
    assert "none the policy allows" in liveness(7, 0)["reason"]
    assert liveness(7, 1)["status"] == "verified"


def test_watch_point_on_an_idle_or_wrong_link_is_unverified() -> None:
    rep = watch(0, 0)
    assert rep.verdict == "unverified" and not rep.ok
    assert "unverified: no packet from the site" in rep.summary
    doc = rep.to_dict()
    assert doc["captures"]["primary (isp-a:ce0)"]["liveness"]["status"] == "unverified"
    check({"schema": jsonout.VERIFY_WATCH, **doc, "beacons": {"source": "watch", "target": "isolated",
                                                                "hosts": 0, "beacons": []}})
    cases = {(c.name, c.failure[0] if c.failure else None) for c in junit.watch_suite(doc).cases}
    assert ("site traffic seen", "unverified") in cases and ("no leak", None) in cases
    assert watch(3, 0).verdict == "unverified" and watch(3, 3).verdict == "clean"
    leak = WatchReport("lab", "isolated", 1, watch(0, 0).captures, [{
        "family": 4, "proto": 6, "src": "10.10.1.11", "dst": "192.0.2.80", "sport": 1, "dport": 80,
        "exit": "primary"}])
    assert leak.verdict == "leak"  # a leak is a finding, not silence


def test_joint_verification_document_matches_its_schema_and_junit() -> None:
    from egressctl.verify.held.verdict import judge
    from tests.egressctl.verify.test_held import HELD, flow, seen

    f = flow(0, "tcp", 80, "dead", "canary:web")
    reports = {"ws1": {"flows": [{"id": "ws1:0", **seen(-2, 1.3)}]}}
    held = judge({"ws1": [f]}, {"ws1": {"ws1:0": HELD}}, reports, {}, 0.5, 0.0)
    doc = Proof(active_ok(), held, watch(0, 0)).to_dict()
    check({"schema": jsonout.VERIFY_ACTIVE, **doc}, jsonout.VERIFY_ACTIVE)
    assert doc["verdict"] == "leak+unverified" and not doc["ok"]
    suite = junit.active_suite(doc)
    failures = {c.name: c.failure for c in suite.cases if c.failure}
    held_case = next(n for n in failures if n.startswith("tcp 127.0.0.1:40000 -> 127.0.0.1:80 via primary"))
    assert failures[held_case][0] == "leak" and failures["site traffic seen"][0] == "unverified"


def test_isolate_and_restore_pass_the_proof_options(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from egressctl.engine import Engine

    seen: list[dict[str, Any]] = []

    def apply(self: Engine, site: str, target: str, **kw: Any) -> Any:
        seen.append({"target": target, **kw})
        raise SystemExit(0)

    monkeypatch.setattr(Engine, "apply", apply)
    cli("isolate", "hq", "--yes", "--no-held-sessions", "--watch-after", "0")
    cli("isolate", "hq", "--yes")
    cli("restore", "hq", "--full", "--yes", "--no-held-sessions")
    assert [(s["held_sessions"], s.get("watch_after")) for s in seen] == [(False, 0.0), (True, 3.0),
                                                                          (False, 0.0)]
