"""paloalto_panos driver: render/parse/golden through the conformance suite, plus the commit guard.

``PanModel`` is a test helper (not an emulator): it applies configure-mode ``set``/``delete``/``move``
lines to the parsed ``show`` text so the pure render can be checked without a session. The real CLI is
exercised in tests/drivers/paloalto_panos/test_driver_lab.py.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from egressctl_drivers.paloalto_panos import constants as C
from egressctl_drivers.paloalto_panos.driver import PaloAltoPanosDriver
from egressctl_drivers.paloalto_panos.parse import PanConfig, PanService, device_state, parse_config
from egressctl_drivers.paloalto_panos.render import management_problems

from egressctl.driver import DeviceState
from egressctl.policy import Policy, compute_policy, equivalent
from tests.support.driver_contract import LabModelContract, lab_site

#: The emulated fw-a's read-back before egressctl touched it (``show config running``, set form).
BASELINE = """\
set zone trust network layer3 ethernet1/2
set zone untrust network layer3 ethernet1/1
set rulebase security rules allow-outbound from trust
set rulebase security rules allow-outbound to untrust
set rulebase security rules allow-outbound source any
set rulebase security rules allow-outbound destination any
set rulebase security rules allow-outbound source-user any
set rulebase security rules allow-outbound category any
set rulebase security rules allow-outbound application any
set rulebase security rules allow-outbound service any
set rulebase security rules allow-outbound action allow
"""

BRACES = """\
address {
  egressctl-203.0.113.10-32 {
    ip-netmask 203.0.113.10/32;
  }
}
service {
  egressctl-always-cert-vpn {
    protocol {
      udp {
        port 500,4500;
      }
    }
  }
}
rulebase {
  security {
    rules {
      egressctl-always-cert-vpn {
        from trust;
        to untrust;
        source any;
        destination egressctl-203.0.113.10-32;
        application any;
        service egressctl-always-cert-vpn;
        action allow;
        description "egressctl target=isolated fingerprint=0123456789ab rule=always-cert-vpn kind=always";
      }
    }
  }
}
"""


class PanModel:
    """Applies PAN-OS configure-mode lines to a parsed configuration and prints it in set form."""

    def __init__(self, raw: str) -> None:
        self.cfg = parse_config(raw)

    def apply(self, lines: list[str]) -> PanModel:
        from egressctl_drivers.paloalto_panos.parse import _apply, _tokens

        for line in lines:
            tok = _tokens(line)
            if tok[0] == "set":
                if tok[1:4] == ["rulebase", "security", "rules"] and tok[5] in ("from", "to", "source",
                                                                               "destination", "service"):
                    old = self.cfg.rules.get(tok[4], {}).get(tok[5], [])
                    assert not old, f"set would add to an existing member list: {line}"
                _apply(self.cfg, tok[1:])
            elif tok[0] == "delete":
                if tok[1:4] == ["rulebase", "security", "rules"]:
                    del self.cfg.rules[tok[4]]
                else:
                    del {"address": self.cfg.addresses, "service": self.cfg.services}[tok[1]][tok[2]]
            elif tok[0] == "move":
                name, where = tok[4], tok[5]
                order = [n for n in self.cfg.rules if n != name]
                at = 0 if where == "top" else order.index(tok[6]) + (where == "after")
                order.insert(at, name)
                self.cfg.rules = {n: self.cfg.rules[n] for n in order}
            else:
                raise AssertionError(f"unexpected line {line!r}")
        return self

    def text(self) -> str:
        out = [f"set address {n} ip-netmask {v}" for n, v in self.cfg.addresses.items()]
        for n, s in self.cfg.services.items():
            out.append(f"set service {n} protocol {s.protocol} port {','.join(s.port)}")
            if s.source_port:
                out.append(f"set service {n} protocol {s.protocol} source-port {','.join(s.source_port)}")
        for n, fields in self.cfg.rules.items():
            for k, v in fields.items():
                val = f'"{v[0]}"' if k == "description" else (v[0] if len(v) == 1 else f"[ {' '.join(v)} ]")
                out.append(f"set rulebase security rules {n} {k} {val}")
        return "\n".join(out) + "\n"


class TestPanosContract(LabModelContract):
    model = PanModel
    driver_cls = PaloAltoPanosDriver
    device_name = "fw-a"
    baseline = BASELINE

    def parse(self, drv: Any, raw: str) -> DeviceState:
        return device_state(raw)


def _candidate(target: str, *, strip_management: bool = False) -> tuple[Policy, PanConfig]:
    site = lab_site()
    drv = PaloAltoPanosDriver(site.device("fw-a"))
    policy = compute_policy(site, target)
    if strip_management:
        policy = Policy(policy.site, policy.target, tuple(r for r in policy.rules if r.kind != "management"))
    lines = drv.render(policy, device_state(BASELINE))
    return policy, PanModel(BASELINE).apply(lines).cfg


def test_guard_proves_the_management_path() -> None:
    site = lab_site()
    for target in ("isolated", "ministry", "allowlist"):
        policy, cfg = _candidate(target)
        assert management_problems(site.device("fw-a"), policy, cfg) == []


def test_guard_refuses_a_candidate_without_management_rules() -> None:
    site = lab_site()
    policy, cfg = _candidate("isolated", strip_management=True)
    problems = management_problems(site.device("fw-a"), policy, cfg)
    assert problems and "ssh to 10.99.0.1" in problems[0]
    # Judged against the full policy too: its management atoms are missing above the deny.
    full = compute_policy(site, "isolated")
    assert any("management atom" in p for p in management_problems(site.device("fw-a"), full, cfg))


def test_guard_sees_a_deny_moved_above_management() -> None:
    site = lab_site()
    policy, cfg = _candidate("isolated")
    order = list(cfg.rules)
    deny = "egressctl-deny-egress"
    cfg.rules = {n: cfg.rules[n] for n in [deny, *[n for n in order if n != deny]]}
    assert management_problems(site.device("fw-a"), policy, cfg)


def test_site_rule_is_never_touched_and_stays_last() -> None:
    site = lab_site()
    drv = PaloAltoPanosDriver(site.device("fw-a"))
    raw = BASELINE
    for target in ["isolated", "ministry", "allowlist", "isolated", "normal"]:
        lines = drv.render(compute_policy(site, target), device_state(raw))
        assert not any("allow-outbound" in ln for ln in lines)
        raw = PanModel(raw).apply(lines).text()
        assert list(parse_config(raw).rules)[-1] == "allow-outbound"
    assert parse_config(raw) == parse_config(BASELINE)


def test_only_descriptions_change_when_rules_are_kept() -> None:
    site = lab_site()
    drv = PaloAltoPanosDriver(site.device("fw-a"))
    first = drv.render(compute_policy(site, "isolated"), device_state(BASELINE))
    raw = PanModel(BASELINE).apply(first).text()
    lines = drv.render(compute_policy(site, "ministry"), device_state(raw))
    kept = [ln for ln in lines if "egressctl-mgmt-ops-ssh " in ln]
    assert kept and all(" description " in ln for ln in kept)


def test_brace_form_parses_like_set_form() -> None:
    cfg = parse_config(BRACES)
    assert cfg.addresses == {"egressctl-203.0.113.10-32": "203.0.113.10/32"}
    assert cfg.services["egressctl-always-cert-vpn"] == PanService("udp", ["500", "4500"], [])
    state = device_state(BRACES)
    assert state.target == "isolated" and state.fingerprint == "0123456789ab"
    want = [r for r in compute_policy(lab_site(), "isolated").rules if r.name == "always-cert-vpn"]
    assert equivalent(state.rules, want)


def test_source_ports_and_icmp_render() -> None:
    site = lab_site()
    drv = PaloAltoPanosDriver(site.device("fw-a"))
    lines = drv.render(compute_policy(site, "isolated"), None)
    assert "set service egressctl-mgmt-ops-ssh-re protocol tcp port 1-65535 source-port 22" in lines
    icmp = dataclasses.replace(compute_policy(site, "isolated").rules[-1], name="ping", kind="always",
                               action="permit", protocol="icmp")
    out = drv.render(Policy("lab", "x", (icmp,)), None)
    assert f"set {C.RULES_PATH} egressctl-ping application [ icmp ipv6-icmp ]" in out
