"""Probe matrix and verdicts of the active verification (no network: results are fabricated)."""

from __future__ import annotations

from pathlib import Path

import pytest

from egressctl.errors import PolicyError
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from egressctl.verify.probe.active import ActiveReport, Observation, probe_command
from egressctl.verify.probe.matrix import build_matrix, pick_host
from egressctl.verify.probe.records import ProbeResult
from egressctl.verify.probe.ssh import remote_command

INV = Path(__file__).resolve().parents[3] / "inventory" / "lab.yaml"


@pytest.fixture(scope="module")
def site() -> Site:
    return load_inventory(INV).site("lab")


def test_matrix_expectations_follow_the_policy(site: Site) -> None:
    iso = build_matrix(site, "isolated")
    assert set(iso) == {"ws1", "srv1"}
    cells = iso["ws1"]
    canaries = [c for c in cells if c.purpose.startswith("canary:")]
    assert canaries and all(c.expected == "blocked" for c in canaries)
    allowed = [c for c in cells if c.purpose.startswith("allowed:")]
    assert {(c.dst, c.proto, c.port) for c in allowed} >= {
        ("203.0.113.10", "udp", 500),
        ("203.0.113.53", "tcp", 53),
    }
    assert all(c.expected == "reachable" and c.rule for c in allowed)
    assert {c.exit for c in iso["srv1"]} == {"backup"}
    ministry = {(c.dst, c.proto, c.port): c for c in build_matrix(site, "ministry")["ws1"]}
    assert ministry[("203.0.113.25", "tcp", 587)].expected == "reachable"
    assert ministry[("192.0.2.80", "tcp", 80)].expected == "blocked"
    normal = build_matrix(site, "normal")["ws1"]
    assert all(c.expected == "reachable" for c in normal)
    with pytest.raises(PolicyError):
        build_matrix(site, "nope")


def test_pick_host_prefers_a_canary(site: Site) -> None:
    import ipaddress

    assert pick_host(ipaddress.ip_network("192.0.2.0/24"), site) == "192.0.2.80"
    assert pick_host(ipaddress.ip_network("203.0.113.10/32"), site) == "203.0.113.10"
    assert pick_host(ipaddress.ip_network("198.18.20.0/24"), site) == "198.18.20.10"
    assert pick_host(ipaddress.ip_network("198.19.0.0/16"), site) == "198.19.0.1"


def _report(site: Site, target: str, outcome: dict[str, str]) -> ActiveReport:
    cells = build_matrix(site, target)
    obs = []
    for vp, cs in cells.items():
        for i, c in enumerate(cs):
            observed = outcome.get(c.exit, "ok")
            if observed == "ok":
                res = "answered" if c.expected == "reachable" else "silent"
            elif observed == "open":
                res = "answered"
            else:
                res = "silent"
            obs.append(Observation(c, ProbeResult(f"{vp}:{i}", res, "x")))  # type: ignore[arg-type]
    return ActiveReport(site.name, target, obs)


def test_verdicts(site: Site) -> None:
    assert _report(site, "isolated", {}).verdict == "cut-confirmed"
    assert _report(site, "normal", {}).verdict == "normal-ok"
    leak = _report(site, "isolated", {"backup": "open"})
    assert leak.verdict == "leak" and not leak.ok and leak.leaking_exits == ["backup"]
    assert all(o.cell.vantage == "srv1" for o in leak.leaks)
    assert "LEAK through exit(s) backup" in leak.summary and "10.10.1.20 -> 192.0.2.80 tcp/80" in leak.summary
    assert _report(site, "isolated", {"primary": "dead"}).verdict == "blocked-allowed"
    both = _report(site, "isolated", {"primary": "dead", "backup": "open"})
    assert both.verdict == "leak+blocked-allowed"
    doc = both.to_dict()
    assert doc["leaking_exits"] == ["backup"] and doc["matrix"] and doc["leaks"][0]["problem"] == "leak"
    err = ActiveReport(site.name, "isolated", [], errors={"ws1": "boom"})
    assert err.verdict == "error" and not err.ok


def test_refused_and_silent_both_count_as_blocked(site: Site) -> None:
    cell = next(c for c in build_matrix(site, "isolated")["ws1"] if c.expected == "blocked")
    for outcome in ("refused", "silent"):
        assert Observation(cell, ProbeResult("ws1:0", outcome, "x")).problem is None  # type: ignore[arg-type]
    assert Observation(cell, ProbeResult("ws1:0", "answered", "syn-ack")).problem == "leak"


def test_commands() -> None:
    argv = probe_command()
    assert argv[-3:] == ["--json", "--plan", "-"] or argv[-1] == "-"
    assert remote_command("root") == "egressctl probe --json --plan -"
    assert remote_command("probe").startswith("sudo -n egressctl probe")
