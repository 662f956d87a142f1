"""cisco_ios driver: render/parse/golden through the conformance suite, plus IOS display quirks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from egressctl_drivers.cisco_ios import constants as c
from egressctl_drivers.cisco_ios.driver import CiscoIosDriver, revert_minutes
from egressctl_drivers.cisco_ios.parse import ParseError, parse_ace, parse_state

from egressctl.driver import DeviceState
from egressctl.inventory.models import Device
from egressctl.policy import compute_policy, equivalent
from tests.support.driver_contract import LabModelContract, lab_site

BASELINE = "\n!\ninterface GigabitEthernet0/0\ninterface GigabitEthernet0/1"


class IosModel:
    """A minimal model of IOS running-config for ACLs and bindings (test helper, not an emulator).

    As on IOS, ``ip access-group NAME in`` replaces the inbound IPv4 binding of the interface (one per
    family and direction) and a line not valid in a sub-mode falls back to global configuration.
    """

    def __init__(self, raw: str) -> None:
        self.acls: dict[str, tuple[str, list[str]]] = {}
        self.itfs: dict[str, dict[str, str]] = {}
        self.apply(raw.splitlines())

    def apply(self, lines: list[str]) -> IosModel:
        for line in lines:
            self.step(line)
        return self

    def step(self, line: str) -> None:
        """Apply one configuration line."""
        if not line.strip() or line.strip() == "!":
            self._block: list[str] | dict[str, str] | None = None
        elif m := re.match(r"^no (ip access-list extended|ipv6 access-list) (\S+)$", line):
            self.acls.pop(m.group(2), None)
            self._block = None
        elif m := re.match(r"^(ip access-list extended|ipv6 access-list) (\S+)$", line):
            self._block = self.acls.setdefault(m.group(2), (m.group(1), []))[1]
        elif m := re.match(r"^interface (\S+)$", line):
            self._block = self.itfs.setdefault(m.group(1), {})
        elif m := re.match(r"^ (no )?(ip access-group|ipv6 traffic-filter) (\S+) (in|out)$", line):
            assert isinstance(self._block, dict), line
            key = f"{m.group(2)} {m.group(4)}"
            if m.group(1):
                self._block.pop(key, None)
            else:
                self._block[key] = m.group(3)
        elif line.startswith(" ") and isinstance(self._block, list):
            self._block.append(line)
        else:
            raise AssertionError(f"model cannot apply {line!r}")

    _block: list[str] | dict[str, str] | None = None

    def bound(self, itf: str, fam: int) -> str | None:
        """The ACL bound inbound on ``itf`` for that family."""
        return self.itfs.get(itf, {}).get("ip access-group in" if fam == 4 else "ipv6 traffic-filter in")

    def text(self) -> str:
        out: list[str] = []
        for name, (kind, entries) in self.acls.items():
            out += [f"{kind} {name}", *entries]
        out.append("!")
        for itf, binds in self.itfs.items():
            out += [f"interface {itf}"]
            out += [f" {k.rsplit(' ', 1)[0]} {v} {k.rsplit(' ', 1)[1]}" for k, v in binds.items()]
        return "\n".join(out)


class TestCiscoIosContract(LabModelContract):
    model = IosModel
    driver_cls = CiscoIosDriver
    device_name = "ce-a"
    baseline = BASELINE

    def parse(self, drv: Any, raw: str) -> DeviceState:
        return parse_state(drv.device, raw, pending=False)


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
    model.itfs["GigabitEthernet0/1"] = {}
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


# -- make-before-break ------------------------------------------------------------------------------------
MGMT_ACE = " permit tcp host 10.10.1.50 host 10.10.101.2 eq 22"  # the controller's in-band session to ce-a
CHAIN = ["isolated", "ministry", "allowlist", "ministry", "normal", "isolated", "normal"]


def _ios(device: Device | None = None) -> tuple[CiscoIosDriver, IosModel]:
    site = lab_site()
    drv = CiscoIosDriver(device or site.device("ce-a"))
    return drv, IosModel(BASELINE)


def _walk(drv: CiscoIosDriver, model: IosModel, lines: list[str]) -> None:
    """Apply ``lines`` one at a time; after each, every bound ACL is one complete ACL, never half-built.

    "Complete" = its entries are exactly what that name held before the change or holds at its end; and
    while an ACL with entries is bound, the management session's own permit is in it.
    """
    before = {n: list(e) for n, (_, e) in model.acls.items()}
    after = {n: list(e) for n, (_, e) in IosModel(model.text()).apply(lines).acls.items()}
    for i, line in enumerate(lines):
        model.step(line)
        for itf in drv.device.inside:
            for fam in (4, 6):
                name = model.bound(itf, fam)
                if name is None:
                    continue
                assert name in model.acls, f"after line {i} ({line!r}) {itf} is bound to a missing ACL {name}"
                entries = model.acls[name][1]
                assert entries in (before.get(name), after.get(name)), (
                    f"after line {i} ({line!r}) {itf} filters with a half-built {name}")
                if fam == 4:
                    assert MGMT_ACE in entries, f"after line {i} ({line!r}) the session is cut"


def test_every_change_is_make_before_break() -> None:
    drv, model = _ios()
    slots: list[str] = []
    for target in CHAIN:
        state = parse_state(drv.device, model.text(), pending=False)
        policy = compute_policy(lab_site(), target)
        lines = drv.render(policy, state)
        _walk(drv, model, lines)
        after = parse_state(drv.device, model.text(), pending=False)
        assert after.target == target and (policy.is_normal or equivalent(after.rules, policy.rules))
        assert drv.render(policy, after) == []
        if not policy.is_normal:
            slots.append(model.bound("GigabitEthernet0/1", 4) or "")
            assert sorted(model.acls) == sorted([slots[-1], slots[-1].replace("V4", "V6")])
        else:
            assert not model.acls and model.bound("GigabitEthernet0/1", 4) is None
    assert slots == ["EGRESSCTL-V4-A", "EGRESSCTL-V4-B", "EGRESSCTL-V4-A", "EGRESSCTL-V4-B",
                     "EGRESSCTL-V4-A"]


def test_order_new_acl_complete_then_swap_then_remove_old() -> None:
    drv, model = _ios()
    site = lab_site()
    start = parse_state(drv.device, BASELINE, pending=False)
    model.apply(drv.render(compute_policy(site, "isolated"), start))
    lines = drv.render(compute_policy(site, "ministry"), parse_state(drv.device, model.text(), pending=False))
    swap = lines.index(" ip access-group EGRESSCTL-V4-B in")
    assert lines[swap - 1] == "interface GigabitEthernet0/1"
    assert lines[swap + 1] == " ipv6 traffic-filter EGRESSCTL-V6-B in"
    v4 = lines.index("ip access-list extended EGRESSCTL-V4-B")
    v6 = lines.index("ipv6 access-list EGRESSCTL-V6-B")
    assert v4 < v6 < swap
    assert " deny ipv6 any any" in lines[:swap] and lines[swap - 2] == " deny ipv6 any any"
    old = ["no ip access-list extended EGRESSCTL-V4-A", "no ipv6 access-list EGRESSCTL-V6-A"]
    assert lines[swap + 2:] == old
    assert not any("EGRESSCTL-V4-A" in ln or "EGRESSCTL-V6-A" in ln for ln in lines[:swap])


def test_legacy_names_are_read_and_replaced() -> None:
    drv, _ = _ios()
    site = lab_site()
    policy = compute_policy(site, "isolated")
    legacy = [ln.replace("-V4-A", "-V4").replace("-V6-A", "-V6")
              for ln in drv.render(policy, parse_state(drv.device, BASELINE, pending=False))]
    model = IosModel(BASELINE).apply(legacy)
    state = parse_state(drv.device, model.text(), pending=False)
    assert state.target == "isolated" and equivalent(state.rules, policy.rules)
    lines = drv.render(compute_policy(site, "ministry"), state)
    _walk(drv, model, lines)
    assert sorted(model.acls) == ["EGRESSCTL-V4-A", "EGRESSCTL-V6-A"]
    assert parse_state(drv.device, model.text(), pending=False).target == "ministry"


def test_leftover_slot_makes_state_unknown_and_is_cleaned() -> None:
    drv, model = _ios()
    site = lab_site()
    policy = compute_policy(site, "isolated")
    model.apply(drv.render(policy, parse_state(drv.device, BASELINE, pending=False)))
    model.apply(["ip access-list extended EGRESSCTL-V4-B", " remark half-built", " permit ip any any"])
    state = parse_state(drv.device, model.text(), pending=False)
    assert state.target == "unknown" and equivalent(state.rules, policy.rules)
    lines = drv.render(policy, state)
    assert lines[0] == "no ip access-list extended EGRESSCTL-V4-B"
    _walk(drv, model, lines)
    assert parse_state(drv.device, model.text(), pending=False).target == "isolated"
    assert sorted(model.acls) == ["EGRESSCTL-V4-B", "EGRESSCTL-V6-B"]


def test_mixed_slots_are_unified_before_the_build() -> None:
    site = lab_site()
    base = site.device("ce-a")
    dev = base.model_copy(update={"inside": ["GigabitEthernet0/1", "GigabitEthernet0/2"]})
    drv = CiscoIosDriver(dev)
    policy = compute_policy(site, "isolated")
    model = IosModel(BASELINE + "\ninterface GigabitEthernet0/2")
    model.apply(drv.render(policy, parse_state(dev, model.text(), pending=False)))
    b_lines = [ln.replace("-A", "-B") for ln in acl_lines_for(drv, policy)]
    model.apply([*b_lines, "interface GigabitEthernet0/2", " ip access-group EGRESSCTL-V4-B in"])
    state = parse_state(dev, model.text(), pending=False)
    assert state.target == "unknown"
    lines = drv.render(compute_policy(site, "ministry"), state)
    assert lines[:2] == ["interface GigabitEthernet0/2", " ip access-group EGRESSCTL-V4-A in"]
    _walk(drv, model, lines)
    assert parse_state(dev, model.text(), pending=False).target == "ministry"


def acl_lines_for(drv: CiscoIosDriver, policy: Any) -> list[str]:
    from egressctl_drivers.cisco_ios.render import acl_lines

    return [*acl_lines(policy, 4), *acl_lines(policy, 6)]


# -- IPv6 neighbour discovery -------------------------------------------------------------------------------
def test_v6_acl_permits_neighbour_discovery_before_its_deny() -> None:
    drv, _ = _ios()
    policy = compute_policy(lab_site(), "isolated")
    lines = acl_lines_for(drv, policy)
    v6 = lines[lines.index("ipv6 access-list EGRESSCTL-V6-A"):]
    deny = v6.index(" deny ipv6 any any")
    assert v6[deny - 5:deny - 1] == [f" remark {c.INFRA_REMARK}", *(f" {a}" for a in c.ND_ACES)]
    assert v6[deny - 1] == " remark deny-egress"
    assert not any("nd-n" in ln for ln in lines[:lines.index("ipv6 access-list EGRESSCTL-V6-A")])


def test_nd_entries_are_not_rules_and_foreign_ones_are_refused() -> None:
    drv, model = _ios()
    policy = compute_policy(lab_site(), "isolated")
    model.apply(drv.render(policy, parse_state(drv.device, BASELINE, pending=False)))
    state = parse_state(drv.device, model.text(), pending=False)
    assert not any(r.protocol == "icmp" for r in state.rules)
    assert equivalent(state.rules, policy.rules)
    numbered = model.text().replace(" permit icmp any any nd-ns", " sequence 75 permit icmp any any nd-ns")
    assert parse_state(drv.device, numbered, pending=False).target == "isolated"
    tampered = model.text().replace(" permit icmp any any nd-ns", " permit ipv6 any any")
    with pytest.raises(ParseError):
        parse_state(drv.device, tampered, pending=False)


# -- the archive the revert timer needs -------------------------------------------------------------------
def test_archive_setup_only_when_the_router_has_no_path() -> None:
    from egressctl_drivers.cisco_ios.render import archive_setup

    assert archive_setup("") == ["archive", " path flash:egressctl-revert"]
    assert archive_setup("archive\n maximum 5\n") == ["archive", " path flash:egressctl-revert"]
    assert archive_setup("archive\n path flash:site-$h\n") == []
    assert archive_setup("archive\n path flash:egressctl-revert\n") == []


def test_archive_cleanup_removes_only_what_egressctl_added() -> None:
    from egressctl_drivers.cisco_ios.render import archive_cleanup

    assert archive_cleanup("archive\n path flash:egressctl-revert\n") == ["no archive"]
    assert archive_cleanup("archive\r\n path flash:egressctl-revert\r\n!\r\n") == ["no archive"]
    assert archive_cleanup("archive\n path flash:egressctl-revert\n maximum 5\n") == ["archive", " no path"]
    assert archive_cleanup("archive\n path flash:archive\n") == []  # the site's (or unknown): kept
    assert archive_cleanup("") == []
