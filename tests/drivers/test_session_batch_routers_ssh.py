"""Batched session clears on the ASA, VyOS and RouterOS over real SSH (netmiko's device classes, H20).

Each emulator is served in this process on loopback (ports 28360-28362) with the in-memory session table
of :mod:`tests.drivers.test_session_batch_routers` (36 denied sessions, three kept ones); the driver logs in
and ``clear_sessions`` ends the denied ones in a few clears, leaving the kept ones, as the prompts, echoes
and quoting of a real console session carry the batch commands (RouterOS's escaped regex included).
"""

from __future__ import annotations

import pytest
from egressctl_lab.emu.sessions import MemoryTable
from egressctl_lab.testing.emulator import available, serve_emulated
from egressctl_lab.testing.lifecycle import make

from egressctl.policy import compute_policy
from tests.drivers.test_session_batch_routers import DENIED, KEPT, MOST, ROUTES, site

pytestmark = [pytest.mark.ssh]

PORTS = {"cisco_asa": 28360, "vyos": 28361, "mikrotik_routeros": 28362}
SETUP = {
    "cisco_asa": ("asa-a", {"interfaces": {"GigabitEthernet0/0": "gi0", "GigabitEthernet0/1": "gi1"},
                            "options": {"nameif:GigabitEthernet0/0": "outside",
                                        "nameif:GigabitEthernet0/1": "inside"}}, "gi1", "gi0"),
    "vyos": ("vy-a", {"interfaces": {"eth0": "e0", "eth1": "e1"}}, "e1", "e0"),
    "mikrotik_routeros": ("rtr-a", {"interfaces": {"ether1": "e1", "bridge": "br0"}}, "br0", "e1"),
}


@pytest.mark.parametrize("platform", sorted(PORTS))
def test_batched_clear_over_ssh_ends_the_denied_and_keeps_the_rest(platform: str) -> None:
    if not available(platform):
        pytest.skip(f"{platform} emulator not available")
    name, spec, inside, outside = SETUP[platform]
    s = site(platform)
    with serve_emulated(s.device(name), port=PORTS[platform], spec_kw=spec, tag="h20") as emu:
        def seed() -> None:
            table = emu.handle.dataplane.sessions
            assert isinstance(table, MemoryTable)
            table.entries = [*DENIED, *KEPT]
            table.routes = {a: inside if w == "in" else outside for a, w in ROUTES.items()}

        emu.call(seed)
        drv = make(emu.device, timeout=30.0)
        drv.open(emu.secret)
        try:
            report = drv.clear_sessions(compute_policy(s, "isolated"), list(s.inside))
        finally:
            drv.close()
        left = emu.call(lambda: sorted(f.ct_id for f in emu.handle.dataplane.sessions.flows()))
    assert (report.matched, report.cleared) == (36, 36), report.detail
    assert left == [1, 2, 3]
    clears = int(report.detail.split(" clears (")[0].rsplit("; ", 1)[-1])
    assert clears <= MOST[platform] and "left by the batch" not in report.detail, report.detail
