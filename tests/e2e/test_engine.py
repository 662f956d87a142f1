"""The engine on the real lab: real SSH (netmiko's real classes), real nftables, real packets.

Restricted to the devices whose traffic srv1 crosses on exit "backup" when the whole-site run would be too
slow for CI: core-b (linux_nftables, a real Linux box with sshd) is isolated, restored stage by stage and
returned to normal through the CLI, while a probe from srv1's namespace proves each step with TCP
connections to the lab's "internet" services. The SIGKILL test kills ``egressctl isolate`` right after its
first ``commit`` event and re-runs it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.labkit import running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]
DEVICES = ["core-b"]
WEB, MAIL, DNS_TCP = ("192.0.2.80", 80), ("203.0.113.25", 25), ("203.0.113.53", 53)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("egressctl_drivers.linux_nftables.driver")
    with running_lab(tmp_path_factory, "xe-", 23000, export_state=False) as instance:
        yield instance


def cli(lab: Any, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EGRESSCTL_STATE_DIR": str(lab.state)}
    cmd = [sys.executable, "-m", "egressctl.cli.main", "-i", str(lab.inventory_path), *argv]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def scope() -> list[str]:
    return [a for d in DEVICES for a in ("--device", d)]


def reachable(lab: Any, node: str, target: tuple[str, int]) -> bool:
    """One bounded TCP connect from inside ``node``'s namespace."""
    from egressctl_lab import node_exec_prefix

    code = ("import socket,sys\ns=socket.socket();s.settimeout(1.5)\n"
            f"sys.exit(0 if s.connect_ex(({target[0]!r},{target[1]}))==0 else 1)")
    argv = [*node_exec_prefix(node, state_dir=lab.state), sys.executable, "-c", code]
    return subprocess.run(argv, capture_output=True, timeout=10, check=False).returncode == 0


def journal_steps(lab: Any) -> list[dict[str, Any]]:
    hist = json.loads(cli(lab, "history", "lab", "--json").stdout)["entries"]
    return [e for e in hist if e["kind"] == "DeviceStep"]


def test_isolate_restore_stages_full(lab: Any) -> None:
    assert reachable(lab, "srv1", WEB), "baseline: srv1 reaches the web canary"
    res = cli(lab, "isolate", "lab", "--yes", "--no-verify", *scope())
    assert res.returncode == 0, res.stdout + res.stderr
    assert not reachable(lab, "srv1", WEB) and not reachable(lab, "srv1", MAIL)
    assert reachable(lab, "srv1", DNS_TCP), "always-allowed DNS forwarder stays open"
    steps = {(e["payload"]["device"], e["payload"]["step"], e["payload"]["status"])
             for e in journal_steps(lab)}
    for step in ("connect", "read-state", "snapshot", "load", "diff", "commit", "readback", "mgmt-check",
                 "confirm"):
        assert ("core-b", step, "started") in steps and ("core-b", step, "ok") in steps
    res = cli(lab, "restore", "lab", "--stage", "ministry", "--yes", "--no-verify", *scope())
    assert res.returncode == 0, res.stdout + res.stderr
    assert reachable(lab, "srv1", MAIL) and not reachable(lab, "srv1", WEB)
    res = cli(lab, "restore", "lab", "--stage", "allowlist", "--yes", "--no-verify", *scope())
    assert res.returncode == 0, res.stdout + res.stderr
    assert not reachable(lab, "srv1", WEB)
    again = cli(lab, "restore", "lab", "--stage", "allowlist", "--yes", "--no-verify", "--json", *scope())
    assert json.loads(again.stdout.splitlines()[-1])["outcome"] == "noop"
    res = cli(lab, "restore", "lab", "--full", "--yes", "--no-verify", *scope())
    assert res.returncode == 0, res.stdout + res.stderr
    assert reachable(lab, "srv1", WEB)
    assert cli(lab, "history", "--verify").returncode == 0


def test_sigkill_mid_isolate_then_resume(lab: Any) -> None:
    env = {**os.environ, "EGRESSCTL_STATE_DIR": str(lab.state)}
    cmd = [sys.executable, "-m", "egressctl.cli.main", "-i", str(lab.inventory_path), "isolate", "lab",
           "--yes", "--json", "--no-verify", *scope()]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    killed_at = None
    try:
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        for line in proc.stdout:
            doc = json.loads(line)
            if doc.get("event") == "DeviceStep" and doc.get("step") == "commit":
                proc.send_signal(signal.SIGKILL)
                killed_at = doc
                break
            if time.monotonic() > deadline:
                break
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert killed_at is not None and proc.returncode == -signal.SIGKILL
    status = json.loads(cli(lab, "status", "lab", "--json").stdout)
    assert status["running"] and status["state"] == "isolating"
    assert "interrupted" in status["hint"] and "egressctl isolate lab" in status["hint"]
    res = cli(lab, "isolate", "lab", "--yes", "--no-verify", "--json", *scope())
    assert res.returncode == 0, res.stdout + res.stderr
    final = json.loads(res.stdout.splitlines()[-1])
    assert final["resumed"] == status["operation"]["op_id"]
    assert {d["device"]: d["after"] for d in final["devices"]} == dict.fromkeys(DEVICES, "isolated")
    assert not reachable(lab, "srv1", WEB)
    assert cli(lab, "history", "--verify").returncode == 0
    assert cli(lab, "restore", "lab", "--full", "--yes", "--no-verify", *scope()).returncode == 0


def test_management_lockout_is_caught_and_rolled_back(lab: Any) -> None:
    """A rendering that loses the management rules (test fault) must never be confirmed on a real box."""
    from egressctl.engine import Engine, TestFaults

    eng = Engine(lab.inventory_path, state_dir=lab.state)
    try:
        faults = TestFaults(drop_management_on={"core-b"})
        res = eng.isolate("lab", devices=DEVICES, verify=False, faults=faults)
    finally:
        eng.close()
    dev = next(d for d in res.devices if d.device == "core-b")
    assert res.exit_code == 5 and dev.outcome == "rolled-back"
    assert dev.failed_step in ("readback", "mgmt-check")
    assert reachable(lab, "srv1", WEB), "the faulty cut was rolled back"
