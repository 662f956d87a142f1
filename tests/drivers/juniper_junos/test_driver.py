"""juniper_junos driver: render/parse/golden through the conformance suite, plus policy placement."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
from egressctl_drivers.juniper_junos.driver import JuniperJunosDriver, confirm_minutes
from egressctl_drivers.juniper_junos.parse import foreign_policies, parse_state

from egressctl.driver import DeviceState
from egressctl.policy import compute_policy
from tests.support.driver_contract import LabModelContract, lab_site

CTX = "security policies from-zone trust to-zone untrust"
BASELINE = "\n".join([
    f"set {CTX} policy site-web match source-address any",
    f"set {CTX} policy site-web match destination-address any",
    f"set {CTX} policy site-web match application junos-http",
    f"set {CTX} policy site-web then permit",
    f"set {CTX} policy site-any match source-address any",
    f"set {CTX} policy site-any match destination-address any",
    f"set {CTX} policy site-any match application any",
    f"set {CTX} policy site-any then permit",
])


class JunosModel:
    """``display set`` lines with set/delete/insert applied (test helper, not an emulator)."""

    def __init__(self, raw: str) -> None:
        self.lines = [ln for ln in raw.splitlines() if ln.startswith("set ")]

    def apply(self, lines: list[str]) -> JunosModel:
        for line in lines:
            verb, rest = line.split(" ", 1)
            if verb == "set" and line not in self.lines:
                self.lines.append(line)
            elif verb == "delete":
                gone = f"set {rest}"
                self.lines = [ln for ln in self.lines if ln != gone and not ln.startswith(gone + " ")]
            elif verb == "insert":
                m = re.match(r"^(.*) policy (\S+) before policy (\S+)$", rest)
                assert m
                ctx, mine, before = m.groups()
                moving = [ln for ln in self.lines if ln.startswith(f"set {ctx} policy {mine} ")]
                rest_lines = [ln for ln in self.lines if ln not in moving]
                anchor = f"set {ctx} policy {before} "
                at = next(i for i, ln in enumerate(rest_lines) if ln.startswith(anchor))
                self.lines = rest_lines[:at] + moving + rest_lines[at:]
        return self

    def text(self) -> str:
        return "\n".join(self.lines)


class TestJuniperJunosContract(LabModelContract):
    model = JunosModel
    driver_cls = JuniperJunosDriver
    device_name = "ce-b"
    baseline = BASELINE

    def parse(self, drv: Any, raw: str) -> DeviceState:
        return parse_state(drv.device, raw, pending=False)


def test_owned_policies_come_before_the_site_policies() -> None:
    site = lab_site()
    drv = JuniperJunosDriver(site.device("ce-b"))
    policy = compute_policy(site, "isolated")
    normal = parse_state(drv.device, BASELINE, pending=False)
    raw = JunosModel(BASELINE).apply(drv.render(policy, normal)).text()
    order = list(dict.fromkeys(re.findall(r"policy (\S+)", raw)))
    assert order[-2:] == ["site-web", "site-any"]
    assert all(n.startswith("egressctl-") for n in order[:-2])
    assert foreign_policies(raw)[CTX] == ["site-web", "site-any"]
    # the site's policies are untouched
    assert [ln for ln in raw.splitlines() if "site-" in ln] == BASELINE.splitlines()


def test_policies_after_the_site_ones_are_unknown() -> None:
    site = lab_site()
    drv = JuniperJunosDriver(site.device("ce-b"))
    policy = compute_policy(site, "isolated")
    lines = [ln for ln in drv.render(policy, parse_state(drv.device, BASELINE, pending=False))
             if not ln.startswith("insert")]
    state = parse_state(drv.device, JunosModel(BASELINE).apply(lines).text(), pending=False)
    assert state.target == "unknown"


def test_quoted_description_is_the_marker() -> None:
    site = lab_site()
    drv = JuniperJunosDriver(site.device("ce-b"))
    policy = compute_policy(site, "allowlist")
    lines = drv.render(policy, None)
    desc = next(ln for ln in lines if " description " in ln)
    assert shlex.split(desc)[-1] == f"egressctl target=allowlist fingerprint={policy.fingerprint()}"


@pytest.mark.parametrize(("seconds", "minutes"), [(1, 1), (60, 1), (61, 2), (300, 5)])
def test_confirm_minutes(seconds: int, minutes: int) -> None:
    assert confirm_minutes(seconds) == minutes


# -- full restore: nothing egressctl created is left behind --------------------------------------------------
def _isolated_raw(baseline: str) -> tuple[Any, Any, str]:
    site = lab_site()
    drv = JuniperJunosDriver(site.device("ce-b"))
    normal = parse_state(drv.device, baseline, pending=False)
    raw = JunosModel(baseline).apply(drv.render(compute_policy(site, "isolated"), normal)).text()
    return site, drv, raw


def test_normal_deletes_the_address_book_egressctl_filled_alone() -> None:
    site, drv, raw = _isolated_raw(BASELINE)
    lines = drv.render(compute_policy(site, "normal"), parse_state(drv.device, raw, pending=False))
    assert "delete security address-book global" in lines
    assert not [ln for ln in lines if ln.startswith("delete security address-book global address")]
    assert JunosModel(raw).apply(lines).text() == BASELINE


def test_normal_keeps_a_site_address_book_and_only_removes_egressctls_entries() -> None:
    baseline = BASELINE + "\nset security address-book global address site-web 192.0.2.80/32"
    site, drv, raw = _isolated_raw(baseline)
    lines = drv.render(compute_policy(site, "normal"), parse_state(drv.device, raw, pending=False))
    assert "delete security address-book global" not in lines
    assert all("site-web" not in ln for ln in lines)
    assert JunosModel(raw).apply(lines).text() == baseline


def test_normal_deletes_a_zone_pair_context_holding_only_egressctls_policies() -> None:
    other = "set security policies from-zone dmz to-zone untrust policy site-dmz then permit"
    site, drv, raw = _isolated_raw(other)  # the site has no policy from trust to untrust
    lines = drv.render(compute_policy(site, "normal"), parse_state(drv.device, raw, pending=False))
    assert f"delete {CTX}" in lines
    assert not [ln for ln in lines if ln.startswith(f"delete {CTX} policy")]
    assert JunosModel(raw).apply(lines).text() == other


# -- leftovers of a killed run in the shared candidate -----------------------------------------------------
def test_leftovers_that_are_only_egressctls_objects_are_recognised() -> None:
    from egressctl_drivers.juniper_junos.parse import only_owned_changes

    _, drv, isolated = _isolated_raw(BASELINE)
    dev = drv.device
    assert only_owned_changes(dev, BASELINE, isolated)  # a loaded, uncommitted isolate (with inserts)
    assert only_owned_changes(dev, isolated, BASELINE)  # a loaded, uncommitted restore
    assert only_owned_changes(dev, BASELINE, BASELINE + "\nset security address-book global")
    assert only_owned_changes(dev, BASELINE, "[edit]\n" + isolated + "\n\n{master:0}")
    reordered = "\n".join(reversed(isolated.splitlines()))
    assert not only_owned_changes(dev, isolated, reordered)  # the site's policies changed order
    for foreign in ("set system host-name other", f"set {CTX} policy site-new then permit",
                    "set applications application site-app protocol tcp",
                    "set security address-book global address site-x 192.0.2.1/32",
                    f"deactivate {CTX} policy site-web"):
        assert not only_owned_changes(dev, BASELINE, isolated + "\n" + foreign), foreign
    assert not only_owned_changes(dev, BASELINE, BASELINE.replace("junos-http", "junos-https"))


# -- a read-back the dead-man's rollback splits -----------------------------------------------------------
#: ``show system commit`` while a ``commit confirmed 1`` waits (the shape of the Junos CLI reference's
#: "Rollback Pending" sample: entry, timestamp, user, method, then the pending note; comments indented below).
HISTORY = "\n".join([
    "0   2026-12-03 16:59:30 UTC by admin via cli commit confirmed, rollback in 1mins",
    "1   2026-12-03 16:58:02 UTC by admin via cli",
    "    2 policies added",
    "2   2026-12-03 16:40:11 UTC by root via other",
])
#: The same history once the confirmation did not come: Junos committed the previous configuration back.
ROLLED_BACK = "\n".join([
    "0   2026-12-03 17:00:30 UTC by root via other",
    "1   2026-12-03 16:59:30 UTC by admin via cli commit confirmed, rollback in 1mins",
    "2   2026-12-03 16:58:02 UTC by admin via cli",
    "    2 policies added",
    "3   2026-12-03 16:40:11 UTC by root via other",
])


def test_the_commit_history_head_moves_with_every_commit_the_dead_mans_rollback_included() -> None:
    from egressctl_drivers.juniper_junos.parse import commit_head, pending_in

    assert pending_in(HISTORY) and not pending_in(ROLLED_BACK)
    assert len(commit_head(HISTORY)) == 2 and "    2 policies added" not in commit_head(HISTORY, 3)
    assert commit_head(HISTORY) != commit_head(ROLLED_BACK)
    # the same history read a minute later, should the countdown tick: nothing was committed in between
    assert commit_head(HISTORY) == commit_head(HISTORY.replace("rollback in 1mins", "rollback in 0mins"))
    assert commit_head("") == ()


def test_a_read_back_split_by_a_rollback_does_not_parse() -> None:
    """Policies read before the rollback, address book and applications after it: no parse can make one
    state of that, which is why the driver reads again when the commit history's head moved."""
    from egressctl_drivers.juniper_junos.parse import ParseError

    _, drv, isolated = _isolated_raw(BASELINE)
    policies = "\n".join(ln for ln in isolated.splitlines() if ln.startswith("set security policies"))
    assert parse_state(drv.device, isolated, pending=True).target == "isolated"
    with pytest.raises(ParseError, match="is not in the address book read back"):
        parse_state(drv.device, policies, pending=False)  # the baseline has no address book, no application
