"""fortinet driver: render/parse/golden through the conformance suite, plus FortiOS ordering safety.

``FortiModel`` is a test helper (not an emulator): it applies ``config``/``edit``/``set``/``unset``/
``next``/``end``/``delete``/``move`` lines to the parsed ``show`` text so the pure render can be checked
line by line without a session. The real CLI is exercised in tests/drivers/fortinet/test_driver_lab.py.
"""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from egressctl_drivers.fortinet import constants as C
from egressctl_drivers.fortinet.driver import FortinetDriver
from egressctl_drivers.fortinet.parse import Entry, FortiConfig, device_state, parse_config, parse_portrange
from egressctl_drivers.fortinet.render import policy_name

from egressctl.driver import DeviceState
from egressctl.inventory.models import PortRange
from egressctl.policy import Rule, compute_policy
from tests.support.driver_contract import LabModelContract, lab_site

#: The emulated fw-b's read-back before egressctl touched it (trimmed: uuids and predefined services).
BASELINE = """\
config firewall address
    edit "all"
    next
    edit "none"
        set subnet 0.0.0.0 255.255.255.255
    next
end
config firewall address6
    edit "all"
    next
end
config firewall service custom
    edit "ALL"
        set category "General"
        set protocol IP
    next
    edit "HTTPS"
        set tcp-portrange 443
    next
end
config firewall policy
    edit 1
        set name "lan-to-wan"
        set srcintf "port2"
        set dstintf "port1"
        set action accept
        set srcaddr "all"
        set dstaddr "all"
        set srcaddr6 "all"
        set dstaddr6 "all"
        set schedule "always"
        set service "ALL"
    next
end
"""


class FortiModel:
    """Applies FortiOS lines to a parsed configuration; ``on_change`` sees the policy order after each."""

    def __init__(self, raw: str) -> None:
        self.cfg = parse_config(raw)
        self.section: str | None = None
        self.entry: Entry | None = None
        self.orders: list[list[Entry]] = []

    def _table(self) -> list[Entry]:
        assert self.section is not None
        return self.cfg.sections.setdefault(self.section, [])

    def apply(self, lines: list[str]) -> FortiModel:
        for line in lines:
            tok = shlex.split(line)
            verb = tok[0]
            if verb == "config":
                self.section = " ".join(tok[1:])
            elif verb == "edit":
                found = self.cfg.find(self.section or "", tok[1])
                self.entry = found or Entry(tok[1])
                if found is None:
                    self._table().append(self.entry)
            elif verb == "set":
                assert self.entry is not None
                self.entry.settings[tok[1]] = tok[2:]
            elif verb == "unset":
                assert self.entry is not None
                self.entry.settings.pop(tok[1], None)
            elif verb in ("next", "end"):
                self.entry = None
                if verb == "end":
                    self.section = None
            elif verb == "delete":
                table = self._table()
                table.remove(next(e for e in table if e.key == tok[1]))
            elif verb == "move":
                table = self._table()
                item = next(e for e in table if e.key == tok[1])
                table.remove(item)
                at = next(i for i, e in enumerate(table) if e.key == tok[3])
                table.insert(at + (tok[2] == "after"), item)
            else:
                raise AssertionError(f"unexpected line {line!r}")
            self.orders.append(list(self.cfg.entries(C.SEC_POLICY)))
        return self

    def text(self) -> str:
        out: list[str] = []
        for section, entries in self.cfg.sections.items():
            out.append(f"config {section}")
            for e in entries:
                out.append(f"    edit {e.key if e.key.isdigit() else shlex.quote(e.key)}")
                for k, vs in e.settings.items():
                    out.append(f"        set {k} {' '.join(shlex.quote(v) for v in vs)}")
                out.append("    next")
            out.append("end")
        return "\n".join(out) + "\n"


class TestFortinetContract(LabModelContract):
    model = FortiModel
    driver_cls = FortinetDriver
    device_name = "fw-b"
    baseline = BASELINE

    def parse(self, drv: Any, raw: str) -> DeviceState:
        return device_state(raw)


def _kinds(order: list[Entry]) -> list[str]:
    return [next(iter(C.RULE_TAG_RE.findall(" ".join(e.settings.get("comments", [])))), ("", "site"))[1]
            for e in order]


PATH = ["normal", "isolated", "ministry", "allowlist", "ministry", "isolated", "allowlist", "normal"]


def test_no_intermediate_step_puts_a_deny_above_management() -> None:
    """FortiOS applies every line at once: after *each* line, no deny may precede a management permit."""
    site = lab_site()
    drv = FortinetDriver(site.device("fw-b"))
    raw = BASELINE
    for target in PATH[1:]:
        model = FortiModel(raw).apply(drv.render(compute_policy(site, target), device_state(raw)))
        for order in model.orders:
            kinds = _kinds(order)
            if "deny" in kinds:
                assert "management" not in kinds[kinds.index("deny"):], (target, kinds)
        raw = model.text()
        state = device_state(raw)
        assert state.target == target or (target == "normal" and state.is_normal)
        assert _kinds(model.cfg.entries(C.SEC_POLICY))[-1] == "site", "site policy must stay last"


def test_site_policy_is_never_touched() -> None:
    site = lab_site()
    drv = FortinetDriver(site.device("fw-b"))
    raw = BASELINE
    for target in PATH[1:]:
        lines = drv.render(compute_policy(site, target), device_state(raw))
        assert "edit 1" not in lines and "delete 1" not in lines
        assert not any(ln.startswith("move 1 ") for ln in lines)
        raw = FortiModel(raw).apply(lines).text()
    assert parse_config(raw).find(C.SEC_POLICY, "1") == parse_config(BASELINE).find(C.SEC_POLICY, "1")


def test_policy_names_fit_fortios_limit() -> None:
    long = Rule("stage-" + "x" * 30, "stage", "permit")
    name = policy_name(long)
    assert len(name) <= C.POLICY_NAME_MAX and name.startswith(C.OWNED_PREFIX)
    assert name != policy_name(Rule("stage-" + "x" * 29 + "y", "stage", "permit"))


def test_portrange_with_source_ports() -> None:
    dst, src = parse_portrange(["1-65535:22"])
    assert dst == [] and src == [PortRange(first=22, last=22)]
    dst, src = parse_portrange(["25", "587", "8000-8080"])
    assert [str(p) for p in dst] == ["25", "587", "8000-8080"] and src == []


def test_unknown_marker_when_policies_disagree() -> None:
    site = lab_site()
    drv = FortinetDriver(site.device("fw-b"))
    lines = drv.render(compute_policy(site, "isolated"), device_state(BASELINE))
    raw = FortiModel(BASELINE).apply(lines).text()
    raw = raw.replace("target=isolated", "target=ministry", 1)
    assert device_state(raw).target == "unknown"


@pytest.mark.parametrize("target", ["isolated", "allowlist"])
def test_ipv6_rules_use_address6_objects(target: str) -> None:
    site = lab_site()
    lines = FortinetDriver(site.device("fw-b")).render(compute_policy(site, target), device_state(BASELINE))
    assert "config firewall address6" in lines
    assert "set ip6 2001:db8:c::d53/128" in lines
    assert any(ln.startswith("set dstaddr6 ") for ln in lines)


def test_empty_config_parses_as_normal() -> None:
    assert device_state("").is_normal
    assert FortiConfig().entries(C.SEC_POLICY) == []
