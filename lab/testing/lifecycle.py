"""The driver lifecycle suite: the whole commit cycle against a real SSH device (emulated or real).

A driver's integration test subclasses :class:`EmulatedLifecycleSuite` (the device is an emulator served by
:mod:`egressctl_lab.testing.emulator`) or :class:`LifecycleSuite` (any reachable device) in a class named
``Test...`` and provides:

* class attributes ``inventory`` (path of an inventory YAML) and ``site_name`` (a site in it with at
  least one stage): the policies the suite applies;
* ``revert_wait``: seconds after which a ``commit(revert_in=short_revert_in)`` left unconfirmed has
  certainly reverted on that device (for an emulator: the device timer times its clock's scale, e.g.
  ``60 * TIME_SCALE`` for a timer counted in whole minutes);
* :meth:`LifecycleSuite.rejected_line`: a call on an open driver that makes the device refuse a line;
* fixtures: with :class:`EmulatedLifecycleSuite`, one fixture ``emulated`` (an
  :class:`~egressctl_lab.testing.emulator.Emulated`, usually module-scoped); with :class:`LifecycleSuite`,
  ``device`` (an inventory ``Device`` reachable now) and ``secret`` (its ``Secret``), class-scoped or wider.

Tests run in file order and share the device, so each starts by reading the device's state. The driver is
built through egressctl's registry from the device's platform, exactly as the executor does, so a plugin
driver must be installed (its ``egressctl.drivers`` entry point visible). The suite carries the ``ssh``
marker (register it with ``pytest_plugins = ["egressctl_lab.testing.plugin"]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from egressctl_lab import hostkeys
from egressctl_lab.testing.conformance import site_targets
from egressctl_lab.testing.emulator import Emulated, wait_until

from egressctl.driver import DeviceState
from egressctl.errors import AuthError, CommandRejected, ConfirmError, HostKeyMismatch
from egressctl.inventory.credentials import Secret
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device, Site
from egressctl.policy import Policy, compute_policy, equivalent
from egressctl.registry import driver_class


def make(device: Device, timeout: float = 20.0) -> Any:
    """A driver instance for ``device``, built through the registry (constructor per the agreed interface)."""
    cls: Any = driver_class(device.platform)
    return cls(device, timeout=timeout)


def at(state: DeviceState, policy: Policy) -> bool:
    """True when a read-back ``state`` is ``policy``: same target, fingerprint and rule atoms (or normal)."""
    if policy.is_normal:
        return state.is_normal
    return (state.target == policy.target and state.fingerprint == policy.fingerprint()
            and equivalent(state.rules, policy.rules))


class LifecycleSuite:
    """Base class of a driver's lifecycle tests; not collected by itself (no ``Test`` prefix)."""

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.ssh]

    inventory: ClassVar[Path]
    site_name: ClassVar[str]
    revert_wait: ClassVar[float]
    #: The dead-man timer of every commit the suite confirms (long enough to outlast its checks).
    revert_in: ClassVar[int] = 60
    #: The dead-man timer of the commit the suite leaves unconfirmed (test_03).
    short_revert_in: ClassVar[int] = 3
    #: Real seconds allowed beyond ``revert_wait`` (a loaded machine): the test polls, so it costs nothing.
    revert_margin: ClassVar[float] = 30.0

    def rejected_line(self, drv: Any) -> None:
        """Make the device refuse a line over ``drv``'s open session (``CommandRejected`` expected)."""
        raise NotImplementedError

    @pytest.fixture(scope="class")
    def site(self) -> Site:
        """The site whose policies the suite applies."""
        return load_inventory(self.inventory).site(self.site_name)

    @pytest.fixture
    def drv(self, device: Device, secret: Secret) -> Iterator[Any]:
        """An open driver session to the device, closed after the test."""
        d = make(device)
        d.open(secret)
        try:
            yield d
        finally:
            d.close()

    def apply(self, d: Any, policy: Policy, revert_in: int | None = None) -> DeviceState:
        """Read, load ``policy``, commit it with a dead-man timer (unconfirmed); return the state before."""
        state: DeviceState = d.read_state()
        d.load_candidate(policy, state)
        d.commit(self.revert_in if revert_in is None else revert_in)
        return state

    def stages(self, site: Site) -> tuple[str, str]:
        """The site's first and last stages (the same one when it has a single stage)."""
        names = site_targets(site)[1:]
        return names[0], names[-1]

    # ---------------------------------------------------------------------------------------------
    def test_01_full_lifecycle_isolate(self, drv: Any, device: Device, secret: Secret, site: Site) -> None:
        """Load, diff, commit with a timer, read back, a new session sees it, confirm: the executor's path."""
        policy = compute_policy(site, "isolated")
        before = drv.read_state()
        assert not before.pending_commit
        drv.load_candidate(policy, before)
        assert drv.diff().strip()
        drv.commit(self.revert_in)
        assert drv.has_pending_commit()
        after = drv.read_state()
        assert at(after, policy) and after.pending_commit
        # a fresh management session reaches the device and sees the same state
        fresh = make(device)
        fresh.open(secret)
        try:
            assert at(fresh.read_state(), policy)
        finally:
            fresh.close()
        drv.confirm()
        assert not drv.has_pending_commit()
        assert at(drv.read_state(), policy)

    def test_02_second_apply_sends_nothing(self, drv: Any, site: Site) -> None:
        """At the target already: no lines, an empty diff, and a commit arms no timer."""
        policy = compute_policy(site, "isolated")
        state = drv.read_state()
        assert at(state, policy)
        assert drv.render(policy, state) == []
        drv.load_candidate(policy, state)
        assert drv.diff().strip() == ""
        drv.commit(self.revert_in)
        assert not drv.has_pending_commit()

    def test_03_unconfirmed_commit_reverts(self, drv: Any, site: Site) -> None:
        """The dead-man switch: an unconfirmed commit reverts by itself, and a late confirm is refused."""
        iso, stage = compute_policy(site, "isolated"), compute_policy(site, self.stages(site)[0])
        self.apply(drv, stage, revert_in=self.short_revert_in)
        assert at(drv.read_state(), stage)
        reverted = wait_until(lambda: not drv.has_pending_commit() and at(drv.read_state(), iso),
                              self.revert_wait + self.revert_margin, interval=min(0.5, self.revert_wait / 10))
        assert reverted, "the dead-man switch did not restore the previous state"
        with pytest.raises(ConfirmError):
            drv.confirm()

    def test_04_rollback_now(self, drv: Any, site: Site) -> None:
        """A rollback undoes a pending commit at once and disarms its timer."""
        iso, last = compute_policy(site, "isolated"), compute_policy(site, self.stages(site)[1])
        self.apply(drv, last)
        assert at(drv.read_state(), last)
        drv.rollback()
        assert not drv.has_pending_commit()
        assert at(drv.read_state(), iso)

    def test_05_stage_then_normal(self, drv: Any, site: Site) -> None:
        """Confirmed changes stick, and normal leaves nothing of egressctl."""
        for target in (self.stages(site)[1], "normal"):
            policy = compute_policy(site, target)
            self.apply(drv, policy)
            drv.confirm()
            assert at(drv.read_state(), policy)
        assert drv.read_state().is_normal

    def test_06_rejected_line_carries_device_text(self, drv: Any, device: Device) -> None:
        """A refused line raises CommandRejected carrying the device's own words for the operator."""
        with pytest.raises(CommandRejected) as ei:
            self.rejected_line(drv)
        assert ei.value.device == device.name
        assert ei.value.device_output and ei.value.device_output.strip()

    def test_07_wrong_host_key(self, device: Device, secret: Secret) -> None:
        """A device presenting another host key than the pinned one is refused before login."""
        bad = device.model_copy(update={"host_key": hostkeys.public_line("kit-not-this-device")})
        d = make(bad, 10.0)
        with pytest.raises(HostKeyMismatch) as ei:
            d.open(secret)
        assert ei.value.device == device.name

    def test_08_wrong_password(self, device: Device) -> None:
        """A refused login is an AuthError naming the device, never a generic failure."""
        d = make(device, 10.0)
        with pytest.raises(AuthError) as ei:
            d.open(Secret(password="kit-definitely-wrong"))  # noqa: S106 - a wrong password on purpose
        assert ei.value.device == device.name


class EmulatedLifecycleSuite(LifecycleSuite):
    """The suite against an emulated device: ``device`` and ``secret`` come from the fixture ``emulated``."""

    @pytest.fixture(scope="class")
    def device(self, emulated: Emulated) -> Device:
        """The inventory device pointing at the emulator."""
        return emulated.device

    @pytest.fixture(scope="class")
    def secret(self, emulated: Emulated) -> Secret:
        """The emulator's password."""
        return emulated.secret
