"""Whose is the shared PAN-OS candidate (issue 14, H3): egressctl's own uncommitted lines or anyone else's.

Pure: ``show config`` texts in set form, as the driver reads them, compared by
:func:`egressctl_drivers.paloalto_panos.candidate.compare`.
"""

from __future__ import annotations

from egressctl_drivers.paloalto_panos.candidate import compare

BASE = """\
set zone trust network layer3 ethernet1/2
set rulebase security rules allow-outbound from trust
set rulebase security rules allow-outbound action allow
set rulebase security rules other-rule from trust
set rulebase security rules other-rule action deny"""
RULE = ('set rulebase security rules egressctl-deny-all description "egressctl target={t} '
        'fingerprint=0123456789ab op={op} owner=alice@laptop rule=deny-all kind=deny"')
OWNED = "set address egressctl-192.0.2.0-24 ip-netmask 192.0.2.0/24\n" + RULE


def cfg(*extra: str) -> str:
    return "\n".join([BASE, *extra])


def test_nothing_uncommitted() -> None:
    c = compare(cfg(), cfg())
    assert c.empty and not c.foreign and not c.ours


def test_an_administrators_edit_is_foreign_and_named() -> None:
    c = compare(cfg(), cfg("set address someone-else ip-netmask 198.51.100.7/32"))
    assert c.foreign == ("+set address someone-else ip-netmask 198.51.100.7/32",) and not c.ours
    assert "someone-else" in c.describe() and "did not load" in c.describe()


def test_egressctls_own_stamped_change_is_ours() -> None:
    c = compare(cfg(), cfg(OWNED.format(t="isolated", op="20261203-101010-aaaaaa")))
    assert c.ours and not c.foreign and not c.outside


def test_a_restore_to_normal_removes_every_owned_object_and_is_ours() -> None:
    c = compare(cfg(OWNED.format(t="isolated", op="20261203-101010-aaaaaa")), cfg())
    assert c.ours and not c.foreign


def test_owned_objects_edited_under_the_running_stamp_are_a_hand_edit() -> None:
    running = cfg(OWNED.format(t="isolated", op="20261203-101010-aaaaaa"))
    edited = running.replace("192.0.2.0/24", "192.0.2.0/25")
    c = compare(running, edited)
    assert not c.ours and c.foreign and not c.outside


def test_ours_plus_someone_elses_line_is_foreign() -> None:
    c = compare(cfg(), cfg(OWNED.format(t="isolated", op="20261203-101010-aaaaaa"),
                           "set address someone-else ip-netmask 198.51.100.7/32"))
    assert not c.ours and c.outside == ("+set address someone-else ip-netmask 198.51.100.7/32",)


def test_a_moved_foreign_rule_is_a_change_outside_egressctls_objects() -> None:
    moved = cfg().splitlines()
    moved = [moved[0], *moved[3:], *moved[1:3]]  # other-rule above allow-outbound
    c = compare(cfg(), "\n".join(moved))
    assert c.outside and not c.ours
