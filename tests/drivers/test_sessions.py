"""Drivers' session handling: the vendors' session listings parsed (golden samples), the shared decision of
which sessions a cut ends, and each platform's clear sequence against its emulator's CLI (no SSH).

The emulator-backed fakes drive the very command processors the lab serves over SSH, so the commands a
driver sends and the text it parses are the vendor's (as emulated); the live tests do the same over netmiko
with real packets.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, cast

import pytest
from egressctl_drivers.cisco_ios.driver import CiscoIosDriver
from egressctl_drivers.common import sessions as S
from egressctl_drivers.fortinet import sessions as fsessions
from egressctl_drivers.fortinet.driver import FortinetDriver
from egressctl_drivers.juniper_junos import sessions as jsessions
from egressctl_drivers.juniper_junos.driver import JuniperJunosDriver
from egressctl_drivers.linux_nftables import sessions as lsessions
from egressctl_drivers.linux_nftables.driver import LinuxNftablesDriver
from egressctl_drivers.paloalto_panos import sessions as psessions
from egressctl_drivers.paloalto_panos.driver import PaloAltoPanosDriver
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane
from egressctl_lab.emu.fortinet import create as forti_create
from egressctl_lab.emu.juniper_junos import create as junos_create
from egressctl_lab.emu.paloalto_panos import create as pan_create
from egressctl_lab.emu.sessions import Flow

from egressctl.driver import Capability, SessionHandling
from egressctl.inventory import load_inventory
from egressctl.policy import compute_policy

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "sessions"
LAB_YAML = next(p for p in (ROOT / "inventory" / "lab.yaml", ROOT / "lab" / "site.yaml") if p.exists())
LAB = load_inventory(LAB_YAML).site("lab")
ISOLATED = compute_policy(LAB, "isolated")
INSIDE = list(LAB.inside)


def device(name: str) -> Any:
    return next(d for d in LAB.devices if d.name == name)


Row = tuple[str, str, str, int | None, int | None, bool, bool]


def tuples(sessions: list[S.Session]) -> list[Row]:
    return [(s.protocol, str(s.src), str(s.dst), s.sport, s.dport, s.live, s.egress) for s in sessions]


# --- capabilities
def test_capabilities_are_declared_truthfully() -> None:
    kill, native = Capability.SESSION_KILL, Capability.NATIVE_REVERT
    assert kill not in CiscoIosDriver.capabilities and native in CiscoIosDriver.capabilities
    assert kill in PaloAltoPanosDriver.capabilities and native not in PaloAltoPanosDriver.capabilities
    for cls in (FortinetDriver, JuniperJunosDriver, LinuxNftablesDriver):
        assert {kill, native} <= cls.capabilities
    for cls in (CiscoIosDriver, FortinetDriver, JuniperJunosDriver, LinuxNftablesDriver, PaloAltoPanosDriver):
        assert {Capability.IPV4, Capability.IPV6, Capability.PORT_RANGES,
                Capability.SOURCE_PORTS} <= cls.capabilities


def test_ios_is_stateless_and_says_so() -> None:
    drv = CiscoIosDriver(device("ce-a"))
    assert drv.session_handling() is SessionHandling.STATELESS
    report = drv.clear_sessions(ISOLATED, INSIDE)
    assert (report.handling, report.matched, report.cleared) == (SessionHandling.STATELESS, 0, 0)
    assert "stateless" in report.detail


# --- decision
def _s(src: str, dst: str, proto: str = "tcp", sport: int | None = 40000, dport: int | None = 8080, *,
       live: bool = True, egress: bool = True) -> S.Session:
    return S.Session("", proto, ipaddress.ip_address(src), ipaddress.ip_address(dst), sport, dport, live,
                     egress)


def test_to_end_keeps_allowed_management_local_closed_and_outside_sources() -> None:
    c2 = _s("10.10.1.11", "192.0.2.80")
    sessions = [
        c2, c2,  # listed twice by two overlapping filters: counted once
        _s("10.10.1.11", "203.0.113.10", "udp", 40001, 4500),  # the CERT's VPN
        _s("10.10.1.50", "10.10.103.2", dport=22),  # the operators' SSH to ce-b, through the device
        _s("10.10.1.11", "192.0.2.80", dport=80, live=False),  # TIME_WAIT
        _s("10.10.1.11", "10.10.1.1", dport=161, egress=False),  # to the device itself
        _s("172.16.0.9", "192.0.2.80"),  # not from inside
        _s("fd10:0:1::11", "2001:db8:c::80", "udp", 40002, 443),
    ]
    ended = S.to_end(ISOLATED, INSIDE, sessions)
    assert [s.describe() for s in ended] == ["tcp 10.10.1.11:40000 -> 192.0.2.80:8080",
                                           "udp fd10:0:1::11:40002 -> 2001:db8:c::80:443"]


def test_report_detail_is_short_and_counts() -> None:
    ended = [_s("10.10.1.11", "192.0.2.80", sport=40000 + i) for i in range(6)]
    report = S.report(SessionHandling.KEPT, ended, 5, S.Stopwatch(), "note")
    assert (report.matched, report.cleared) == (6, 5)
    assert report.detail.startswith("5 of 6 denied sessions cleared in ") and "(+2 more)" in report.detail
    assert report.detail.endswith("; note")


# --- FortiOS
def test_fortios_list_parses_documented_entries() -> None:
    got = tuples(fsessions.parse_list((GOLDEN / "fortinet_list.txt").read_text()))
    assert got == [
        ("tcp", "10.10.1.20", "192.0.2.80", 53012, 24250, True, True),
        ("udp", "10.10.1.20", "203.0.113.10", 40001, 4500, True, True),
        ("tcp", "10.10.5.100", "192.168.11.254", 1251, 22, False, True),  # TIME_WAIT, source NAT
        ("tcp", "10.10.3.211", "10.1.1.251", 59375, 445, True, True),
        ("tcp", "10.10.1.50", "10.10.102.2", 40002, 22, True, False),  # state=local
        ("icmp", "10.10.1.20", "192.0.2.80", None, None, True, True),
    ]
    v6 = tuples(fsessions.parse_list((GOLDEN / "fortinet_list6.txt").read_text()))
    assert v6 == [("tcp", "fd10:0:1::20", "2001:db8:c::80", 53012, 443, True, True)]


class TextDriver:
    """A driver double whose commands go to an emulator session's command processor."""

    def __init__(self, session: Any, dev: Any) -> None:
        self.session, self.device, self.sent = session, dev, []  # type: ignore[var-annotated]

    def send(self, command: str, **_: Any) -> str:
        self.sent.append(command)
        return str(self.session.handle(command).text)

    def send_config(self, lines: list[str], **_: Any) -> str:
        return "".join(self.send(line) for line in lines)


FW_B = {"port1": "port1", "port2": "port2", "mgmt": "mgmt"}
FLOWS = [
    Flow(11, 4, "tcp", "10.10.1.20", "192.0.2.80", 40000, 24250, "ESTABLISHED", 431999),
    Flow(12, 4, "udp", "10.10.1.20", "192.0.2.80", 40003, 443, "", 120),
    Flow(13, 4, "udp", "10.10.1.20", "203.0.113.10", 40001, 4500, "", 120),
    Flow(14, 4, "tcp", "10.10.1.50", "10.10.103.2", 40002, 22, "ESTABLISHED", 431999),
    Flow(15, 4, "tcp", "10.10.1.20", "192.0.2.80", 40004, 80, "TIME_WAIT", 100),
]


def forti(dirty: str = "") -> tuple[TextDriver, NullDataPlane]:
    plane = NullDataPlane()
    emu = forti_create(DeviceSpec("fw-b", "fw-b", "admin", "pw", interfaces=FW_B), ManualClock(), plane)
    plane.sessions.entries = list(FLOWS)
    plane.sessions.routes = {"10.10.1.20": "port2", "10.10.1.50": "port2", "192.0.2.80": "port1",
                             "203.0.113.10": "port1", "10.10.103.2": "port1"}
    drv = TextDriver(emu.new_session("admin"), device("fw-b"))
    if dirty:
        drv.send_config(["config system settings", f"set firewall-session-dirty {dirty}", "end"])
    return drv, plane


@pytest.mark.parametrize(("dirty", "handling"), [("", SessionHandling.RECHECKED),
                                                 ("check-new", SessionHandling.KEPT),
                                                 ("check-policy-option", SessionHandling.RECHECKED)])
def test_fortios_handling_reads_firewall_session_dirty(dirty: str, handling: SessionHandling) -> None:
    drv, _ = forti(dirty)
    assert fsessions.handling(cast(Any, drv)) is handling


def test_fortios_policy_option_with_a_check_new_policy_keeps() -> None:
    drv, _ = forti("check-policy-option")
    drv.send_config(["config firewall policy", "edit 1", "set firewall-session-dirty check-new", "next",
                     "end"])
    assert fsessions.handling(cast(Any, drv)) is SessionHandling.KEPT


def test_fortios_clear_ends_only_the_denied_and_counts_from_the_listing() -> None:
    drv, plane = forti("check-new")
    report = fsessions.clear(cast(Any, drv), ISOLATED, INSIDE)
    assert (report.handling, report.matched, report.cleared) == (SessionHandling.KEPT, 2, 2)
    assert sorted(f.ct_id for f in plane.sessions.entries) == [13, 14, 15]
    clears = [i for i, c in enumerate(drv.sent) if c == "diagnose sys session clear"]
    # never with a loose filter: each clear follows the listing's scope narrowed to one destination
    for i in clears:
        lines = drv.sent[i - 8:i]
        assert any("filter sintf port2" in x for x in lines) and any("filter dintf port1" in x for x in lines)
        assert any("filter src 10.10.0.0 10.10.255.255" in x for x in lines)
        assert any("filter dst 192.0.2.80 192.0.2.80" in x for x in lines)
    assert "2 of 2 denied sessions cleared" in report.detail and "WARNING" not in report.detail
    assert drv.sent[-1].endswith("filter clear")


# --- PAN-OS
def test_panos_sessions_parse_with_zones() -> None:
    got = tuples(psessions.parse_sessions((GOLDEN / "paloalto_panos.txt").read_text(), device("fw-a")))
    assert got == [
        ("tcp", "10.10.1.11", "192.0.2.80", 40000, 24250, True, True),
        ("udp", "10.10.1.11", "203.0.113.10", 40001, 4500, True, True),
        ("tcp", "10.10.1.12", "93.184.216.34", 52330, 443, True, True),  # NS flag: source NAT
        ("tcp", "10.10.1.12", "93.184.216.34", 52331, 80, False, True),  # CLOSED
        ("tcp", "10.59.59.132", "172.16.59.100", 0, 16889, True, False),  # other zones
        ("icmp", "10.10.1.11", "192.0.2.80", None, None, True, True),
        ("tcp", "fd10:0:1::11", "2001:db8:c::80", 40002, 8080, True, True),
    ]
    assert [s.ref for s in psessions.parse_sessions((GOLDEN / "paloalto_panos.txt").read_text(),
                                                    device("fw-a"))][:2] == ["100", "101"]


def pan(rematch: str = "") -> tuple[Any, NullDataPlane]:
    plane = NullDataPlane()
    spec = DeviceSpec("fw-a", "fw-a", "admin", "pw",
                      interfaces={"ethernet1/1": "e1-1", "ethernet1/2": "e1-2", "management": "mgmt"},
                      zones={"trust": ["ethernet1/1"], "untrust": ["ethernet1/2"]},
                      options={"commit_seconds": "0"})
    emu = pan_create(spec, ManualClock(), plane)
    plane.sessions.entries = [Flow(f.ct_id, 4, f.proto, f.src.replace(".20", ".11"), f.dst, f.sport, f.dport,
                                   f.state, f.timeout) for f in FLOWS]
    plane.sessions.routes = {"10.10.1.11": "e1-1", "10.10.1.50": "e1-1", "192.0.2.80": "e1-2",
                             "203.0.113.10": "e1-2", "10.10.103.2": "e1-2"}
    cli = emu.new_session("admin")
    if rematch:
        for line in ("configure", f"set deviceconfig setting session rematch-sessions {rematch}", "commit",
                     "exit"):
            cli.handle(line)
    return cli, plane


def test_panos_handling_and_clear_by_id() -> None:
    cli, plane = pan()
    op = lambda command: str(cli.handle(command).text)  # noqa: E731
    assert psessions.handling(op) is SessionHandling.RECHECKED
    cli, plane = pan("no")
    op = lambda command: str(cli.handle(command).text)  # noqa: E731
    assert psessions.handling(op) is SessionHandling.KEPT
    report = psessions.clear(op, device("fw-a"), ISOLATED, INSIDE)
    assert (report.matched, report.cleared) == (2, 2)
    assert sorted(f.ct_id for f in plane.sessions.entries) == [13, 14, 15]


# --- Junos
def test_junos_sessions_parse_with_zones_of_interfaces() -> None:
    zones = jsessions.zone_of_interfaces("set security zones security-zone trust interfaces ge-0/0/1.0\n"
                                         "set security zones security-zone untrust interfaces ge-0/0/0.0\n")
    got = tuples(jsessions.parse_sessions((GOLDEN / "juniper_junos.txt").read_text(), device("ce-b"), zones))
    assert got == [
        ("tcp", "10.10.1.20", "192.0.2.80", 53012, 24250, True, True),
        ("udp", "10.10.1.20", "203.0.113.10", 40001, 4500, True, True),
        ("tcp", "10.10.1.50", "10.10.103.2", 40002, 22, True, False),  # self-traffic, .local..0
        ("icmp", "10.10.1.21", "172.17.42.1", None, None, True, True),
        ("tcp", "fd10:0:1::10", "64:ff9b::9765:30a", 38380, 443, True, True),  # interface without unit
    ]
    assert jsessions.cleared_count("1 active sessions cleared\n") == 1
    assert jsessions.cleared_count("node0:\n----\n1 active sessions cleared\nnode1:\n----\n2 active sessions "
                                   "cleared\n") == 3


def junos(rematch: str = "") -> tuple[Any, NullDataPlane]:
    plane = NullDataPlane()
    spec = DeviceSpec("ce-b", "ce-b", "admin", "pw",
                      interfaces={"ge-0/0/1.0": "ge-0-0-1", "ge-0/0/0.0": "ge-0-0-0"},
                      zones={"trust": ["ge-0/0/1.0"], "untrust": ["ge-0/0/0.0"]})
    emu = junos_create(spec, ManualClock(), plane)
    plane.sessions.entries = list(FLOWS)
    plane.sessions.routes = {"10.10.1.20": "ge-0-0-1", "10.10.1.50": "ge-0-0-1", "192.0.2.80": "ge-0-0-0",
                             "203.0.113.10": "ge-0-0-0", "10.10.103.2": None}
    cli = emu.new_session("admin")
    if rematch:
        for line in ("configure", f"set security policies {rematch}", "commit", "exit"):
            cli.handle(line)
    return cli, plane


@pytest.mark.parametrize("rematch", ["", "policy-rematch", "policy-rematch extensive"])
def test_junos_is_kept_and_clears_by_session_identifier(rematch: str) -> None:
    cli, plane = junos(rematch)
    run = lambda command: str(cli.handle(command).text)  # noqa: E731
    how, note = jsessions.handling(run)
    assert how is SessionHandling.KEPT
    assert ("policy-rematch is off" in note) is (not rematch)
    report = jsessions.clear(run, device("ce-b"), ISOLATED, INSIDE)
    assert (report.matched, report.cleared) == (2, 2)
    assert sorted(f.ct_id for f in plane.sessions.entries) == [13, 14, 15]


# --- Linux
def test_linux_entries_and_routes_parse() -> None:
    got = tuples(lsessions.parse_entries((GOLDEN / "linux_conntrack.txt").read_text()))
    assert got[:4] == [
        ("tcp", "10.10.1.20", "192.0.2.80", 53438, 24250, True, True),
        ("udp", "10.10.1.20", "203.0.113.10", 40001, 4500, True, True),
        ("udp", "10.10.1.20", "192.0.2.80", 34813, 443, True, True),
        ("tcp", "10.10.1.20", "192.0.2.80", 53440, 80, False, True),
    ]
    assert got[5] == ("icmp", "10.10.1.20", "192.0.2.80", None, None, True, True)
    assert got[6][:3] == ("tcp", "fd10:0:1::20", "2001:db8:c::80")
    routes = lsessions.parse_routes('[{"dst":"10.10.1.20","dev":"lan0","prefsrc":"10.10.1.2"}]\n'
                                    '[{"type":"local","dst":"10.10.1.2","dev":"lo"}]\nRTNETLINK answers: x\n')
    assert routes == {"10.10.1.20": ("lan0", False), "10.10.1.2": ("lo", True)}
    assert lsessions.chunks(["a" * 100, "b" * 100, "c" * 100], "; ", 210) == ["a" * 100 + "; " + "b" * 100,
                                                                              "c" * 100]


class Shell:
    """What core-b's root shell answers to the commands the Linux sessions module sends."""

    def __init__(self, ruleset: str, tracked: str = "0") -> None:
        self.ruleset, self.tracked, self.sent = ruleset, tracked, []  # type: ignore[var-annotated]
        self.deleted: list[str] = []

    def __call__(self, command: str) -> str:
        self.sent.append(command)
        if command.startswith("nft list ruleset"):
            return self.ruleset
        if command.startswith("cat /proc"):
            return self.tracked
        if command.startswith("command -v conntrack"):
            return "EGRESSCTL-HAS-CT"
        if command.startswith("conntrack -L") and "-f ipv4" in command:
            return "\n".join(x for x in (GOLDEN / "linux_conntrack.txt").read_text().splitlines()
                             if x not in self.deleted)
        if command.startswith("printf 'route get"):
            lines = []
            for addr in command.split("%s\\n' ")[1].split(" | ")[0].split():
                dev = {"10.10.1.20": "lan0", "10.10.1.50": "lan0"}.get(addr, "tb1")
                kind = '"type":"local",' if addr == "10.10.1.2" else ""
                lines.append(f'[{{{kind}"dst":"{addr}","dev":"{dev}"}}]')
            return "\n".join(lines)
        if command.startswith("conntrack -D"):
            for one in command.split("; "):
                self.deleted += [x for x in (GOLDEN / "linux_conntrack.txt").read_text().splitlines()
                                 if one.startswith("conntrack -D") and ct_matches(one.split(), x)]
            return ""
        return ""


def ct_matches(argv: list[str], line: str) -> bool:
    """Whether ``conntrack -D`` with ``argv`` deletes the listed entry ``line`` (original tuple only)."""
    opts = dict(zip(argv[2::2], argv[3::2], strict=False))
    fields = dict(x.split("=", 1) for x in reversed(line.split()) if "=" in x)  # the first tuple wins
    if ("-f" in opts and not line.startswith(opts["-f"])) or ("-p" in opts and line.split()[2] != opts["-p"]):
        return False
    for key, mask, name in (("-s", "--mask-src", "src"), ("-d", "--mask-dst", "dst")):
        if key in opts and ipaddress.ip_address(fields[name]) not in (
                ipaddress.ip_network(f"{opts[key]}/{opts.get(mask, '255.255.255.255')}")):
            return False
    return all(fields.get(k[2:]) == opts[k] for k in ("--sport", "--dport") if k in opts)


def test_linux_without_tracking_is_stateless_and_lists_nothing() -> None:
    shell = Shell("table inet egressctl {\n}\n")
    assert lsessions.handling(shell) is SessionHandling.STATELESS
    report = lsessions.clear(shell, device("core-b"), ISOLATED, INSIDE)
    assert (report.handling, report.matched, report.cleared) == (SessionHandling.STATELESS, 0, 0)
    assert not any(c.startswith("conntrack") for c in shell.sent)


def test_linux_with_tracking_deletes_the_denied_tuples() -> None:
    shell = Shell("table inet site {\n chain forward {\n  ct state established,related accept\n }\n}\n")
    assert lsessions.handling(shell) is SessionHandling.KEPT
    report = lsessions.clear(shell, device("core-b"), ISOLATED, INSIDE)
    deletes = [c for c in shell.sent if c.startswith("conntrack -D")]
    # tcp 24250, udp 443 and the ping; not the VPN, the SSH session or the one in TIME_WAIT (which shares
    # the destination, so each denied one goes by destination, protocol and port)
    assert (report.matched, report.cleared) == (3, 3)
    joined = " ".join(deletes)
    scope = "-s 10.10.0.0 --mask-src 255.255.0.0"
    assert f"{scope} -d 192.0.2.80 --mask-dst 255.255.255.255 -p tcp --dport 24250" in joined
    assert "-p udp --dport 443" in joined and "-p icmp 2>&1" in joined
    assert "--dport 4500" not in joined and "10.10.1.50" not in joined and "--dport 80 " not in joined
    assert [x for x in shell.deleted if "TIME_WAIT" in x or "4500" in x or "10.10.1.50" in x] == []
    assert all(len(c) <= 260 for c in deletes)
    assert lsessions.handling(Shell("", tracked="3")) is SessionHandling.KEPT
