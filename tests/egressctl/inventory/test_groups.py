"""Site groups (an estate): a typo in a group's site list is refused with its line, never skipped."""

from __future__ import annotations

import pytest

from egressctl.errors import InventoryError
from egressctl.inventory.loader import parse_inventory
from tests.support.engine_double import inventory_yaml


def _with_groups(groups: str) -> str:
    return inventory_yaml(devices=1) + groups


def test_group_of_known_sites_loads() -> None:
    text = _with_groups("groups:\n  - name: chu\n    description: the group\n    sites: [hq]\n")
    inv = parse_inventory(text)
    assert inv.group("chu").sites == ["hq"]
    with pytest.raises(KeyError, match="no group 'nope'; known: chu"):
        inv.group("nope")


def test_inventory_without_groups_has_none() -> None:
    assert parse_inventory(inventory_yaml(devices=1)).groups == []


def test_unknown_site_refused_with_its_line() -> None:
    text = _with_groups("groups:\n  - name: chu\n    sites:\n      - hq\n      - hq2\n")
    line = text.splitlines().index("      - hq2") + 1
    with pytest.raises(InventoryError) as exc:
        parse_inventory(text, "inv.yaml")
    [problem] = exc.value.problems
    assert (problem.file, problem.line) == ("inv.yaml", line)
    assert "groups[0].sites[1]" in problem.field or "chu" in problem.field
    assert "'hq2' is not a site of this file (known: hq)" in problem.message


def test_site_twice_and_group_twice_refused() -> None:
    text = _with_groups("groups:\n  - name: chu\n    sites: [hq, hq]\n  - name: chu\n    sites: [hq]\n")
    with pytest.raises(InventoryError) as exc:
        parse_inventory(text, "inv.yaml")
    messages = " | ".join(p.message for p in exc.value.problems)
    assert "'hq' is listed twice" in messages
    assert "duplicate group name(s): chu" in messages
