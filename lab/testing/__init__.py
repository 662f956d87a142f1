"""Test support that ships with the lab: egressctl's own tests use it, and so can a driver plugin's.

For driver plugin authors, the test kit. A driver package (registered under the ``egressctl.drivers``
entry-point group) proves it keeps egressctl's driver contract by subclassing two suites:

* :mod:`egressctl_lab.testing.conformance`: :class:`~egressctl_lab.testing.conformance.DriverContract`
  and :class:`~egressctl_lab.testing.conformance.ModelContract`, pure checks with no device: the contract's
  shape, purity and determinism of ``render``, round trips through the driver's own parser, idempotence,
  a complete way back to ``normal`` and golden files.
* :mod:`egressctl_lab.testing.lifecycle`: :class:`~egressctl_lab.testing.lifecycle.LifecycleSuite` and
  :class:`~egressctl_lab.testing.lifecycle.EmulatedLifecycleSuite`, the whole commit lifecycle over real
  SSH: isolate, idempotent second apply, the dead-man switch reverting an unconfirmed commit, rollback,
  stages, normal, a rejected line, a wrong host key, a wrong password.

:mod:`egressctl_lab.testing.emulator` serves an emulated device in the test process (a built-in
personality, or the plugin's own registered under ``egressctl_lab.emulators``) on loopback, with a device
clock that runs faster than real time so a one-minute dead-man switch fires in seconds.
:mod:`egressctl_lab.testing.plugin` registers the markers the suites carry (``ssh``, ``root``, ``lab``,
``slow``); list it in the plugin's ``conftest.py`` as ``pytest_plugins = ["egressctl_lab.testing.plugin"]``.

Nothing in the kit knows this repository's paths: the inventory, the site, the device, the golden-file
folder and the emulator's port and clock are class attributes or fixtures of the subclasses.
``tests/data/sample_driver`` in egressctl's repository is a complete, minimal plugin (a driver, its
emulator and both suites).

The other modules here generate the verification tests' inputs (``capture_*``: pcaps with known leaks and
their ground truth; ``probe_testbed``, ``ring_blocks``, ``scapy_baseline``). Everything in this package
needs pytest or the ``lab`` extra (asyncssh); the product never imports it.
"""
