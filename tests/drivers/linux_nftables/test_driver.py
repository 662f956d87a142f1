"""linux_nftables driver: render/parse/golden through the conformance suite.

The read-back is real: the rendered file is loaded by the real ``nft`` into a private network namespace
(``d1-unit``) and listed back (text + JSON) exactly as the driver does on a device: the contract needs
root (marker ``root``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from egressctl_drivers.linux_nftables import constants as c
from egressctl_drivers.linux_nftables.parse import json_document, parse_state
from egressctl_drivers.linux_nftables.render import replace_preamble

from egressctl.driver import DeviceState
from egressctl.policy import compute_policy
from tests.support.driver_contract import LabDriverContract, lab_site

NS = "d1-unit"
#: The contract's read-back is the real nft in a private namespace: root tier (the pure tests stay fast).
NEEDS_NFT = [pytest.mark.root, pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nft (real nft in a netns)"
)]


def _nft(*args: str, stdin: str | None = None) -> str:
    res = subprocess.run(["ip", "netns", "exec", NS, "nft", *args], input=stdin, capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    return res.stdout


def _listing() -> str:
    probe = subprocess.run(["ip", "netns", "exec", NS, "nft", "list", "table", "inet", "egressctl"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return c.ABSENT
    return probe.stdout + _nft("-j", "list", "table", "inet", "egressctl")


def _load(raw: str) -> None:
    """Put the namespace in the state ``raw`` was listed from."""
    _nft("-f", "-", stdin="\n".join(replace_preamble()) + "\n")
    if json_document(raw) is not None:
        text = "\n".join(ln for ln in raw.splitlines() if not ln.startswith('{"nftables"'))
        _nft("-f", "-", stdin=text + "\n")


class TestLinuxNftablesContract(LabDriverContract):
    from egressctl_drivers.linux_nftables.driver import LinuxNftablesDriver as driver_cls

    pytestmark = NEEDS_NFT
    device_name = "core-b"
    baseline = c.ABSENT

    @pytest.fixture(scope="class", autouse=True)
    def netns(self) -> Iterator[None]:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        subprocess.run(["ip", "netns", "add", NS], check=True)
        try:
            yield
        finally:
            subprocess.run(["ip", "netns", "del", NS], capture_output=True)

    def parse(self, drv: Any, raw: str) -> DeviceState:
        return parse_state(raw, pending=False)

    def readback(self, drv: Any, lines: list[str]) -> str:
        return self.readback_from(drv, self.normal_state(drv), lines)

    def readback_from(self, drv: Any, state: DeviceState, lines: list[str]) -> str:
        _load(state.raw)
        _nft("-f", "-", stdin="\n".join(lines) + "\n")
        return _listing()


def test_one_rule_per_atom_no_sets() -> None:
    from egressctl_drivers.linux_nftables.render import render

    site = lab_site()
    lines = render(site.device("core-b"), compute_policy(site, "allowlist"), None)
    rules = [ln for ln in lines if "comment" in ln and "iifname" in ln]
    assert all("{" not in ln for ln in rules)
    assert rules[-1].strip() == 'iifname "lan0" oifname "tb1" drop comment "deny-egress"'
    assert all(ln.strip().startswith('iifname "lan0" oifname "tb1" ') for ln in rules)
