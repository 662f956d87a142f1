"""juniper_junos (SRX) personality driven directly (no SSH): modes, candidate, commit model, errors, nft."""

from __future__ import annotations

import os
import shutil

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane, check
from egressctl_lab.emu.juniper_junos import JunosDevice, create
from egressctl_lab.emu.juniper_junos.cli import JunosSession

SPEC = DeviceSpec(
    name="x1-ce-b", hostname="ce-b", username="admin", password="x1-pw",
    interfaces={"ge-0/0/1.0": "ge-0-0-1", "ge-0/0/0.0": "ge-0-0-0"},
    zones={"trust": ["ge-0/0/1.0"], "untrust": ["ge-0/0/0.0"]},
)
POL = "security policies from-zone trust to-zone untrust policy"
DENY_WEB = [
    "set security address-book global address web 192.0.2.80/32",
    "set applications application x1-http protocol tcp destination-port 80",
    f"set {POL} deny-web match source-address any destination-address web application x1-http",
    f"set {POL} deny-web then deny",
    f"insert {POL} deny-web before policy trust-to-untrust",
]


class Rig:
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.plane = NullDataPlane()
        self.device: JunosDevice = create(SPEC, self.clock, self.plane)
        self.s: JunosSession = self.device.new_session("admin")

    def run(self, *lines: str) -> str:
        return "".join(self.s.handle(line).text for line in lines)


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_prompts_have_trailing_space(rig: Rig) -> None:
    assert rig.s.prompt() == "\nadmin@ce-b> "
    assert rig.run("configure") == "Entering configuration mode\n"
    assert rig.s.prompt() == "\n[edit]\nadmin@ce-b# "


def test_cli_settings_replies(rig: Rig) -> None:
    assert rig.run("set cli screen-width 511") == "Screen width set to 511\n"
    assert rig.run("set cli complete-on-space off") == "Disabling complete-on-space\n"
    assert rig.run("set cli screen-length 0") == "Screen length set to 0\n"


def test_baseline_display_set(rig: Rig) -> None:
    out = rig.run("show configuration | display set")
    assert "set security zones security-zone trust interfaces ge-0/0/1.0\n" in out
    assert f"set {POL} trust-to-untrust then permit\n" in out
    assert rig.run("show configuration system host-name") == "host-name ce-b;\n"


def test_candidate_is_not_active_until_commit(rig: Rig) -> None:
    rig.run("configure", *DENY_WEB)
    assert "deny-web" not in rig.run("run show configuration | display set")
    diff = rig.run("show | compare")
    assert "[edit security address-book global]\n+    address web 192.0.2.80/32;\n" in diff
    applied = len(rig.plane.applied)
    assert rig.run("commit") == "commit complete\n"
    assert len(rig.plane.applied) == applied + 1
    assert rig.run("show | compare") == ""
    active = rig.run("run show configuration security policies | display set")
    assert active.index("policy deny-web") < active.index("policy trust-to-untrust")


def test_policy_order_and_curly_display(rig: Rig) -> None:
    rig.run("configure", *DENY_WEB)
    shown = rig.run("show security policies")
    assert shown.startswith("from-zone trust to-zone untrust {\n    policy deny-web {\n")
    assert "            destination-address web;\n" in shown


def test_syntax_error_with_caret_changes_nothing(rig: Rig) -> None:
    rig.run("configure")
    out = rig.run("set security foo bar")
    assert out == " " * len("admin@ce-b# set security ") + "^\nsyntax error.\n"
    assert not rig.device.dirty()
    assert rig.run("frobnicate") == " " * len("admin@ce-b# ") + "^\nunknown command.\n"


def test_operational_unknown_command(rig: Rig) -> None:
    assert rig.run("frob") == " " * len("admin@ce-b> ") + "^\nunknown command.\n"


def test_checkout_failure_changes_nothing(rig: Rig) -> None:
    rig.run("configure", f"set {POL} broken match source-address nowhere")
    before = rig.device.active
    out = rig.run("commit")
    assert out.endswith("error: configuration check-out failed\n")
    assert "missing mandatory statement" in out
    assert "'source-address nowhere'" in out
    assert rig.device.active is before
    assert rig.run("commit check").endswith("error: configuration check-out failed\n")


def test_commit_check(rig: Rig) -> None:
    rig.run("configure", *DENY_WEB)
    assert rig.run("commit check") == "configuration check succeeds\n"
    assert rig.device.dirty()


def test_commit_confirmed_rolls_back(rig: Rig) -> None:
    rig.run("configure", *DENY_WEB)
    out = rig.run("commit confirmed 2")
    marker = "commit confirmed will be automatically rolled back in 2 minutes unless confirmed\n"
    assert out.startswith(marker)
    assert "commit complete" in out
    assert "# commit confirmed will be rolled back in 2 minutes\n[edit]" in rig.s.prompt()
    assert "drop" in (rig.plane.last or "")
    rig.clock.advance(119)
    assert rig.device.rollbacks == 0
    rig.clock.advance(2)
    assert rig.device.rollbacks == 1
    assert "deny-web" not in rig.run("show | display set")
    assert "192.0.2.80" not in (rig.plane.last or "")
    commits = rig.run("run show system commit")
    assert commits.splitlines()[1].endswith("commit confirmed, rollback in 2mins")



def test_the_dead_mans_rollback_is_a_new_entry_0_of_the_commit_history(rig: Rig) -> None:
    """Junos "loads and commits the previously committed configuration": a commit like any other, so a
    reader comparing the history's head before and after its reads sees it (the driver's read-back does)."""
    rig.run("configure", *DENY_WEB, "commit confirmed 1", "exit")
    pending = rig.run("show system commit").splitlines()
    assert pending[0].startswith("0   ") and pending[0].endswith("commit confirmed, rollback in 1mins")
    rig.clock.advance(61)
    after = rig.run("show system commit").splitlines()
    assert len(after) == len(pending) + 1 and after[1] == "1" + pending[0][1:]
    assert "rollback in" not in after[0]

def test_plain_commit_confirms(rig: Rig) -> None:
    rig.run("configure", *DENY_WEB, "commit confirmed 1", "commit")
    rig.clock.advance(3600)
    assert rig.device.rollbacks == 0
    assert rig.device.confirm is None


def test_rollback_loads_candidate_only(rig: Rig) -> None:
    rig.run("configure", *DENY_WEB, "commit")
    assert rig.run("rollback 1") == "load complete\n"
    assert "-    address web 192.0.2.80/32;" in rig.run("show | compare")
    assert "deny-web" in rig.run("run show configuration | display set")
    assert rig.run("rollback 9").startswith("error:")


def test_exit_with_uncommitted_changes(rig: Rig) -> None:
    rig.run("configure", DENY_WEB[0])
    rig.run("exit configuration-mode")
    assert rig.s.prompt() == "Exit with uncommitted changes? [yes,no] (yes) "
    assert rig.run("yes") == "Exiting configuration mode\n"
    assert rig.s.prompt() == "\nadmin@ce-b> "
    assert rig.run("configure") == (
        "Entering configuration mode\nThe configuration has been changed but not committed\n"
    )


def test_commit_and_quit(rig: Rig) -> None:
    rig.run("configure", DENY_WEB[0])
    assert rig.run("commit and-quit") == "commit complete\nExiting configuration mode\n"
    assert rig.s.prompt() == "\nadmin@ce-b> "


def test_shared_candidate_between_sessions(rig: Rig) -> None:
    rig.run("configure", DENY_WEB[0])
    other = rig.device.new_session("admin")
    other.handle("configure")
    assert "address web" in other.handle("show | compare").text


def test_delete_and_missing_statement(rig: Rig) -> None:
    rig.run("configure")
    assert rig.run(f"delete {POL} trust-to-untrust") == ""
    assert rig.run(f"delete {POL} nothing-here") == "warning: statement not found\n"
    rig.run("commit")
    assert "policy" not in rig.run("show security policies")


def test_match_pipe(rig: Rig) -> None:
    out = rig.run("show configuration | display set | match zones")
    assert out.splitlines() == [
        "set security zones security-zone trust interfaces ge-0/0/1.0",
        "set security zones security-zone untrust interfaces ge-0/0/0.0",
    ]


def test_bad_prefix_refused(rig: Rig) -> None:
    rig.run("configure")
    assert "syntax error." in rig.run("set security address-book global address x 10.0.0.300/8")
    assert not rig.device.dirty()


needs_nft = pytest.mark.skipif(shutil.which("nft") is None or os.geteuid() != 0, reason="needs nft as root")


@pytest.mark.root
@needs_nft
def test_compiled_rulesets_are_valid_nft(rig: Rig) -> None:
    assert check(rig.device.ruleset()) is None
    rig.run(
        "configure", *DENY_WEB,
        "set security address-book global address v6 2001:db8:c::/48",
        "set applications application rng protocol udp destination-port 500-4500",
        f"set {POL} p3 match source-address any-ipv6 destination-address v6 application [ junos-https rng ]",
        f"set {POL} p3 then reject",
        "set security policies default-policy permit-all",
        "commit",
    )
    ruleset = rig.device.ruleset()
    assert check(ruleset) is None, ruleset
    assert "policy accept;" in ruleset
    assert "udp dport 500-4500" in ruleset
