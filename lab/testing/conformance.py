"""The driver conformance suite: what every egressctl driver keeps, checked without any device.

Modelled on NAPALM's ``BaseTestGetters``: a driver's test module subclasses :class:`DriverContract` (or
:class:`ModelContract`) in a class named ``Test...`` and sets, as class attributes:

* ``driver_cls``: the driver class, registered under its ``platform`` (``egressctl.drivers`` entry point);
* ``inventory``: path of an inventory YAML file; ``site_name``: a site in it with at least one stage;
  ``device_name``: a device of that site on the driver's platform;
* ``baseline``: the read-back text of that device before egressctl touched it;
* ``golden_dir`` (optional): a folder of golden renders, ``<golden_dir>/<platform>/<target>.txt``; None
  (the default) skips the golden tests. ``EGRESSCTL_UPDATE_GOLDEN=1`` (re)writes them for review.

and implements :meth:`DriverContract.parse` (the driver's own parser on a text, no session) plus the
read-back the device would show after lines were applied: :meth:`DriverContract.readback` and
:meth:`DriverContract.readback_from`, or, with :class:`ModelContract`, one ``model`` class attribute (a
pure text model of the device's configuration) that computes both.

The suite checks the contract's shape (registration, class attributes, every method's signature against
:class:`egressctl.driver.Driver`), that ``render`` is pure and deterministic, that every target of the site
round-trips through the driver's parser with the policy's fingerprint and rule atoms, idempotence (a device
already at its target renders no lines), that ``normal`` removes everything egressctl owns, and the golden
files. Targets are ``isolated`` and every stage of the site, in the inventory's order.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from egressctl.driver import Capability, DeviceState, Driver, SafetyNet, missing_capabilities
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device, Site
from egressctl.policy import Policy, compute_policy, equivalent, targets
from egressctl.registry import driver_class

#: Set to ``1`` to (re)write golden files instead of comparing with them.
UPDATE_GOLDEN_ENV = "EGRESSCTL_UPDATE_GOLDEN"


def protocol_methods() -> list[str]:
    """The public methods of :class:`egressctl.driver.Driver`: a driver must match each one's signature."""
    return sorted(name for name, value in vars(Driver).items()
                  if callable(value) and not name.startswith("_"))


def site_targets(site: Site) -> list[str]:
    """The targets a driver must render for ``site``: ``isolated`` and every stage (not ``normal``)."""
    return [t for t in targets(site) if t != "normal"]


def check_golden(golden_dir: Path, platform: str, name: str, lines: list[str]) -> None:
    """``lines`` equal ``golden_dir/platform/name.txt``, or write that file when updating golden files."""
    path = golden_dir / platform / f"{name}.txt"
    text = "\n".join(lines) + "\n"
    if os.environ.get(UPDATE_GOLDEN_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden {path}; run with {UPDATE_GOLDEN_ENV}=1 and review it"
    assert text == path.read_text(), f"render differs from {path} ({UPDATE_GOLDEN_ENV}=1 to accept)"


class DriverContract:
    """Base class of a driver's conformance tests; not collected by itself (no ``Test`` prefix)."""

    driver_cls: ClassVar[type[Any]]
    inventory: ClassVar[Path]
    site_name: ClassVar[str]
    device_name: ClassVar[str]
    baseline: ClassVar[str] = ""
    golden_dir: ClassVar[Path | None] = None

    # -- what a subclass provides ------------------------------------------------------------------
    def parse(self, drv: Any, raw: str) -> DeviceState:
        """The driver's own parser applied to ``raw`` (no session)."""
        raise NotImplementedError

    def readback(self, drv: Any, lines: list[str]) -> str:
        """Device text after applying ``lines`` to the baseline."""
        raise NotImplementedError

    def readback_from(self, drv: Any, state: DeviceState, lines: list[str]) -> str:
        """Device text after applying ``lines`` to a device whose read-back is ``state.raw``."""
        raise NotImplementedError

    # -- parametrisation and fixtures --------------------------------------------------------------
    @classmethod
    def load_site(cls) -> Site:
        """The site the suite renders, from the subclass's ``inventory`` and ``site_name``."""
        return load_inventory(cls.inventory).site(cls.site_name)

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Run every test taking ``target`` once per target of the subclass's site (collection time)."""
        if "target" in metafunc.fixturenames:
            names = site_targets(type(self).load_site())
            metafunc.parametrize("target", names, ids=names)

    @pytest.fixture(scope="class")
    def site(self) -> Site:
        """The site the suite renders (loaded once per class)."""
        return type(self).load_site()

    @pytest.fixture(scope="class")
    def device(self, site: Site) -> Device:
        """The inventory device of the driver under test."""
        return site.device(self.device_name)

    @pytest.fixture
    def drv(self, device: Device) -> Any:
        """A fresh driver instance (never opened: the suite needs no device)."""
        return self.driver_cls(device, timeout=5.0)

    def normal_state(self, drv: Any) -> DeviceState:
        """The parsed baseline: the device before egressctl touched it."""
        return self.parse(drv, self.baseline)

    def state_at(self, drv: Any, policy: Policy) -> DeviceState:
        """The read-back of the device after going from its baseline to ``policy``."""
        lines = drv.render(policy, self.normal_state(drv))
        return self.parse(drv, self.readback(drv, lines))

    # -- shape -------------------------------------------------------------------------------------
    def test_registered_under_its_platform(self, device: Device) -> None:
        """The registry hands out this very class for the platform, so the executor builds it."""
        assert driver_class(device.platform) is self.driver_cls
        assert self.driver_cls.platform == device.platform

    def test_class_attributes(self) -> None:
        """The planner reads these before any device is contacted: they must have the declared types."""
        cls = self.driver_cls
        assert isinstance(cls.netmiko_device_type, str) and cls.netmiko_device_type
        assert isinstance(cls.capabilities, frozenset)
        assert all(isinstance(c, Capability) for c in cls.capabilities)
        assert isinstance(cls.safety_net, SafetyNet)

    def test_method_signatures_match_the_protocol(self) -> None:
        """Every method of the Driver protocol exists with its exact signature, as the executor calls it."""
        errors = []
        for name in protocol_methods():
            if not hasattr(self.driver_cls, name):
                errors.append(f"{name}: missing")
                continue
            want = inspect.signature(getattr(Driver, name))
            got = inspect.signature(getattr(self.driver_cls, name))
            want_params = [(p.name, p.kind, p.default) for p in want.parameters.values()]
            got_params = [(p.name, p.kind, p.default) for p in got.parameters.values()]
            if want_params != got_params or str(want.return_annotation) != str(got.return_annotation):
                errors.append(f"{name}: expected {want}, got {got}")
        assert not errors, "Some methods vary from egressctl.driver.Driver:\n" + "\n".join(errors)

    def test_constructor_and_protocol(self, device: Device) -> None:
        """The constructor takes (device, timeout=...) and the instance satisfies the runtime protocol."""
        drv = self.driver_cls(device, timeout=1.5)
        assert drv.device is device
        assert isinstance(drv, Driver)

    def test_close_without_open_never_raises(self, drv: Any) -> None:
        """The executor closes in finally blocks, also after a failed open."""
        drv.close()
        drv.close()

    # -- render ------------------------------------------------------------------------------------
    def test_every_target_is_expressible(self, drv: Any, site: Site, target: str) -> None:
        """No capability gap for the site's targets (the planner would refuse the device otherwise)."""
        assert missing_capabilities(drv.capabilities, compute_policy(site, target)) == []

    def test_render_is_pure_and_deterministic(self, drv: Any, site: Site, target: str) -> None:
        """Rendering needs no session and says the same twice: plans and dry runs rely on it."""
        policy = compute_policy(site, target)
        first = drv.render(policy, self.normal_state(drv))
        assert first and first == drv.render(policy, self.normal_state(drv))
        assert getattr(drv, "_conn", None) is None, "render opened a session"

    def test_round_trip_through_the_parser(self, drv: Any, site: Site, target: str) -> None:
        """What render sends reads back as the same target, fingerprint and rule atoms, management first."""
        policy = compute_policy(site, target)
        state = self.state_at(drv, policy)
        assert state.target == target
        assert state.fingerprint == policy.fingerprint()
        assert equivalent(state.rules, policy.rules)
        assert state.rules[0].kind == "management", "management rules must come first"

    def test_idempotent_at_target(self, drv: Any, site: Site, target: str) -> None:
        """A device already at its target gets no lines: a re-run or a resume changes nothing."""
        policy = compute_policy(site, target)
        assert drv.render(policy, self.state_at(drv, policy)) == []

    def test_normal_from_normal_sends_nothing(self, drv: Any, site: Site) -> None:
        """An untouched device is normal and a restore to normal leaves it alone."""
        assert self.normal_state(drv).is_normal
        assert drv.render(compute_policy(site, "normal"), self.normal_state(drv)) == []

    def test_normal_removes_everything_owned(self, drv: Any, site: Site, target: str) -> None:
        """A full restore leaves nothing of egressctl on the device, from any target."""
        state = self.state_at(drv, compute_policy(site, target))
        lines = drv.render(compute_policy(site, "normal"), state)
        assert lines
        after = self.parse(drv, self.readback_from(drv, state, lines))
        assert after.is_normal

    def test_change_between_stages_is_not_empty(self, drv: Any, site: Site) -> None:
        """Moving from isolated to a stage changes the device and reads back as that stage."""
        first = site_targets(site)[1]  # the first stage
        state = self.state_at(drv, compute_policy(site, "isolated"))
        lines = drv.render(compute_policy(site, first), state)
        assert lines
        after = self.parse(drv, self.readback_from(drv, state, lines))
        assert after.target == first
        assert equivalent(after.rules, compute_policy(site, first).rules)

    # -- golden ------------------------------------------------------------------------------------
    def golden(self, drv: Any, name: str, lines: list[str]) -> None:
        """Compare ``lines`` with the golden file ``name`` of the driver's platform (skip without any)."""
        if self.golden_dir is None:
            pytest.skip("no golden_dir set for this driver")
        check_golden(self.golden_dir, drv.platform, name, lines)

    def test_golden(self, drv: Any, site: Site, target: str) -> None:
        """The render from a clean device equals the reviewed golden file of the target."""
        self.golden(drv, target, drv.render(compute_policy(site, target), self.normal_state(drv)))

    def test_golden_normal_from_last_stage(self, drv: Any, site: Site) -> None:
        """The full-restore render from the most open stage equals its reviewed golden file."""
        state = self.state_at(drv, compute_policy(site, site_targets(site)[-1]))
        self.golden(drv, "normal", drv.render(compute_policy(site, "normal"), state))


class ModelContract(DriverContract):
    """The contract for a platform whose read-back a pure text model of its configuration computes.

    Set ``model``: ``model(raw)`` parses a read-back, ``.apply(lines)`` applies configuration lines to it
    and returns the model, ``.text()`` is the read-back the device would then show. Not collected by
    itself (no ``Test`` prefix).
    """

    model: ClassVar[Callable[[str], Any]]

    def readback(self, drv: Any, lines: list[str]) -> str:
        """The model's read-back of the baseline after ``lines``."""
        return self.readback_text(self.baseline, lines)

    def readback_from(self, drv: Any, state: DeviceState, lines: list[str]) -> str:
        """The model's read-back of ``state.raw`` after ``lines``."""
        return self.readback_text(state.raw, lines)

    def readback_text(self, raw: str, lines: list[str]) -> str:
        """The model's read-back after ``lines`` on a device showing ``raw``."""
        return str(type(self).model(raw).apply(lines).text())
