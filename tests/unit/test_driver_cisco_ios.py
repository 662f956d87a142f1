"""cisco_ios driver: render/parse/golden through the conformance suite, plus IOS display quirks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from egressctl_drivers.cisco_ios import constants as c
from egressctl_drivers.cisco_ios.driver import CiscoIosDriver, revert_minutes
from egressctl_drivers.cisco_ios.parse import ParseError, parse_ace, parse_state

from egressctl.driver import DeviceState
from egressctl.policy import compute_policy, equivalent
from tests.unit.test_driver_contract import DriverContract, lab_site

BASELINE = "\n!\ninterface GigabitEthernet0/0\ninterface GigabitEthernet0/1"


class IosModel:
    """A minimal model of IOS running-config for ACLs and bindings (test helper, not an emulator)."""

    def __init__(self, raw: str) -> None:
        self.acls: dict[str, tuple[str, list[str]]] = {}
        self.itfs: dict[str, list[str]] = {}
        self.apply(raw.splitlines())

    def apply(self, lines: list[str]) -> IosModel:
        block: list[str] | None = None
        for line in lines:
            if not line.strip() or line.strip() == "!":
                block = None
            elif m := re.match(r"^no (ip access-list extended|ipv6 access-list) (\S+)$", line):
                self.acls.pop(m.group(2), None)
            elif m := re.match(r"^(ip access-list extended|ipv6 access-list) (\S+)$", line):
                block = self.acls.setdefault(m.group(2), (m.group(1), []))[1]
            elif m := re.match(r"^interface (\S+)$", line):
                block = self.itfs.setdefault(m.group(1), [])
            elif line.startswith(" no ") and block is not None:
                block.remove(" " + line[4:])
            elif line.startswith(" ") and block is not None:
                block.append(line if line not in block else "")
                if "" in block:
                    block.remove("")
        return self

    def text(self) -> str:
        out: list[str] = []
        for name, (kind, entries) in self.acls.items():
            out += [f"{kind} {name}", *entries]
        out.append("!")
        for itf, lines in self.itfs.items():
            out += [f"interface {itf}", *lines]
        return "\n".join(out)


class TestCiscoIosContract(DriverContract):
    driver_cls = CiscoIosDriver
    device_name = "ce-a"
    baseline = BASELINE

    def parse(self, drv: Any, raw: str) -> DeviceState:
        return parse_state(drv.device, raw, pending=False)

    def readback(self, drv: Any, lines: list[str]) -> str:
        return IosModel(self.baseline).apply(lines).text()

    def readback_from(self, drv: Any, state: DeviceState, lines: list[str]) -> str:
        return IosModel(state.raw).apply(lines).text()


def test_port_keywords_and_ipv6_case_are_normalised() -> None:
    r = parse_ace("permit udp any host 203.0.113.10 eq non500-isakmp", 4, "x")
    assert str(r.dst_ports[0]) == "4500"
    r = parse_ace("permit tcp any host 2001:DB8:C::D53 eq domain", 6, "x")
    assert str(r.destinations[0]) == "2001:db8:c::d53/128" and str(r.dst_ports[0]) == "53"
    r = parse_ace("30 permit tcp 10.10.0.0 0.0.255.255 eq 22 host 10.10.1.50 range 8000 8080", 4, "x")
    assert str(r.sources[0]) == "10.10.0.0/16" and str(r.src_ports[0]) == "22"
    assert str(r.dst_ports[0]) == "8000-8080"
    with pytest.raises(ParseError):
        parse_ace("permit tcp any any eq nosuchport", 4, "x")


def test_device_display_with_keywords_round_trips() -> None:
    site = lab_site()
    drv = CiscoIosDriver(site.device("ce-a"))
    policy = compute_policy(site, "ministry")
    normal = parse_state(drv.device, BASELINE, pending=False)
    raw = IosModel(BASELINE).apply(drv.render(policy, normal)).text()
    shown = raw.replace("eq 4500", "eq non500-isakmp").replace("eq 500", "eq isakmp").replace(
        "eq 53", "eq domain").replace("eq 25", "eq smtp").replace("2001:db8:c::d53", "2001:DB8:C::D53")
    shown = shown.replace(" permit", " permit").replace(" deny ip", " deny   ip")
    state = parse_state(drv.device, shown, pending=False)
    assert state.target == "ministry" and equivalent(state.rules, policy.rules)
    assert drv.render(policy, state) == []


def test_unbound_acl_is_unknown_and_rerendered() -> None:
    site = lab_site()
    drv = CiscoIosDriver(site.device("ce-a"))
    policy = compute_policy(site, "isolated")
    model = IosModel(BASELINE).apply(drv.render(policy, parse_state(drv.device, BASELINE, pending=False)))
    model.itfs["GigabitEthernet0/1"] = []
    state = parse_state(drv.device, model.text(), pending=False)
    assert state.target == "unknown"
    assert drv.render(policy, state)


def test_site_acl_on_inside_interface_is_refused() -> None:
    from egressctl.errors import CommandRejected

    site = lab_site()
    drv = CiscoIosDriver(site.device("ce-a"))
    raw = "ip access-list extended SITE-IN\n permit ip any any\n!\ninterface GigabitEthernet0/1\n" \
          " ip access-group SITE-IN in"
    state = parse_state(drv.device, raw, pending=False)
    with pytest.raises(CommandRejected) as ei:
        drv.load_candidate(compute_policy(site, "isolated"), state)
    assert "SITE-IN" in (ei.value.device_output or "")


@pytest.mark.parametrize(("seconds", "minutes"), [(1, 1), (60, 1), (61, 2), (120, 2), (10**6, 120)])
def test_revert_minutes(seconds: int, minutes: int) -> None:
    assert revert_minutes(seconds) == minutes


def test_error_patterns_match_ios_texts() -> None:
    drv = CiscoIosDriver(lab_site().device("ce-a"))
    for text in ("% Invalid input detected at '^' marker.", "% Incomplete command.",
                 "%Turn config archive on before using Rollback Confirmed Change"):
        assert any(re.search(p, f"x\n{text}\nce-a#", re.M) for p in c.ERROR_PATTERNS), text
    assert not any(re.search(p, "ce-a(config)#\n", re.M) for p in drv.error_patterns)
