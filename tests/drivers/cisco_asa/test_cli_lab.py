"""``egressctl isolate`` / ``restore --stage`` / ``restore --full`` on an emulated ASA, by the CLI.

The whole product path (inventory, planner, executor with its read-back and fresh-session management check,
journal, ``clear conn`` of denied connections, the save after the confirmation) against the ASA emulator
served on loopback (port 27831, helper range 27800-27849), no data plane: the packets are proven by
``test_isolation_lab.py``. No ``revert_host`` here, so the plan names the controller's watchdog.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from egressctl_lab.testing.emulator import available

from tests.support.emulator_cli import CliRig, cli_rig, is_cut, operation_steps

pytestmark = [pytest.mark.ssh, pytest.mark.slow,
              pytest.mark.skipif(not available("cisco_asa"), reason="cisco_asa emulator not available")]

SITE = Path(__file__).with_name("site.yaml")
PORT = 27831
SPEC = {"interfaces": {"GigabitEthernet0/0": "gi0", "GigabitEthernet0/1": "gi1"},
        "options": {"nameif:GigabitEthernet0/0": "outside", "nameif:GigabitEthernet0/1": "inside"}}


@pytest.fixture(scope="module")
def firewall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRig]:
    with cli_rig(SITE, "clinic", "asa-a", tmp_path_factory.mktemp("h9-cli"), port=PORT, tag="h9cli",
                 spec=SPEC) as rig:
        yield rig


def test_plan_names_the_safety_net(firewall: CliRig) -> None:
    run = firewall.run("plan", "clinic", "--to", "isolated")
    assert run.code == 0, run.out
    assert "controller" in run.out and "write memory" in run.out, run.out


@pytest.mark.parametrize("step", operation_steps("clinic"))
def test_operation_through_the_cli(firewall: CliRig, step: list[str]) -> None:
    device = firewall.operation(step)
    running, startup = device.running, device.startup
    owned = set(running.acls)
    assert len(owned) == (1 if is_cut(step) else 0), owned
    assert set(startup.acls) == owned, "the confirmed change is saved"
    assert [g for g in running.access_groups if g[0] in owned] == [(a, "out", "outside") for a in owned]


def test_check_reads_the_bindings_and_names_the_safety_net(firewall: CliRig) -> None:
    """``egressctl check``: no site ACL out on the outside (ok), the revert in the controller (a warning)."""
    run = firewall.run("check", "clinic", "--device", "asa-a")
    out = run.out
    assert "access-groups" in out and "no site ACL bound out" in out, out
    assert "safety-net" in out and "no revert_host" in out, out
    # the site's vantage point and capture namespaces do not exist here (exit 7 for them); the ASA's rows pass
    assert run.code in (0, 7) and not [ln for ln in out.splitlines() if "asa-a" in ln and "FAIL" in ln], out
