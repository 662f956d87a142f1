"""Inventory validation of the switch role (role, switch: mode/svis/uplinks/mgmt_interface): each problem
names the file, the line and the field, in egressctl's words."""

from __future__ import annotations

from pathlib import Path

import pytest

from egressctl.errors import InventoryError
from egressctl.inventory import parse_inventory

BASE = (Path(__file__).parents[2] / "data" / "good_inventories" / "base.yaml").read_text()
FW2 = "        exit: backup\n        mgmt_address: 10.99.0.2\n"
SW = "        role: switch\n        switch:\n"


def with_fw2(extra: str) -> str:
    assert BASE.count(FW2) == 1
    return BASE.replace(FW2, FW2 + extra, 1)


def problems(text: str) -> list[str]:
    with pytest.raises(InventoryError) as info:
        parse_inventory(text, "t.yaml")
    found = [str(p) for p in info.value.problems]
    assert not [w for w in ("Input should be", "Value error,", "errors.pydantic.dev") if w in "".join(found)]
    return found


def line_of(text: str, fragment: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if fragment in ln)


def test_a_switch_loads() -> None:
    text = with_fw2(SW + "          mode: shutdown-uplink\n"
                    "          uplinks: [GigabitEthernet1/0/48]\n"
                    "          mgmt_interface: GigabitEthernet0/0\n")
    dev = parse_inventory(text, "t.yaml").site("hq").device("fw2")
    assert dev.role == "switch" and dev.switch is not None and dev.switch.mode == "shutdown-uplink"
    assert parse_inventory(BASE, "t.yaml").site("hq").device("fw2").role == "router"


@pytest.mark.parametrize(("extra", "where", "words"), [
    ("        role: switch\n", "name: fw2", "sites[hq].devices[fw2]: role switch needs switch settings"),
    ("        switch:\n          svis: [Vlan10]\n", "name: fw2",
     "sites[hq].devices[fw2]: switch settings need role: switch"),
    (SW + "          svis: [Vlan10, Gi1/0/1]\n", "svis:",
     "sites[hq].devices[fw2].switch.svis: 'Gi1/0/1' is not an SVI name: VlanN with N a VLAN ID 1-4094"),
    (SW + "          svis: [Vlan4095]\n", "svis:",
     "sites[hq].devices[fw2].switch.svis: 'Vlan4095' is not an SVI name"),
    (SW + "          mode: acl\n", "switch:",
     "sites[hq].devices[fw2].switch: mode acl needs svis or uplinks"),
    (SW + "          mode: shutdown-uplink\n          uplinks: [Gi1/0/48]\n",
     "switch:", "sites[hq].devices[fw2].switch: mode shutdown-uplink needs mgmt_interface"),
    (SW + "          mode: shutdown-uplink\n          svis: [Vlan10]\n",
     "switch:", "sites[hq].devices[fw2].switch: mode shutdown-uplink needs the uplinks to shut"),
    (SW + "          mode: cut\n          uplinks: [Gi1/0/48]\n", "mode: cut",
     "sites[hq].devices[fw2].switch.mode"),
    ("        role: firewall\n", "role: firewall", "sites[hq].devices[fw2].role"),
])
def test_switch_settings_errors_name_file_line_and_field(extra: str, where: str, words: str) -> None:
    text = with_fw2(extra)
    found = problems(text)
    assert any(p.startswith(f"t.yaml:{line_of(text, where)}: ") and words in p for p in found), found
