"""An emulator process in a namespace of its own, whose interface shows read the kernel, and netmiko on it.

The three namespaces of :class:`tests.support.emulator_in_netns.Site` (``<prefix>-<tag>h1`` --
``<prefix>-<tag>r`` -- ``<prefix>-<tag>h2``, 10.71.1.0/24 and 10.71.2.0/24) under a lab prefix of the
test module's own, the emulator running in the router namespace with ``--dataplane nft``, so its
``show interfaces`` and the like report the kernel's addresses, MACs, states and counters. Used by the
``tests/lab/emu/<platform>/test_kernel_shows_lab.py`` modules; :func:`kernel_backed` removes everything,
also when a test fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from netmiko import ConnectHandler

from tests.support.emulator_in_netns import Site, lab_available


class PrefixedSite(Site):
    """The shared three-namespace site under a module's own lab prefix."""

    def __init__(self, prefix: str, tag: str, inside: str, outside: str) -> None:
        super().__init__(tag, inside, outside)
        self.h1, self.r, self.h2 = f"{prefix}-{tag}h1", f"{prefix}-{tag}r", f"{prefix}-{tag}h2"


@contextmanager
def kernel_backed(prefix: str, tag: str, ports: tuple[str, str], platform: str, spec: Mapping[str, Any],
                  tmp: Path, port: int) -> Iterator[Site]:
    """The site built and its emulator serving ``spec`` as ``platform`` on ``port`` (time scale 0.05).

    ``ports`` are the router's kernel names (inside, outside). Skips without root, iproute2 and nft.
    """
    if not lab_available():
        pytest.skip("needs root, iproute2 and nft for network namespaces")
    site = PrefixedSite(prefix, tag, *ports)
    try:
        site.build()
        site.start(platform, json.dumps(dict(spec)), tmp, port, 0.05)
        yield site
    finally:
        site.destroy()


def connect(site: Site, device_type: str, port: int, password: str, **kw: Any) -> Any:
    """A netmiko session (``device_type``'s own class) to the emulator, by a socket made in its namespace."""
    return ConnectHandler(device_type=device_type, host="127.0.0.1", port=port, username="admin",
                          password=password, conn_timeout=10, sock=site.socket_to_emulator(port), **kw)
