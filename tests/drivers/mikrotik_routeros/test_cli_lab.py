"""``egressctl isolate`` / ``restore --stage`` / ``restore --full`` on an emulated RouterOS router (CLI).

The whole product path (inventory, planner, executor with its read-back and fresh-session management check,
journal, the session kill after an isolation) against the RouterOS emulator served on loopback (port 27954,
helper range 27950-27999), no data plane: the packets are proven by ``test_isolation_lab.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from egressctl_lab.testing.emulator import available

from tests.support.emulator_cli import CliRig, cli_rig, is_cut, operation_steps

pytestmark = [pytest.mark.ssh, pytest.mark.slow,
              pytest.mark.skipif(not available("mikrotik_routeros"), reason="no RouterOS emulator")]

SITE = Path(__file__).with_name("site.yaml")
PORT = 27954
SPEC = {"interfaces": {"ether1": "e1", "bridge": "br0"}}


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRig]:
    with cli_rig(SITE, "clinic", "rtr-a", tmp_path_factory.mktemp("h11-cli"), port=PORT, tag="h11cli",
                 spec=SPEC, time_scale=0.1) as rig:
        yield rig


@pytest.mark.parametrize("step", operation_steps("clinic"))
def test_operation_through_the_cli(router: CliRig, step: list[str]) -> None:
    config = router.operation(step).config
    filters = [*config.items("ip firewall filter"), *config.items("ipv6 firewall filter")]
    mine = {i.props.get("chain") for i in filters if i.props.get("comment", "").startswith("egressctl")}
    if is_cut(step):
        assert len(mine - {"forward"}) == 1, f"one egressctl chain after the confirm: {mine}"
    else:
        assert not mine, mine
    armed = {i.props.get("name") for i in config.items("system scheduler")}
    assert not armed & {"egressctl-revert", "egressctl-revert-boot"}, "the confirm removed the safety net"
    assert not config.items("system script")
