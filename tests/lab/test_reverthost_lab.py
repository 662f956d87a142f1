"""The PAN-OS revert job on a bastion described in ssh_config only, as most real sites describe theirs.

The lab's bastion (a real OpenSSH sshd) appears in the inventory as a name and a pinned key and nothing
else; its address, port, user and key (``IdentityFile``) are only in an ssh_config ``Host bastion`` entry
written here, and no SSH agent or ``~/.ssh`` of the machine is in reach. In file order:

1. fw-a's revert job (the PAN-OS job files, a delay it never reaches) armed on that bastion, read back as
   ``armed <stamp>``, disarmed (``was-armed``), read back as nothing: one public-key login as ``admin``;
2. ``egressctl isolate lab --device fw-a`` with ``revert_host: bastion`` commits (before, such a site was
   refused at commit: "the revert job could not be armed"), the confirm disarms the job, and the restore
   does the same;
3. a chain: the revert host is ws1 (its real sshd, password login), reached only through ``ProxyJump
   bastion``; armed, read and disarmed through the bastion.

Root mode only (the sshds need root). Namespaces ``rh-``, loopback ports 28700-28705; the lab comes down
however the tests end, and every job armed here is disarmed in ``finally``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from egressctl_drivers.common.reverthost import RevertHost, revert_host
from egressctl_drivers.paloalto_panos import revertjob as job
from egressctl_lab import Lab, hostkeys

from egressctl.inventory.credentials import resolve
from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Device
from tests.support.labkit import left_clean_lab

pytestmark = [pytest.mark.lab, pytest.mark.skipif(os.geteuid() != 0, reason="the bastion's sshd needs root")]
PREFIX, PORT_BASE = "rh-", 28700
NEVER = 900  # seconds: the jobs armed here are always disarmed long before


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    t0 = time.monotonic()
    with left_clean_lab(tmp_path_factory, PREFIX, PORT_BASE) as instance:
        print(f"\nlab up in {time.monotonic() - t0:.1f} s")
        yield instance


@pytest.fixture(autouse=True)
def _no_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No agent, no ~/.ssh of the machine: only the ssh_config written here can log in to the bastion."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


def _home(lab: Lab, node: str) -> Path:
    return lab.paths.run / f"sshd-{node}" / "home" / "admin"


def _log(lab: Lab, node: str) -> str:
    return (lab.paths.run / "logs" / f"sshd-{node}.log").read_text(errors="replace")


def _identity(lab: Lab, out: Path) -> Path:
    """A fresh ed25519 key (the operator's own), authorized on the bastion's admin."""
    key = Ed25519PrivateKey.generate()
    path = out / "id_ed25519"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    with (_home(lab, "bastion") / ".ssh" / "authorized_keys").open("a") as fh:
        fh.write(public.decode() + " rh-operator\n")
    return path


def _site_file(lab: Lab, out: Path, *, revert: str = "bastion") -> Path:
    """The lab's inventory with the bastion only in ssh_config, ws1 behind it, fw-a's ``revert_host``."""
    out.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load(lab.inventory_path.read_text())
    data.pop("lab", None)
    site = next(s for s in data["sites"] if s["name"] == lab.site.name)
    bastion = next(j for j in site["jump_hosts"] if j["name"] == "bastion")
    config = out / "ssh_config"
    config.write_text("\n".join([
        "# written by tests/lab/test_reverthost_lab.py: the bastion lives here only",
        "Host bastion", "  HostName 127.0.0.1", f"  Port {bastion['port']}", "  User admin",
        f"  IdentityFile {_identity(lab, out)}", "",
        "Host ws1", f"  HostName {lab.topology.node('ws1').first_ipv4()}", "  User admin",
        "  ProxyJump bastion", ""]))
    site["ssh_config"] = str(config)
    site["jump_hosts"] = [{"name": "bastion", "host_key": bastion["host_key"]},
                          {"name": "ws1", "credential": bastion["credential"],
                           "host_key": hostkeys.public_line("ws1")}]
    fw_a = next(d for d in site["devices"] if d["name"] == "fw-a")
    fw_a.setdefault("options", {})["revert_host"] = revert
    path = out / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _fw_a(inventory: Path) -> Device:
    return load_inventory(inventory).site("lab").device("fw-a")


def _arm_read_disarm(device: Device, home: Path) -> dict[str, Any]:
    """Arm fw-a's PAN-OS job on the device's revert host, read it, disarm it (always), read it again."""
    host = revert_host(device)
    assert host is not None
    rh = RevertHost(device, host, 20.0)
    found: dict[str, Any] = {"route": rh.route().describe()}
    try:
        t0 = time.monotonic()
        rh.arm_files(job.files(device, NEVER, resolve(device.credential), "op=rh-1 owner=rh-test"))
        found["armed"], found["arm_s"] = rh.state(), time.monotonic() - t0
        d = home / ".egressctl" / "revert" / device.name
        found["modes"] = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (d, d / "secret")}
    finally:
        found["disarm"] = rh.disarm()
        found["after"] = rh.state()
        rh.close()
    return found


def test_armed_read_and_disarmed_on_a_bastion_given_by_ssh_config_only(lab: Lab, tmp_path: Path) -> None:
    keys_before = _log(lab, "bastion").count("Accepted publickey for admin")
    found = _arm_read_disarm(_fw_a(_site_file(lab, tmp_path)), _home(lab, "bastion"))
    print(f"\narmed and read through the ssh_config-only bastion in {found['arm_s']:.2f} s")
    effective = load_inventory(lab.inventory_path).site("lab")
    port = next(j for j in effective.jump_hosts if j.name == "bastion").port
    assert found["route"] == f"127.0.0.1:{port}", found
    assert found["armed"] == "armed op=rh-1 owner=rh-test", found
    assert found["modes"] == {"fw-a": 0o700, "secret": 0o600}, found
    assert (found["disarm"], found["after"]) == ("was-armed", ""), found
    assert _log(lab, "bastion").count("Accepted publickey for admin") - keys_before == 1, "one key login"


def _cli(inventory: Path, state: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGRESSCTL_")}
    return subprocess.run([sys.executable, "-m", "egressctl", "-i", str(inventory), "--state-dir", str(state),
                           *argv], capture_output=True, text=True, timeout=300, env=env, check=False)


def test_isolate_commits_with_the_job_on_that_bastion(lab: Lab, tmp_path: Path) -> None:
    inventory = _site_file(lab, tmp_path / "site")
    secret = lab.paths.secret.read_text().strip()
    d = _home(lab, "bastion") / ".egressctl" / "revert" / "fw-a"
    try:
        for argv in (("isolate", "lab", "--device", "fw-a"),
                     ("restore", "lab", "--full", "--device", "fw-a")):
            keys_before = _log(lab, "bastion").count("Accepted publickey for admin")
            (d / "job.sh").unlink(missing_ok=True)
            t0 = time.monotonic()
            proc = _cli(inventory, tmp_path / "state", *argv, "--yes", "--no-verify")
            print(f"\n{argv[0]} fw-a with its job on the bastion: exit {proc.returncode} in "
                  f"{time.monotonic() - t0:.1f} s")
            text = proc.stdout + proc.stderr
            assert proc.returncode == 0, text[-3000:]
            assert "could not be armed" not in text and secret not in text
            assert (d / "job.sh").is_file() and not (d / "armed").exists(), "armed, then disarmed"
            assert not (d / "secret").exists(), "the confirm removed the password"
            assert _log(lab, "bastion").count("Accepted publickey for admin") > keys_before
    finally:
        _cli(inventory, tmp_path / "state", "restore", "lab", "--full", "--yes", "--no-verify", "--take-over")


def test_a_revert_host_behind_the_bastion(lab: Lab, tmp_path: Path) -> None:
    logins = _log(lab, "ws1").count("Accepted password for admin")
    found = _arm_read_disarm(_fw_a(_site_file(lab, tmp_path, revert="ws1")), _home(lab, "ws1"))
    print(f"\narmed and read on ws1 through the bastion in {found['arm_s']:.2f} s")
    assert "via jump host bastion (127.0.0.1:" in found["route"], found
    assert found["armed"] == "armed op=rh-1 owner=rh-test", found
    assert (found["disarm"], found["after"]) == ("was-armed", ""), found
    assert _log(lab, "ws1").count("Accepted password for admin") - logins == 1, "one login on ws1"
