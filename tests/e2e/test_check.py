"""``egressctl check`` on the lab: it passes, each missing prerequisite is named, drift is found.

Every fault is made the way an operator would make it, over SSH through netmiko on the emulated device's
own CLI (no emulator internals): an IOS ``archive`` removed, uncommitted changes left in the Junos and
PAN-OS candidates, VDOMs enabled on the FortiGate, a vantage host's interface down, and an egressctl
policy edited by hand on the FortiGate after an isolation. Each is named in the report (subject + check
name) with exit 7, and undone before the next. The wall time of ``check lab`` is printed beside its
slowest device (``pytest -s``). Namespace prefix ``ck-``, ports from 24300.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.labkit import running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("egressctl_drivers.fortinet.driver")
    with running_lab(tmp_path_factory, "ck-", 24300) as instance:  # exports its state dir (secrets)
        yield instance


def cli(lab: Any, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EGRESSCTL_STATE_DIR": str(lab.state)}
    cmd = [sys.executable, "-m", "egressctl.cli.main", "-i", str(lab.inventory_path), *argv]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def check(lab: Any, *extra: str) -> tuple[int, dict[str, Any]]:
    res = cli(lab, "check", "lab", "--json", *extra)
    assert res.stdout.strip(), res.stderr
    return res.returncode, json.loads(res.stdout)


def results(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """``(subject, check name) -> check`` (the last of a name when a subject has several)."""
    return {(s["name"], c["name"]): c for s in doc["subjects"] for c in s["checks"]}


def not_ok(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(s, n, c["status"]) for (s, n), c in results(doc).items() if c["status"] != "ok"}


@contextmanager
def operator(lab: Any, name: str) -> Iterator[Any]:
    """An SSH session to device ``name`` as its operators have one (the driver's netmiko session)."""
    from egressctl.inventory.credentials import secret_for
    from egressctl.inventory.loader import load_inventory
    from egressctl.registry import driver_class

    dev = load_inventory(lab.inventory_path).site("lab").device(name)
    drv: Any = driver_class(dev.platform)(dev)
    drv.open(secret_for(dev))
    try:
        yield drv
    finally:
        drv.close()


def in_node(lab: Any, node: str, *argv: str, tries: int = 1) -> None:
    """Run ``argv`` in ``node``'s namespace, ``tries`` times at most (0.2 s apart) until it succeeds."""
    for _ in range(tries):
        res = lab.exec(node, list(argv), capture_output=True, text=True, check=False)
        if res.returncode == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"{' '.join(argv)} in {node}: {res.stderr}")


ONLY_EXPECTED_WARNING = {("ce-a", "archive", "warn")}  # the lab's IOS router has no archive path


def test_01_check_passes_on_the_lab(lab: Any) -> None:
    start = time.monotonic()
    code, doc = check(lab)
    wall = time.monotonic() - start
    assert code == 0, doc["problems"]
    assert not_ok(doc) == ONLY_EXPECTED_WARNING, doc["problems"]
    kinds = {s["kind"] for s in doc["subjects"]}
    assert kinds == {"site", "device", "vantage-point", "capture"}
    devices = {s["name"]: s for s in doc["subjects"] if s["kind"] == "device"}
    assert set(devices) == {"fw-a", "ce-a", "core-b", "fw-b", "ce-b"}
    assert all(s["info"]["safety_net_effect"] for s in devices.values())  # what each dead-man does
    assert "controller" in devices["fw-a"]["info"]["safety_net_effect"]  # PAN-OS: no on-box revert
    for s in devices.values():
        assert {"reachable", "read-state", "pending", "drift", "sessions", "safety-net"} <= {
            c["name"] for c in s["checks"]}
    slow = max(devices.values(), key=lambda s: s["elapsed_s"])
    others = {s["name"]: s["elapsed_s"] for s in doc["subjects"] if s["kind"] != "site"}
    over = doc["elapsed_s"] - slow["elapsed_s"]
    print(f"\ncheck lab: {wall:.2f} s wall (CLI process), {doc['elapsed_s']:.2f} s checking; slowest device "
          f"{slow['name']} {slow['elapsed_s']:.2f} s; overhead over it {over:.2f} s"
          f" (+ {wall - doc['elapsed_s']:.2f} s process start); per subject: "
          + ", ".join(f"{k} {v:.2f}" for k, v in sorted(others.items(), key=lambda kv: -kv[1])))
    assert doc["elapsed_s"] <= slow["elapsed_s"] + 1.0, "checks run in parallel: slowest device + 1 s"
    text = cli(lab, "check", "lab")
    assert text.returncode == 0 and "lab: 0 failed, 1 warnings" in text.stdout, text.stdout


def test_02_ios_archive_path(lab: Any) -> None:
    with operator(lab, "ce-a") as ios:
        ios.send_config(["archive", " path flash:site-archive"])
    code, doc = check(lab, "--strict")
    assert code == 0 and not_ok(doc) == set(), doc["problems"]
    assert "flash:site-archive (the site's)" in results(doc)[("ce-a", "archive")]["detail"]
    with operator(lab, "ce-a") as ios:
        ios.send_config(["no archive"])
    code, doc = check(lab, "--strict")
    assert code == 7 and not_ok(doc) == {("ce-a", "archive", "warn")}, doc["problems"]
    assert doc["problems"][0].startswith("ce-a archive: no archive path")
    assert check(lab)[0] == 0  # a warning fails only with --strict


def test_03_junos_foreign_candidate(lab: Any) -> None:
    with operator(lab, "ce-b") as junos:
        junos.conn.send_config_set(["set security address-book global address ck-someone 192.0.2.99/32"])
    try:
        code, doc = check(lab)
        assert code == 7, doc["problems"]
        assert ("ce-b", "candidate", "fail") in not_ok(doc)
        assert "someone else's uncommitted changes" in results(doc)[("ce-b", "candidate")]["detail"]
        assert "ck-someone" in results(doc)[("ce-b", "candidate")]["detail"]
    finally:
        with operator(lab, "ce-b") as junos:
            junos.conn.send_config_set(["rollback 0"])
    assert not_ok(check(lab)[1]) == ONLY_EXPECTED_WARNING


def test_04_panos_foreign_uncommitted_change(lab: Any) -> None:
    with operator(lab, "fw-a") as panos:  # its session is in configure mode
        panos.conn.send_config_set(["set address ck-someone ip-netmask 192.0.2.99/32"],
                                   enter_config_mode=False, exit_config_mode=False)
    try:
        code, doc = check(lab)
        assert code == 7, doc["problems"]
        assert {("fw-a", "candidate", "fail"), ("fw-a", "pending", "fail")} <= not_ok(doc)
        assert "ck-someone" in results(doc)[("fw-a", "candidate")]["detail"]
    finally:
        with operator(lab, "fw-a") as panos:
            panos.conn.send_config_set(["revert config"], enter_config_mode=False, exit_config_mode=False)
    assert not_ok(check(lab)[1]) == ONLY_EXPECTED_WARNING


def test_05_fortios_vdom_mode(lab: Any) -> None:
    with operator(lab, "fw-b") as forti:
        forti.send_config(["config system global", "set vdom-mode multi-vdom", "end"])
    try:
        code, doc = check(lab)
        assert code == 7 and ("fw-b", "vdom-mode", "fail") in not_ok(doc), doc["problems"]
        assert "virtual domain configuration is multiple" in results(doc)[("fw-b", "vdom-mode")]["detail"]
    finally:
        with operator(lab, "fw-b") as forti:
            forti.send_config(["config system global", "set vdom-mode no-vdom", "end"])
    assert not_ok(check(lab)[1]) == ONLY_EXPECTED_WARNING


def deny_policy_id(show: str) -> str:
    """The id of egressctl's deny policy in ``show firewall policy``."""
    for block in re.split(r"\n\s*next\b", show):
        found = re.search(r"edit (\d+)", block)
        if found and "kind=deny" in block:
            return found.group(1)
    raise AssertionError(f"no egressctl deny policy in:\n{show}")


def test_06_drift_after_a_hand_edit(lab: Any) -> None:
    res = cli(lab, "isolate", "lab", "--device", "fw-b", "--yes", "--no-verify")
    assert res.returncode == 0, res.stdout + res.stderr
    try:
        code, doc = check(lab)
        assert code == 0 and results(doc)[("fw-b", "drift")]["status"] == "ok", doc["problems"]
        with operator(lab, "fw-b") as forti:  # someone re-opens the firewall by hand during the incident
            pid = deny_policy_id(forti.send("show firewall policy"))
            forti.send_config(["config firewall policy", f"edit {pid}", "set action accept", "next", "end"])
        code, doc = check(lab)
        assert code == 7 and ("fw-b", "drift", "fail") in not_ok(doc), doc["problems"]
        drift = next(s for s in doc["subjects"] if s["name"] == "fw-b")["info"]["drift"]
        assert drift["status"] == "drift" and drift["expected"] == "isolated", drift
        assert any(d.startswith("-v4 permit any") for d in drift["diff"]), drift["diff"]
        assert any(d.startswith("+v4 deny any") for d in drift["diff"]), drift["diff"]
        live = cli(lab, "status", "lab", "--live", "--json")
        rows = {r["device"]: r for r in json.loads(live.stdout)["drift"]}
        assert rows["fw-b"]["status"] == "drift" and rows["core-b"]["status"] == "in-sync", rows
        text = cli(lab, "status", "lab", "--live")
        assert "fw-b: drift (journal: isolated" in text.stdout and "+v4 deny any" in text.stdout, text.stdout
        print("\n" + text.stdout)
    finally:
        res = cli(lab, "restore", "lab", "--full", "--device", "fw-b", "--yes", "--no-verify")
        assert res.returncode == 0, res.stdout + res.stderr
    assert not_ok(check(lab)[1]) == ONLY_EXPECTED_WARNING


def test_07_vantage_point_down(lab: Any) -> None:
    # Linux forgets a link's IPv6 addresses when it goes down unless told to keep them (to restore it here)
    in_node(lab, "ws1", "sysctl", "-qw", "net.ipv6.conf.eth0.keep_addr_on_down=1")
    in_node(lab, "ws1", "ip", "link", "set", "eth0", "down")
    try:
        code, doc = check(lab)
        assert code == 7 and ("ws1", "addresses", "fail") in not_ok(doc), doc["problems"]
        assert "10.10.1.11" in results(doc)[("ws1", "addresses")]["detail"]
    finally:
        in_node(lab, "ws1", "ip", "link", "set", "eth0", "up")
        in_node(lab, "ws1", "ip", "route", "replace", "default", "via", "10.10.1.1")
        # the IPv6 gateway is reachable again once duplicate address detection is over
        in_node(lab, "ws1", "ip", "-6", "route", "replace", "default", "via", "fd10:0:1::1", tries=50)
    assert not_ok(check(lab)[1]) == ONLY_EXPECTED_WARNING
