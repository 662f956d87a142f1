"""pytest plugin of the test kit: its markers, registered so that ``--strict-markers`` accepts them.

The markers sort tests into tiers, so a fast run (``-m "not lab and not root and not ssh and not slow"``)
needs neither root nor an SSH server and finishes in seconds:

* ``ssh``: talks to a real SSH server (an emulator on loopback, OpenSSH): the lifecycle suites carry it.
* ``root``: needs root and the host's ``ip``/``nft`` (real nftables, a private network namespace), but no lab.
* ``lab``: builds an emulated site or a topology of network namespaces.
* ``slow``: takes more than a few seconds of wall time.

Load it from a ``conftest.py`` with ``pytest_plugins = ["egressctl_lab.testing.plugin"]``.
"""

from __future__ import annotations

import pytest

MARKERS: dict[str, str] = {
    "ssh": "talks to a real SSH server (an emulated device on loopback, OpenSSH); not in the fast tier",
    "root": "needs root and the host's ip/nft (real nftables or a network namespace), builds no lab",
    "lab": "needs network namespaces (root or user namespaces); builds an emulated site or topology",
    "slow": "takes more than a few seconds of wall time",
}

#: The ``-m`` expression of the fast tier: no root, no SSH, nothing slow.
FAST_TIER = "not lab and not root and not ssh and not slow"


def pytest_configure(config: pytest.Config) -> None:
    """Register :data:`MARKERS` (idempotent: pytest accepts a marker registered twice)."""
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
