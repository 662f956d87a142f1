"""Drivers ending the sessions a cut denies, over netmiko to the emulators and the real Linux box (ISSUE 10).

Real packets through the lab (namespaces ``sd-*``). For each device that keeps state the test puts it in
the setting where established sessions *survive* a policy change (FortiOS ``check-new``, PAN-OS rematch off,
Junos as it is, core-b with a site's stateful ruleset), holds a denied TCP session and a denied UDP flow open
from inside, plus the national CERT's VPN flow (always allowed) and a management SSH session, isolates the
device with its driver, and then calls ``clear_sessions``: the denied flows must end within 2 s, the CERT's
VPN and the management session must not, and the counts must be right. ``session_handling`` is read at the
device's default and with the setting changed. The time ``clear_sessions`` takes is printed (run with -s).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from egressctl.driver import SessionHandling
from egressctl.inventory.credentials import resolve
from egressctl.policy import compute_policy
from egressctl.registry import driver_class
from tests.support.labkit import running_lab
from tests.support.sessions_kit import Flows, connect, flow_specs, held, in_ns, servers, site

pytestmark = [pytest.mark.lab, pytest.mark.slow]
DEAD_WITHIN = 2.0
SITE_STATEFUL = """table inet sd_site {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan0" accept
  }
}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_lab(tmp_path_factory, "sd-", 24220) as instance, servers(instance):
        yield instance


def forti(lab: Any, lines: list[str]) -> None:
    conn = connect(lab, "fw-b")
    try:
        conn.send_config_set(["config system settings", *lines, "end"])
    finally:
        conn.disconnect()


def pan(lab: Any, line: str) -> None:
    conn = connect(lab, "fw-a")
    try:
        conn.send_command("configure", expect_string=r"#")
        conn.send_command(line, expect_string=r"#")
        assert "100%" in conn.send_command("commit", expect_string=r"100%", read_timeout=60)
        conn.send_command("exit", expect_string=r">")
    finally:
        conn.disconnect()


def junos(lab: Any, line: str) -> None:
    conn = connect(lab, "ce-b")
    try:
        conn.send_config_set([line], exit_config_mode=False)
        assert "commit complete" in conn.commit()
        conn.exit_config_mode()
    finally:
        conn.disconnect()


def nft(lab: Any, script: str) -> None:
    assert "Error" not in in_ns(lab, "core-b", "nft", "-f", "-", stdin=script)


@dataclass(frozen=True)
class Case:
    """One device: who sits behind it, and how to switch its sessions between its default and *kept*."""

    device: str
    vantage: str
    default: SessionHandling
    keep: Callable[[Any], None]
    undo: Callable[[Any], None]
    push: bool = False  # the denied UDP flow is the inbound push (a Linux cut drops outbound at once)


CASES = [
    Case("fw-b", "srv1", SessionHandling.RECHECKED,
         lambda lab: forti(lab, ["set firewall-session-dirty check-new"]),
         lambda lab: forti(lab, ["unset firewall-session-dirty"])),
    Case("fw-a", "ws1", SessionHandling.RECHECKED,
         lambda lab: pan(lab, "set deviceconfig setting session rematch-sessions no"),
         lambda lab: pan(lab, "delete deviceconfig setting session rematch-sessions")),
    Case("ce-b", "srv1", SessionHandling.KEPT,
         lambda lab: junos(lab, "set security policies policy-rematch"),
         lambda lab: junos(lab, "delete security policies policy-rematch")),
    Case("core-b", "srv1", SessionHandling.STATELESS,
         lambda lab: nft(lab, SITE_STATEFUL),
         lambda lab: nft(lab, "table inet sd_site\ndelete table inet sd_site\n"), push=True),
]


@contextlib.contextmanager
def driver(lab: Any, name: str) -> Iterator[Any]:
    """The device's egressctl driver, open on a session of its own, closed however the body ends."""
    dev = site(lab).device(name)
    drv = driver_class(dev.platform)(dev, timeout=30.0)
    drv.open(resolve(dev.credential))
    try:
        yield drv
    finally:
        drv.close()


def apply(drv: Any, lab: Any, target: str) -> None:
    """Take the device to ``target`` with the whole dead-man lifecycle (commit, read back, confirm)."""
    policy = compute_policy(site(lab), target)
    drv.snapshot()
    drv.load_candidate(policy, drv.read_state())
    drv.commit(120)
    after = drv.read_state()
    assert after.target == target or (target == "normal" and after.is_normal)
    drv.confirm()


@pytest.mark.parametrize("case", CASES, ids=[c.device for c in CASES])
def test_session_handling_reads_the_setting(lab: Any, case: Case) -> None:
    with driver(lab, case.device) as drv:
        assert drv.session_handling() is case.default
    case.keep(lab)
    try:
        with driver(lab, case.device) as drv:
            assert drv.session_handling() is SessionHandling.KEPT
    finally:
        case.undo(lab)


def survive_cut(flows: Flows, case: Case) -> None:
    """Before the clear: the kept device let every flow through the cut (the Linux box: the inbound half)."""
    names = ["c2-udp", "cert-vpn"] if case.push else flows.names
    assert flows.kept_for(1.5, *names), "the device was meant to keep established sessions across the cut"


@pytest.mark.parametrize("case", CASES, ids=[c.device for c in CASES])
def test_clear_sessions_ends_denied_flows_only(lab: Any, case: Case) -> None:
    case.keep(lab)
    mgmt = connect(lab, case.device)  # an operator's SSH session, open before the cut
    try:
        with held(lab, case.vantage, flow_specs(push=case.push)) as flows, driver(lab, case.device) as drv:
            try:
                apply(drv, lab, "isolated")
                survive_cut(flows, case)
                clear_and_check(lab, drv, flows, case)
                assert mgmt.find_prompt()  # the operator's session, opened before the cut, still answers
            finally:
                apply(drv, lab, "normal")
    finally:
        mgmt.disconnect()
        case.undo(lab)


def clear_and_check(lab: Any, drv: Any, flows: Flows, case: Case) -> None:
    """``clear_sessions`` on the isolated device: the denied flows end, the rest stays; prints the time."""
    start = time.monotonic()
    report = drv.clear_sessions(compute_policy(site(lab), "isolated"), site(lab).inside)
    took = time.monotonic() - start
    print(f"\nclear_sessions on {case.device}: {took:.2f} s, matched {report.matched}, "
          f"cleared {report.cleared} ({report.handling}): {report.detail}")
    for name in ("c2-tcp", "c2-udp"):
        assert flows.died_within(name, start, DEAD_WITHIN) is not None, f"{name} kept answering"
    assert flows.alive("cert-vpn"), "the national CERT's VPN flow must survive"
    assert (report.handling, report.matched, report.cleared) == (SessionHandling.KEPT, 2, 2)
    assert drv.read_state().target == "isolated"  # the driver's own management session still works
