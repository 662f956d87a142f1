"""linux_nftables driver over real SSH, real sudo and real nftables in a namespace (DRV1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from egressctl.inventory.credentials import Secret, resolve
from egressctl.inventory.models import Device
from tests.support import linux_box as box
from tests.support.lab_lifecycle import LabLifecycleSuite

pytestmark = [pytest.mark.lab, pytest.mark.skipif(not box.available(), reason="needs root, ip, sshd, sudo")]


@pytest.fixture(scope="module")
def linux() -> Iterator[box.LinuxBox]:
    with box.linux_box(23410) as b:
        yield b


class TestLinuxNftablesLifecycle(LabLifecycleSuite):
    revert_wait = 3.0

    @pytest.fixture(scope="class")
    def device(self, linux: box.LinuxBox) -> Device:
        return linux.device

    @pytest.fixture(scope="class")
    def secret(self, linux: box.LinuxBox) -> Secret:
        return resolve(linux.device.credential)

    def rejected_line(self, drv: Any) -> None:
        drv.run("nft add rule inet d1-no-such-table forward drop")

    def test_09_table_really_in_the_kernel(self, drv: Any, site: Any) -> None:
        from egressctl.policy import compute_policy

        self.apply(drv, compute_policy(site, "isolated"))
        drv.confirm()
        listing = box.ns("nft", "list", "table", "inet", "egressctl").stdout
        assert "hook forward priority filter - 10" in listing
        assert 'iifname "lan0" oifname "tb1" drop comment "deny-egress"' in listing
        self.apply(drv, compute_policy(site, "normal"))
        drv.confirm()
        assert box.ns("nft", "list", "table", "inet", "egressctl").returncode != 0
