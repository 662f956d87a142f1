"""Shared by the CLI output tests: an inventory whose data looks like markup, and an in-process CLI runner.

The inventory allows ``2001:100::1/128`` (``:100:`` is Rich's emoji code for 💯) and
``2001:db8:100:1234::/64`` (``:1234:`` is 🔢) and its inside includes that /64, so plans, journals and
captures carry them; :data:`DEVICE_TEXT` is what a device "says" when it refuses something. Every test
checks these come out byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap
from typer.testing import CliRunner, Result

from egressctl.cli.main import app
from tests.support.engine_double import PASSWORD, FakeNet, inventory_yaml

ROOT = Path(__file__).resolve().parents[3]
HOST = "2001:100::1/128"
NET = "2001:db8:100:1234::/64"
DEVICE_TEXT = "[bold]refused[/bold] :100: 2001:100::1"
DIFF_HOST = f"+v6 permit udp ::/0 -> {HOST} dport 53"
DIFF_NET = f"+v6 permit udp ::/0 -> {NET} dport 53"


def special_inventory(tmp: Path, **kw: Any) -> Path:
    """``hq`` of the engine double, with the markup-looking prefixes allowed and inside."""
    text = inventory_yaml(**kw).replace(
        "destinations: [203.0.113.53/32]", f"destinations: [203.0.113.53/32, '{HOST}', '{NET}']"
    ).replace("inside: [10.10.0.0/16]", f"inside: [10.10.0.0/16, '{NET}']")
    path = tmp / "site.yaml"
    path.write_text(text)
    return path


def leak_capture(path: Path) -> Path:
    """A pcap with one packet from inside the /64 to ``2001:100::1`` tcp/443 (only udp/53 is allowed)."""
    pkt = (Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
           / IPv6(src="2001:db8:100:1234::10", dst="2001:100::1") / TCP(sport=40000, dport=443, flags="S"))
    wrpcap(str(path), [pkt])
    return path


@dataclass
class Cli:
    """Runs ``egressctl -i INVENTORY --state-dir STATE ARGS`` in-process over the engine double."""

    inventory: Path
    state: Path
    net: FakeNet = field(default_factory=FakeNet)
    env: dict[str, str | None] = field(default_factory=dict)

    def __call__(self, *argv: str, input: str | None = None) -> Result:
        env: dict[str, str | None] = {"EGRESSCTL_PASSWORD": None, "EGTEST_PASSWORD": PASSWORD,
                                      "EGRESSCTL_STATE_DIR": str(self.state),
                                      "EGRESSCTL_INVENTORY": str(self.inventory), **self.env}
        return CliRunner().invoke(app, ["-i", str(self.inventory), "--state-dir", str(self.state), *argv],
                                  input=input, env=env)

    def json(self, *argv: str) -> Any:
        """The one JSON document a ``--json`` command printed."""
        res = self(*argv, "--json")
        return json.loads(res.stdout)

    def lines(self, *argv: str) -> list[Any]:
        """The JSON lines a streaming ``--json`` command printed."""
        return [json.loads(ln) for ln in self(*argv, "--json").stdout.splitlines() if ln.strip()]


def make_cli(tmp: Path, monkeypatch: Any, **kw: Any) -> Cli:
    """A :class:`Cli` whose engine builds engine-double drivers."""
    cli = Cli(special_inventory(tmp, **kw), tmp / "state")
    monkeypatch.setattr("egressctl.engine.default_factory", cli.net.factory)
    return cli


def fake_active(monkeypatch: pytest.MonkeyPatch) -> None:
    """``verify_active`` over the real matrix: every probe as expected except the first (a problem)."""
    from egressctl.verify.probe import active
    from egressctl.verify.probe.matrix import build_matrix
    from egressctl.verify.probe.records import ProbeResult

    def verify_active(site: Any, target: str, **_: Any) -> active.ActiveReport:
        obs = []
        for vp, cells in build_matrix(site, target).items():
            for i, c in enumerate(cells):
                answered = (c.expected == "reachable") != (i == 0)
                res = ProbeResult(f"{vp}:{i}", "answered" if answered else "silent", "syn-ack [bold]:100:",
                                  responder=c.dst if answered else None, hops=None, rtt_ms=1.5)
                obs.append(active.Observation(c, res))
        return active.ActiveReport(site.name, target, obs, runs={"ws1": {"host": "ws1", "elapsed_s": 0.1,
                                                                          "stats": {}}}, elapsed_s=0.2)

    monkeypatch.setattr(active, "verify_active", verify_active)


def fake_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    """``watch_site`` that replays one capture point's events (a leak among them) into a real report."""
    from egressctl.verify.watch import report, session

    def watch_site(site: Any, target: str, seconds: float, *, on_event: Any = None, **_: Any) -> Any:
        name = "primary (isp1:ce0)"
        flow = {"family": 6, "proto": 6, "src": "2001:db8:100:1234::10", "dst": "2001:100::1",
                "sport": 40000, "dport": 443, "vlan": None}
        counters = {"packets": 10, "leaks": 1}
        events = [{"event": "start", "exit": "primary", "iface": "ce0", "target": target,
                   "bpf_instructions": 12, "walker": "c"},
                  {"event": "leak", "exit": "primary", "iface": "ce0", "flow": flow, "first_ns": 1},
                  {"event": "stats", "exit": "primary", "iface": "ce0", "counters": counters,
                   "kernel_drops": 0, "unverified": 0},
                  {"event": "end", "exit": "primary", "iface": "ce0", "counters": counters,
                   "kernel_drops": 0, "unverified": 0}]
        rep = report.WatchReport(site.name, target, seconds)
        for ev in events:
            if on_event is not None:
                on_event({**ev, "capture": name})
        rep.captures[name] = events[-1]
        rep.flows.append({**flow, "packets": 1, "bytes": 74, "first_ns": 1, "last_ns": 1, "exit": "primary",
                          "capture": name})
        rep.errors["backup (isp2:ce0)"] = "agent exited 1: [bold]no such device[/bold]"
        return rep

    monkeypatch.setattr(session, "watch_site", watch_site)
