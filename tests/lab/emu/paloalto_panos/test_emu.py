"""PAN-OS personality driven directly (no SSH): candidate vs running, commit, snapshots, errors, nft."""

from __future__ import annotations

import os
import shutil

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane, check
from egressctl_lab.emu.paloalto_panos import PanDevice, create
from egressctl_lab.emu.paloalto_panos.cli import PanSession

SPEC = DeviceSpec(
    name="fw-a",
    hostname="fw-a",
    username="admin",
    password="x2-secret",
    interfaces={"ethernet1/1": "e1-1", "ethernet1/2": "e1-2"},
    zones={"trust": ["ethernet1/2"], "untrust": ["ethernet1/1"]},
    options={"commit_seconds": "0"},
)
DENY = (
    "set address web ip-netmask 192.0.2.80/32",
    "set rulebase security rules egressctl-deny from trust to untrust source any destination web "
    'application any service any action deny description "egressctl target=isolated"',
    "move rulebase security rules egressctl-deny top",
)


@pytest.fixture
def dev() -> tuple[PanDevice, NullDataPlane]:
    plane = NullDataPlane()
    return create(SPEC, ManualClock(), plane), plane


def session(device: PanDevice, configure: bool = True) -> PanSession:
    s = device.new_session("admin")
    assert isinstance(s, PanSession)
    if configure:
        s.handle("configure")
    return s


def run(s: PanSession, *lines: str) -> str:
    out = ""
    for line in lines:
        reply = s.handle(line)
        out += "".join(chunk for _, chunk in reply.chunks) + reply.text
    return out


def test_prompts_banner_and_netmiko_setup(dev: tuple[PanDevice, NullDataPlane]) -> None:
    s = session(dev[0], configure=False)
    assert s.banner().startswith("Last login: ")
    assert s.prompt() == "\nadmin@fw-a> "
    for cmd in ("set cli scripting-mode on", "set cli terminal width 500", "set cli pager off"):
        assert s.handle(cmd).text == ""
    assert "operational-mode: normal\n" in run(s, "show system info")
    assert run(s, "show system info | match sw-version") == "sw-version: 10.2.4\n"
    assert run(s, "configure") == "Entering configuration mode\n"
    assert s.prompt() == "\n[edit]\nadmin@fw-a# "
    assert s.handle("exit").close is False
    assert s.handle("exit").close is True


def test_changes_wait_for_commit(dev: tuple[PanDevice, NullDataPlane]) -> None:
    device, plane = dev
    s = session(device)
    applied = len(plane.applied)
    run(s, *DENY)
    assert list(device.running.rules) == ["allow-outbound"]
    assert list(device.candidate.rules) == ["egressctl-deny", "allow-outbound"]
    assert run(s, "run check pending-changes") == "yes\n"
    assert "+set rulebase security rules egressctl-deny action deny" in run(
        s, "run show config diff"
    )
    assert len(plane.applied) == applied
    reply = s.handle("commit")
    assert [c for _, c in reply.chunks][1:4] == ["....55%", "....75%", "...98%"]
    assert "100%\nConfiguration committed successfully\n" in reply.text
    assert list(device.running.rules) == ["egressctl-deny", "allow-outbound"]
    assert 'ip daddr 192.0.2.80/32 drop comment "rule egressctl-deny"' in plane.applied[-1]
    assert run(s, "run show running security-policy | match index") == (
        '"egressctl-deny; index: 1" {\n"allow-outbound; index: 2" {\n'
    )


def test_snapshot_load_and_revert(dev: tuple[PanDevice, NullDataPlane]) -> None:
    device, _ = dev
    s = session(device)
    assert (
        run(s, "save config to egressctl-snapshot.xml")
        == "Config saved to egressctl-snapshot.xml\n"
    )
    run(s, *DENY, "commit")
    assert (
        run(s, "load config from egressctl-snapshot.xml")
        == "Config loaded from egressctl-snapshot.xml\n"
    )
    assert list(device.candidate.rules) == ["allow-outbound"]
    assert "egressctl-deny" in device.running.rules
    run(s, "commit")
    assert list(device.running.rules) == ["allow-outbound"]
    run(s, "delete rulebase security rules allow-outbound")
    run(s, "revert config")
    assert device.candidate == device.running
    assert run(s, "load config from nope.xml").startswith("Server error : ")


def test_show_formats_and_match(dev: tuple[PanDevice, NullDataPlane]) -> None:
    """Configure-mode ``show`` is hierarchical until ``set cli config-output-format set`` (as on PAN-OS)."""
    s = session(dev[0])
    run(s, *DENY)
    assert run(s, "show address") == "address {\n  web {\n    ip-netmask 192.0.2.80/32;\n  }\n}\n"
    run(s, "run set cli config-output-format set")
    assert run(s, "show rulebase security | match egressctl-deny.*action") == (
        "set rulebase security rules egressctl-deny action deny\n"
    )
    assert run(s, "show address") == "set address web ip-netmask 192.0.2.80/32\n"
    run(s, "run set cli config-output-format default")
    assert run(s, "show address") == "address {\n  web {\n    ip-netmask 192.0.2.80/32;\n  }\n}\n"


def test_set_accumulates_members_and_move(dev: tuple[PanDevice, NullDataPlane]) -> None:
    device = dev[0]
    s = session(device)
    run(
        s,
        "set rulebase security rules r1 from trust to untrust source 10.10.1.11 destination any "
        "application any service any action allow",
        "set rulebase security rules r1 source [ 10.10.1.12 10.10.1.13 ]",
        "move rulebase security rules r1 before allow-outbound",
    )
    assert device.candidate.rules["r1"]["source"] == ["10.10.1.11", "10.10.1.12", "10.10.1.13"]
    assert list(device.candidate.rules) == ["r1", "allow-outbound"]
    run(s, "move rulebase security rules r1 bottom")
    assert list(device.candidate.rules) == ["allow-outbound", "r1"]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("frobnicate", "Unknown command: frobnicate\n"),
        ("set address bad ip-netmask 999.1.1.1", "Invalid syntax.\n"),
        ("set rulebase security rules r action permit", "Invalid syntax.\n"),
        ("set service s protocol icmp port 1", "Invalid syntax.\n"),
        ("set service s protocol tcp port 70000", "Invalid syntax.\n"),
        ("set rulebase security rules r source [ a b", "Invalid syntax.\n"),
        (
            "move rulebase security rules ghost top",
            "Server error : move failed. Object ghost does not exist\n",
        ),
        ("show system info", "Invalid syntax.\n"),
    ],
)
def test_errors_change_nothing(dev: tuple[PanDevice, NullDataPlane], line: str, error: str) -> None:
    device, _ = dev
    s = session(device)
    before = device.candidate.clone()
    assert run(s, line) == error
    assert device.candidate == before


def test_commit_failure_keeps_running(dev: tuple[PanDevice, NullDataPlane]) -> None:
    device, plane = dev
    s = session(device)
    applied = len(plane.applied)
    out = run(
        s,
        "set rulebase security rules bad from trust to nowhere source ghost destination any "
        "application any service any action allow",
        "commit",
    )
    assert "100%\nValidation Error:\n" in out
    assert (
        " rulebase -> security -> rules -> bad -> source 'ghost' is not a valid reference\n" in out
    )
    assert " rulebase -> security -> rules -> bad -> to 'nowhere' is not a valid reference\n" in out
    assert out.endswith("Commit failed\n")
    assert "bad" not in device.running.rules and len(plane.applied) == applied
    incomplete = run(
        s,
        "delete rulebase security rules bad",
        "set rulebase security rules half action allow",
        "commit",
    )
    assert " rulebase -> security -> rules -> half is missing 'from'" in incomplete


def test_default_intrazone_allow_interzone_deny(dev: tuple[PanDevice, NullDataPlane]) -> None:
    text = dev[0].ruleset()
    assert "policy drop;" in text
    assert 'iifname "e1-2" oifname "e1-2" accept comment "intrazone-default"' in text
    assert text.index("rule allow-outbound") < text.index("intrazone-default")


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nft")
def test_rulesets_are_valid_nft(dev: tuple[PanDevice, NullDataPlane]) -> None:
    device = dev[0]
    s = session(device)
    run(
        s,
        *DENY,
        "set address r6 ip-netmask 2001:db8:c::/64",
        "set address rng ip-range 10.10.1.10-10.10.1.20",
        "set address-group g static [ web r6 rng ]",
        "set service tcp-x protocol tcp port 443,8000-8080 source-port 1024-65535",
        "set rulebase security rules mix from any to untrust source rng destination g "
        "application [ dns ssl ] service application-default action reset-client",
        "set rulebase security rules mix2 from trust to untrust source any destination g application any "
        "service [ tcp-x service-https ] action drop",
        "commit",
    )
    assert set(device.running.rules) == {"egressctl-deny", "allow-outbound", "mix", "mix2"}
    assert check(device.ruleset()) is None, device.ruleset()


def test_application_narrows_protocols(dev: tuple[PanDevice, NullDataPlane]) -> None:
    device, plane = dev
    s = session(device)
    run(
        s,
        "set rulebase security rules ping from trust to untrust source any destination any "
        "application icmp service any action allow",
        "set rulebase security rules dns from trust to untrust source any destination any "
        "application dns service application-default action allow",
        "commit",
    )
    text = plane.applied[-1]
    assert 'meta l4proto icmp accept comment "rule ping"' in text
    assert 'meta l4proto udp th dport 53 accept comment "rule dns"' in text
    assert 'meta l4proto tcp th dport 53 accept comment "rule dns"' in text
