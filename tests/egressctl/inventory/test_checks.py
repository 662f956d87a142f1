"""Checks across a site (exits, canaries, world-wide allows, platforms) and the wording of every problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from egressctl import registry
from egressctl.errors import InventoryError
from egressctl.inventory import Device, load_inventory, parse_inventory

ROOT = Path(__file__).parents[3]
GOOD = ROOT / "tests" / "data" / "good_inventories"
BASE = (GOOD / "base.yaml").read_text()
PYDANTIC_WORDING = ("Input should be", "type=", "For further information", "errors.pydantic.dev",
                    "Value error,", "Assertion failed,", "lax-or-strict", "function-after", "function-plain",
                    "[key]")
WEB_STAGE = """      - name: web
        allow:
          - name: web-out
            destinations: [{dests}]
            protocol: tcp
            ports: [443]
{extra}    devices:
"""


def problems(text: str) -> list[str]:
    with pytest.raises(InventoryError) as info:
        parse_inventory(text, "t.yaml")
    found = [str(p) for p in info.value.problems]
    assert not [w for w in PYDANTIC_WORDING if w in "\n".join(found)], found
    return found


def with_web_stage(dests: str, extra: str = "") -> str:
    return BASE.replace("    devices:\n", WEB_STAGE.format(dests=dests, extra=extra), 1)


def line_of(text: str, fragment: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if fragment in ln)


# --- the shipped inventories -------------------------------------------------------------------------------

SHIPPED = {"lab": ROOT / "inventory" / "lab.yaml",
           "hospital": ROOT / "inventory" / "examples" / "hospital.yaml",
           "base": GOOD / "base.yaml", "merge_defaults": GOOD / "merge_defaults.yaml"}


@pytest.mark.parametrize("path", list(SHIPPED.values()), ids=SHIPPED.keys())
def test_shipped_inventories_load(path: Path) -> None:
    assert load_inventory(path).sites


def test_the_lab_canaries_are_outside_the_site_and_every_allowed_prefix() -> None:
    site = load_inventory(SHIPPED["lab"]).site("lab")
    allowed = [n for f in [*site.always_allowed, *(f for s in site.stages for f in s.allow)]
               for n in f.destinations if n.prefixlen > 3]
    for canary in site.canaries:
        assert not any(canary.address in n for n in site.inside), canary.name
        inside_allowed = [str(n) for n in allowed if canary.address in n]
        assert inside_allowed == ([] if canary.name != "saas" else ["198.18.20.0/24"]), canary.name


# --- world-wide allows -------------------------------------------------------------------------------------

def test_allow_world_makes_the_whole_internet_acceptable() -> None:
    inv = parse_inventory(with_web_stage('0.0.0.0/0, "::/0"', "            allow_world: true\n"))
    flow = inv.sites[0].stages[1].allow[0]
    assert flow.allow_world and [str(d) for d in flow.destinations] == ["0.0.0.0/0", "::/0"]


@pytest.mark.parametrize(("dests", "phrase"), [
    ("0.0.0.0/0", "0.0.0.0/0 opens the whole IPv4 internet"),
    ('"::/0"', "::/0 opens the whole IPv6 internet"),
    ("0.0.0.0/1, 128.0.0.0/1", "0.0.0.0/1, 128.0.0.0/1 open the whole IPv4 internet"),
    ("64.0.0.0/3", "64.0.0.0/3 covers 12.5% of the IPv4 address space, which counts as the whole internet"),
    ('"2000::/3"', "2000::/3 covers 12.5% of the IPv6 address space"),
    ("0.0.0.0/4, 16.0.0.0/4, 203.0.113.0/24",
     "0.0.0.0/4, 16.0.0.0/4, 203.0.113.0/24 cover 12.5% of the IPv4"),
    ('0.0.0.0/0, "::/0"', "0.0.0.0/0 opens the whole IPv4 internet; ::/0 opens the whole IPv6 internet; set "
                          "allow_world: true on this rule if that is intended"),
])
def test_world_wide_allows_need_allow_world(dests: str, phrase: str) -> None:
    text = with_web_stage(dests)
    (problem,) = problems(text)
    assert problem.startswith(f"t.yaml:{line_of(text, 'destinations: [' + dests)}: "
                              "sites[hq].stages[web].allow[web-out].destinations[")
    assert phrase in problem and problem.endswith("; set allow_world: true on this rule if that is intended")


@pytest.mark.parametrize("dests", ["0.0.0.0/4", "17.0.0.0/8", '"2001:db8::/32"',
                                   "32.0.0.0/4, 203.0.113.0/24"])
def test_large_but_not_world_wide_allows_are_accepted(dests: str) -> None:
    assert parse_inventory(with_web_stage(dests)).sites[0].stages[1].allow[0].allow_world is False


# --- canaries ----------------------------------------------------------------------------------------------

def test_a_canary_inside_a_world_wide_allow_is_not_blamed_for_it() -> None:
    text = with_web_stage("0.0.0.0/0", "            allow_world: true\n")
    assert parse_inventory(text).sites[0].canaries[0].name == "web"


def test_in_allowed_prefix_accepts_a_deliberate_canary_and_refuses_a_stale_flag() -> None:
    vpn = "      - name: vpn\n        address: 203.0.113.20\n        in_allowed_prefix: true\n"
    text = BASE.replace("    captures:\n", vpn + "    captures:\n")
    assert parse_inventory(text).sites[0].canaries[1].in_allowed_prefix
    stale = text.replace("address: 203.0.113.20", "address: 198.51.100.7")
    where = f"t.yaml:{line_of(stale, 'in_allowed_prefix')}: sites[hq].canaries[vpn].in_allowed_prefix"
    assert problems(stale) == [f"{where}: in_allowed_prefix is set but canary 198.51.100.7 is not inside any "
                               "allowed prefix"]


def test_a_canary_inside_a_stage_allow() -> None:
    vpn = "      - name: vpn\n        address: 203.0.113.20\n"
    text = BASE.replace("    captures:\n", vpn + "    captures:\n")
    flag = "        in_allowed_prefix: true\n"
    flagged = text.replace("address: 203.0.113.20\n", "address: 203.0.113.20\n" + flag)
    assert parse_inventory(flagged).sites[0].canaries[1].name == "vpn"
    where = f"t.yaml:{line_of(text, 'address: 203.0.113.20')}: sites[hq].canaries[vpn].address"
    (problem,) = problems(text)
    assert problem.startswith(f"{where}: canary 203.0.113.20 is inside allowed prefix 203.0.113.20/32 "
                              "(stage ministry, flow ministry-vpn), so it cannot prove the cut")


def test_an_ipv6_canary_inside_the_site() -> None:
    text = BASE.replace("address: 192.0.2.80", 'address: "fd10:0:1::80"')
    where = f"t.yaml:{line_of(text, 'fd10:0:1::80')}: sites[hq].canaries[web].address"
    assert problems(text) == [f"{where}: canary fd10:0:1::80 is inside the site (inside prefix fd10::/32); a "
                              "canary must be an outside address that the cut blocks"]


# --- exits and platforms -----------------------------------------------------------------------------------

def test_exits_are_not_checked_against_a_device_that_lacks_one() -> None:
    text = BASE.replace("        exit: backup\n", "")
    assert [p.split(": ")[1] for p in problems(text)] == ["sites[hq].devices[fw2].exit"]


def test_platform_check_lives_in_the_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_registry() -> dict[str, str]:
        raise AssertionError("validating data must not scan the driver registry")

    monkeypatch.setattr(registry, "platforms", no_registry)
    device = Device.model_validate({
        "name": "fw9", "platform": "cisco_nxos", "host": "192.0.2.9", "username": "admin",
        "credential": "env:X", "host_key": "known_hosts:/etc/ssh/known", "inside": ["a"], "outside": ["b"],
        "exit": "primary", "mgmt_address": "10.0.0.9"})
    assert device.platform == "cisco_nxos"  # the model checks the shape only
    assert "egressctl.registry" not in (ROOT / "egressctl" / "inventory" / "models.py").read_text()


@pytest.mark.parametrize("module", ["egressctl.driver", "egressctl.policy", "egressctl.registry",
                                    "egressctl.inventory.models", "egressctl.inventory"])
def test_no_import_circle_through_the_registry(module: str) -> None:
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)


def test_plugin_platforms_are_known_to_the_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    text = BASE.replace("platform: cisco_ios", "platform: acme_os")
    expected = "unknown platform 'acme_os'; expected one of: arista_eos, cisco_asa, cisco_ios, fortinet"
    assert expected in problems(text)[0]
    monkeypatch.setattr(registry, "platforms", lambda: {**registry.BUILTIN, "acme_os": "acme.driver:Acme"})
    assert parse_inventory(text).sites[0].devices[1].platform == "acme_os"


# --- every problem at once, in plain words -----------------------------------------------------------------

def test_every_kind_of_problem_is_reported_together_in_line_order() -> None:
    text = (BASE.replace("    management:\n", "    management: []\n    management:\n", 1)
            .replace("platform: cisco_ios", "platform: cisco_nxos")
            .replace("netns: ws1", "netns: ws1\n        exit: nowhere")
            .replace("destinations: [203.0.113.20/32]", "destinations: [0.0.0.0/0]"))
    found = problems(text)
    lines = [int(p.split(":")[1]) for p in found]
    assert lines == sorted(lines)
    assert [p.split(": ")[1] for p in found] == [
        "sites[hq].management",
        "sites[hq].management",
        "sites[hq].stages[ministry].allow[ministry-vpn].destinations[0]",
        "sites[hq].devices[fw2].platform",
        "sites[hq].vantage_points[ws1].exit",
    ]
    assert found[0].endswith("needs at least 1 item") and "duplicate key 'management'" in found[1]


DEV_END = "        exit: primary\n        mgmt"
CANARY = "    canaries:\n      - name: web\n"
VPN = "          - name: ministry-vpn\n"


def on_fw1(line: str) -> str:
    return f"        exit: primary\n        {line}\n        mgmt"


@pytest.mark.parametrize(("old", "new", "message"), [
    ("mgmt_address: 10.99.0.1", "mgmt_address: 10.99.0.256", "'10.99.0.256' is not a valid IP address"),
    ("mgmt_address: 10.99.0.1", "mgmt_address: 167772161", "expected an IP address such as 10.0.0.1"),
    ("addresses: [10.10.1.11]", "addresses: [10.10.1.11, nope]", "'nope' is not a valid IP address"),
    ("address: 192.0.2.80", "address: [192.0.2.80]", "expected an IP address"),
    (DEV_END, on_fw1("port: http"), "expected a whole number, got text"),
    (DEV_END, on_fw1("port: 0"), "must be at least 1"),
    ("name: fw1", "name: 42", "expected text, got a number"),
    ("name: fw1", "name: [fw1]", "expected text, got a list"),
    ("inside: [lan0]", "inside: lan0", "expected a list, got text"),
    ("inside: [lan0]", "inside: []", "needs at least 1 item"),
    ("protocol: udp\n        ports: [53]", "protocol: sctp\n        ports: [53]", "expected 'any', 'tcp'"),
    ("version: 1", "version: 2", "unsupported inventory version (expected 1)"),
    ("sites:\n", "sites: 3\nx:\n", "expected a list, got a number"),
    ("    devices:\n      - name: fw1", "    devices:\n      - fw1\n      - name: fw1", "expected a mapping"),
    (DEV_END, on_fw1("options: {vdom: [1]}"), "expected a whole number or text, got a list"),
    (DEV_END, on_fw1("options: {bad name: 1}"), "'bad name' is not a safe name"),
    (CANARY, CANARY + "        icmp: maybe\n", "expected true or false, got text"),
    (VPN, VPN + "            allow_world: sometimes\n", "expected true or false, got text"),
])
def test_messages_are_in_plain_words(old: str, new: str, message: str) -> None:
    assert old in BASE
    text = BASE.replace(old, new, 1)
    found = problems(text)
    assert any(message in p for p in found), found
