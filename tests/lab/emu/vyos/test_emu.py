"""The VyOS personality in memory: modes, generic tree, commit-confirm (reload / reboot), nft, conntrack."""

from __future__ import annotations

import os
import shutil

import pytest
from egressctl_lab.emu.base import DeviceSpec
from egressctl_lab.emu.clock import ManualClock
from egressctl_lab.emu.dataplane import NullDataPlane, check
from egressctl_lab.emu.sessions import Flow
from egressctl_lab.emu.vyos import VyosDevice, create
from egressctl_lab.emu.vyos.cli import VyosSession

SPEC = DeviceSpec(name="vy", hostname="vy-a", username="vyos", password="unused-h10",
                  interfaces={"eth0": "e0", "eth1": "e1"}, options={"version": "1.5-rolling-202501010000"})
CHAIN = ["set firewall ipv4 name T default-action 'drop'",
         "set firewall ipv4 name T rule 10 action 'return'",
         "set firewall ipv4 name T rule 10 protocol 'tcp'",
         "set firewall ipv4 name T rule 10 destination port '443,8000-8080'",
         "set firewall ipv4 forward filter rule 1 action 'jump'",
         "set firewall ipv4 forward filter rule 1 jump-target 'T'",
         "set firewall ipv4 forward filter rule 1 outbound-interface name 'eth0'"]


Made = tuple[VyosDevice, VyosSession, ManualClock, NullDataPlane]


def make(version: str = "1.5-rolling-202501010000") -> Made:
    clock, plane = ManualClock(), NullDataPlane()
    spec = DeviceSpec(name=SPEC.name, hostname=SPEC.hostname, username=SPEC.username, password=SPEC.password,
                      interfaces=SPEC.interfaces, options={"version": version, "boot_seconds": "90"})
    dev = create(spec, clock, plane)
    return dev, dev.new_session("vyos"), clock, plane


def run(cli: VyosSession, *lines: str) -> str:
    return "".join(cli.handle(ln).text for ln in lines)


def test_prompts_and_terminal_commands_netmiko_sends() -> None:
    _, cli, _, _ = make()
    assert cli.prompt() == "vyos@vy-a:~$ "
    assert run(cli, "set terminal width 512", "set terminal length 0") == ""
    run(cli, "configure")
    assert cli.prompt() == "[edit]\nvyos@vy-a# "


def test_lines_egressctl_never_sends_are_stored_shown_saved_and_removed() -> None:
    dev, cli, _, _ = make()
    out = run(cli, "configure", "set system syslog global facility all level 'info'",
              "set interfaces ethernet eth1 address '10.10.1.3/24'",
              "set interfaces ethernet eth1 address 'fd10:0:1::3/64'",
              "set protocols static route 0.0.0.0/0 next-hop 192.0.2.254", "set service ssh port '22'",
              "commit", "save")
    assert "failed" not in out and "Done" in out, out
    shown = run(cli, "run show configuration commands")
    for line in ("set system syslog global facility all level 'info'",
                 "set interfaces ethernet eth1 address '10.10.1.3/24'",
                 "set interfaces ethernet eth1 address 'fd10:0:1::3/64'",
                 "set protocols static route 0.0.0.0/0 next-hop 192.0.2.254"):  # a tag node's name
        assert line in shown, line
    braces = run(cli, "run show configuration")
    assert "    static {\n        route 0.0.0.0/0 {\n            next-hop 192.0.2.254\n" in braces, braces
    assert dev.saved == dev.active
    run(cli, "delete system syslog", "commit")
    assert "syslog" not in run(cli, "run show configuration commands")
    assert "syslog" in run(cli, "compare saved")


def test_refusals_change_nothing_and_carry_vyos_words() -> None:
    dev, cli, _, _ = make()
    before = run(cli, "show configuration commands")
    out = run(cli, "configure", "set nosuch thing", "set firewall ipv4 name T rule 10 action 'bogus'",
              "set firewall ipv4 forward filter rule 5 source address '2001:db8::/32'",
              "delete firewall ipv4 name NOPE")
    assert "Configuration path: [nosuch] is not valid" in out and "Set failed" in out
    assert "Value validation failed" in out and "Delete failed" in out
    assert run(cli, "commit") == "No configuration changes to commit\n"
    run(cli, "set firewall ipv4 forward filter rule 1 action 'jump'",
        "set firewall ipv4 forward filter rule 1 jump-target 'MISSING'")
    assert "Commit failed" in run(cli, "commit")
    assert run(cli, "exit").startswith("Cannot exit: configuration modified.")
    run(cli, "exit discard")
    assert run(cli, "show configuration commands") == before and dev.revisions == []


def test_commit_confirm_reload_goes_back_in_place() -> None:
    dev, cli, clock, plane = make()
    run(cli, "configure", "set system config-management commit-confirm action 'reload'", "commit", *CHAIN)
    assert "Proceed? [confirm]" in run(cli, "commit-confirm 2")
    assert "2 minutes to confirm before reload" in run(cli, "y")
    assert "jump n4_T" in (plane.last or "") and dev.confirm_pending
    assert run(cli, "commit-confirm 2") == "Another confirm is pending\n"
    assert run(cli, "run ls /var/run/confirm.job") == "/var/run/confirm.job\n"
    clock.advance(121)
    assert dev.reloads == 1 and dev.reboots == 0 and "jump" not in (plane.last or "")
    assert run(cli, "confirm") == "No confirm pending\n"
    assert "action reload" in run(cli, "run show configuration")


def test_commit_confirm_on_14_reboots_to_the_saved_configuration() -> None:
    dev, cli, clock, plane = make("1.4.0")
    out = run(cli, "configure", "set system config-management commit-confirm action 'reload'")
    assert "is not valid" in out, "1.4 has no reload action"
    plane.sessions.entries.append(Flow(1, 4, "tcp", "10.10.1.11", "192.0.2.80", 40000, 80, "ESTABLISHED"))
    run(cli, *CHAIN, "commit-confirm 1")
    assert "1 minutes to confirm before reboot" in run(cli, "")
    clock.advance(61)
    assert dev.reboots == 1 and dev.booting and not plane.sessions.entries
    assert "policy accept" in (plane.last or "") and "counter drop" in (plane.last or "")
    assert cli.handle("show version").close, "the session died with the reboot"
    late = dev.new_session("vyos")
    assert late.banner() == "" and late.handle("").close, "no login while it boots"
    clock.advance(90)
    assert not dev.booting and dev.active == dev.saved and "jump" not in (plane.last or "")


def test_confirm_keeps_the_change_and_save_writes_the_active_config() -> None:
    dev, cli, clock, _ = make()
    run(cli, "configure", *CHAIN, "commit-confirm 1", "y")
    assert run(cli, "confirm") == "Reboot timer stopped\n"
    clock.advance(600)
    assert "jump-target 'T'" in run(cli, "run show configuration commands") and dev.reboots == 0
    assert "Saving configuration to '/config/config.boot'...\nDone" in run(cli, "save")


def test_conntrack_listed_deleted_and_reset() -> None:
    _, cli, _, plane = make()
    plane.sessions.entries += [Flow(7, 4, "tcp", "10.10.1.11", "192.0.2.80", 40000, 8080, "ESTABLISHED"),
                               Flow(8, 4, "udp", "10.10.1.11", "192.0.2.53", 5353, 53)]
    listed = run(cli, "sudo conntrack -L -o extended -f ipv4 -s 10.10.0.0/16")
    assert "src=10.10.1.11 dst=192.0.2.80 sport=40000 dport=8080" in listed and "2 flow entries" in listed
    assert "192.0.2.80:8080" in run(cli, "show conntrack table ipv4")
    out = run(cli, "sudo conntrack -D -f ipv4 -p tcp -s 10.10.1.11 -d 192.0.2.80 --sport 40000 --dport 8080")
    assert "1 flow entries have been deleted" in out and len(plane.sessions.entries) == 1
    assert "Continue? [y/N]" in run(cli, "reset conntrack")
    run(cli, "y")
    assert plane.sessions.entries == []


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nft")
def test_compiled_ruleset_is_valid_nft() -> None:
    _dev, cli, _, plane = make()
    run(cli, "configure", *CHAIN, "set firewall ipv6 name T6 default-action 'drop'",
        "set firewall ipv6 name T6 rule 10 action 'return'",
        "set firewall ipv6 name T6 rule 10 protocol 'ipv6-icmp'",
        "set firewall ipv6 name T6 rule 20 action 'return'",
        "set firewall ipv6 name T6 rule 20 protocol 'udp'",
        "set firewall ipv6 name T6 rule 20 source address 'fd10::/32'",
        "set firewall ipv6 name T6 rule 20 destination port '53'",
        "set firewall ipv6 forward filter rule 1 action 'jump'",
        "set firewall ipv6 forward filter rule 1 jump-target 'T6'",
        "set firewall ipv6 forward filter rule 1 outbound-interface name 'eth0'", "commit")
    assert plane.last is not None and check(plane.last) is None, plane.last


def test_show_interfaces_parses_with_ntc_templates() -> None:
    parse = pytest.importorskip("ntc_templates.parse").parse_output
    _, cli, _, _ = make("1.3.8")
    run(cli, "configure", "set interfaces ethernet eth1 address '10.10.1.3/24'",
        "set interfaces ethernet eth1 description 'LAN'", "commit", "exit")
    rows = parse(platform="vyatta_vyos", command="show interfaces", data=run(cli, "show interfaces"))
    assert [(r["interface"], r["ip_address"], r["status"]) for r in rows] == [
        ("eth0", ["-"], "u/u"), ("eth1", ["10.10.1.3/24"], "u/u")]
    assert rows[1]["description"] == "LAN"
    assert "Version:          VyOS 1.3.8" in run(cli, "show version")


def test_edit_levels_prefix_set_show_and_delete() -> None:
    _, cli, _, _ = make()
    run(cli, "configure", "edit firewall ipv4 name T")
    assert cli.prompt() == "[edit firewall ipv4 name T]\nvyos@vy-a# "
    run(cli, "set default-action 'drop'", "set rule 10 action 'return'")
    assert run(cli, "show") == "default-action drop\nrule 10 {\n    action return\n}\n"
    run(cli, "up")
    assert cli.prompt() == "[edit firewall ipv4 name]\nvyos@vy-a# "
    run(cli, "top", "commit")
    assert cli.prompt() == "[edit]\nvyos@vy-a# "
    assert "set firewall ipv4 name T rule 10 action 'return'" in run(cli, "run show configuration commands")
    run(cli, "edit firewall ipv4 name T", "delete rule 10", "exit")
    assert cli.prompt() == "[edit firewall ipv4 name]\nvyos@vy-a# "
