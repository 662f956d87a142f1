"""A driver changing the emulated device of a :mod:`tests.support.device_netns` site, as the executor does.

A :class:`Rig` is the running site with the inventory's device pointed at its emulator. Its
:meth:`Rig.change` is the executor's lifecycle for one device (read, load, diff, commit with the device's
own safety net, read back, a fresh session, confirm), run on the worker thread inside the device's
namespace; around it, the checks the platforms' lab tests share: a held connection across a cut, the
management rule dropped by a bad change that nobody confirms and the device's own timer putting it back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from socket import socket
from typing import Any

from egressctl_lab.testing.emulator import wait_for_timer
from egressctl_lab.testing.lifecycle import at, make

from egressctl.inventory.credentials import Secret
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device, Site
from egressctl.policy import Policy, compute_policy
from tests.support.device_netns import DeviceNet, DeviceSite, running
from tests.support.netns_probes import echoes, held

CONFIRMED_REVERT = 600  # the timer of changes the tests confirm: never reached
#: ``apply(policy, confirm=..., revert_in=...)``: a platform's own change on its rig.
Apply = Callable[..., Any]


#: Device seconds until the bad change's safety net fires: two device minutes (IOS and VyOS count whole
#: minutes), so that a change that is slow on a loaded machine is still unconfirmed when the test looks.
REVERT_IN = 120


@dataclass(frozen=True)
class Rig:
    """The running site, the inventory's device pointing at its emulator, its secret and its site."""

    net: DeviceSite
    device: Device
    secret: Secret
    site: Site

    def change(self, policy: Policy, *, confirm: bool = True, revert_in: int = CONFIRMED_REVERT,
               then: Callable[[Any], Any] | None = None) -> Any:
        """The executor's lifecycle on the device's thread; ``then(driver)`` last, its value returned.

        Unconfirmed, the change is left pending, its safety net armed, as when the controller dies.
        """
        def run(drv: Any) -> Any:
            drv.load_candidate(policy, drv.read_state())
            assert drv.diff().strip()
            drv.commit(revert_in)
            assert drv.has_pending_commit() and at(drv.read_state(), policy)
            if confirm:
                assert self.with_driver(lambda fresh: at(fresh.read_state(), policy), thread=False)
                drv.confirm()
                assert not drv.has_pending_commit()
            return then(drv) if then is not None else None

        return self.with_driver(run)

    def with_driver(self, fn: Callable[[Any], Any], *, thread: bool = True) -> Any:
        """``fn(driver)`` over a new session, on the device's namespace thread (or on this one)."""
        def run() -> Any:
            drv = make(self.device, timeout=20.0)
            drv.open(self.secret)
            try:
                return fn(drv)
            finally:
                drv.close()

        return self.net.on_device(run) if thread else run()

    def state(self) -> Any:
        """``read_state()`` over a new session."""
        return self.with_driver(lambda d: d.read_state())

    def snapshot(self) -> str:
        """``snapshot()`` (the whole configuration) over a new session."""
        return str(self.with_driver(lambda d: d.snapshot()))

    @contextmanager
    def held_session(self, works: str = "the held session works before the cut",
                     tries: int = 1) -> Iterator[socket]:
        """A connection from the LAN host to the uplink's echo server, echoing ``tries`` times."""
        names = self.net.plan.names
        session = held(names["in"], names["far4"], 8080)
        try:
            assert all(echoes(session) for _ in range(tries)), works
            yield session
        finally:
            session.close()

    def cut_management_unconfirmed(self, apply: Apply | None = None) -> float:
        """Isolate (confirmed), then the bad change left unconfirmed; the time its safety net was armed.

        ``apply(policy, **kw)`` is the platform's change (default :meth:`change`). Checks the management
        path is open before the bad change and cut after it, while the rest of the isolated policy holds.
        """
        net, mgmt = self.net, self.net.plan.management
        iso, bad = bad_isolation(self.site)
        apply = apply or self.change
        apply(iso)
        assert net.reach()[mgmt]
        apply(bad, confirm=False, revert_in=REVERT_IN)
        armed = time.monotonic()
        assert not net.probe(mgmt), "the bad change should cut the management path"
        assert net.probe("https4"), "the rest of the isolated policy is in force"
        return armed

    def management_back(self, armed: float, due_after: float, by: str) -> None:
        """The safety net armed at ``armed`` (due ``due_after`` s later) put the management path back."""
        net = self.net
        back = wait_for_timer(lambda: net.probe(net.plan.management), armed_at=armed, due_after=due_after)
        assert back, f"{by} did not put the management path back"

    def isolated_and_settled(self) -> None:
        """A fresh read finds the confirmed isolation and nothing pending (the bad change undone)."""
        state = self.state()
        assert at(state, compute_policy(self.site, "isolated")) and not state.pending_commit


def bad_isolation(site: Site) -> tuple[Policy, Policy]:
    """The isolated policy, and the same without its management rules (a bad change)."""
    iso = compute_policy(site, "isolated")
    return iso, Policy(site.name, "isolated", tuple(r for r in iso.rules if r.kind != "management"))


def rig_for(net: DeviceSite, secret: Secret, site: Site, name: str, port: int) -> Rig:
    """The rig of device ``name`` of ``site``, pointed at the emulator's ``port`` with its host key pinned."""
    device = site.device(name).model_copy(update={"port": port, "host_key": net.plan.host_key()})
    return Rig(net, device, secret, site)


@contextmanager
def running_rig(plan: DeviceNet, inventory: Path, site: str, device: str, tmp: Path,
                port: int) -> Iterator[Rig]:
    """:func:`~tests.support.device_netns.running` and the rig of ``device`` of ``site`` in ``inventory``."""
    where = load_inventory(inventory).site(site)
    with running(plan, tmp, port) as (net, secret):
        yield rig_for(net, secret, where, device, port)
