"""The lab site reached only through its bastion (a real OpenSSH sshd), as a hospital's NOC reaches its own.

The inventory variant (``bastion_kit``) names devices by ssh_config aliases whose ``HostName`` is a
management address that exists only inside the lab's namespaces, so the only way to a device is the
``ProxyJump bastion`` of that ssh_config file; the bastion's address, port and user are in the file too,
its key pinned in the inventory. Device passwords come from a ``cmd:`` password-manager stand-in, core-b's
sudo secret from a separate ``enable_secret``, and the vantage point ws1 is probed over SSH (its real sshd,
``sudo -n`` of this interpreter's ``-m egressctl probe``). Wrong pins, of the bastion and of a device, are
refused before any credential is sent. Namespaces ``bj-``, loopback ports 24600-24605; the lab comes down
however the tests end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from egressctl_lab import Lab, hostkeys

from tests.support.bastion_kit import BastionSite, write_site
from tests.support.lab_checks import namespaces_with, port_free, processes_mentioning
from tests.support.labkit import running_lab

pytestmark = [pytest.mark.lab, pytest.mark.skipif(os.geteuid() != 0, reason="the bastion's sshd needs root")]
PREFIX, PORT_BASE = "bj-", 24600
PASSPHRASE = "bj-key-Passphrase-311"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(tmp_path_factory, PREFIX, PORT_BASE, export_state=False) as instance:
        state = instance.paths.state
        yield instance
    assert namespaces_with(PREFIX) == [], "the lab's namespaces outlived it"
    assert processes_mentioning(str(state)) == [], "a process of the lab (an sshd?) outlived it"
    assert all(port_free(PORT_BASE + i) for i in range(6))


def _secret(lab: Lab) -> str:
    return lab.paths.secret.read_text().strip()


def cli(lab: Lab, site: BastionSite, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m egressctl -i VARIANT --state-dir STATE ARGV`` (the journal next to the lab's files)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGRESSCTL_")}
    env["HOME"] = str(lab.paths.state)  # no ~/.ssh/config of the machine: only the variant's ssh_config
    return subprocess.run([sys.executable, "-m", "egressctl", "-i", str(site.inventory), "--state-dir",
                           str(lab.paths.state), *argv], capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)


def _result(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON document printed (or the last one of a ``--json`` stream: the operation's result)."""
    try:
        whole: dict[str, Any] = json.loads(proc.stdout)
        return whole
    except json.JSONDecodeError:
        docs = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert docs, proc.stdout + proc.stderr
    return docs[-1]


def _probe_host(doc: Any, vantage: str) -> str | None:
    """The host name a vantage point's probe run reported, wherever the verification document nests it."""
    if isinstance(doc, dict):
        runs = doc.get("runs")
        if isinstance(runs, dict) and isinstance(runs.get(vantage), dict):
            return str(runs[vantage].get("host"))
        doc = list(doc.values())
    if isinstance(doc, list):
        return next((h for h in (_probe_host(v, vantage) for v in doc) if h is not None), None)
    return None


def _bastion_log(lab: Lab) -> str:
    return (lab.paths.run / "logs" / "sshd-bastion.log").read_text(errors="replace")


def _files_outside_the_lab(lab: Lab) -> list[Path]:
    """The state directory's files but the lab's own (its secret file and device specs hold the password)."""
    return [f for f in lab.paths.state.rglob("*") if f.is_file() and not f.is_relative_to(lab.paths.root)]


def test_isolate_and_restore_every_device_through_the_bastion(lab: Lab, tmp_path: Path) -> None:
    site = write_site(lab, tmp_path / "site")
    accepted = _bastion_log(lab).count("Accepted password for admin")
    outputs: list[str] = []
    for argv, target in ((("isolate", "lab", "--yes", "--json"), "isolated"),
                         (("restore", "lab", "--full", "--yes", "--json"), "normal")):
        start = time.monotonic()
        proc = cli(lab, site, *argv)
        outputs += [proc.stdout, proc.stderr]
        doc = _result(proc)
        print(f"\n{argv[0]} through the bastion: exit {proc.returncode} in {time.monotonic() - start:.1f} s")
        errors = {d["device"]: (d.get("failed_step"), d.get("error")) for d in doc.get("devices", [])}
        assert proc.returncode == 0, (errors, doc.get("message"), proc.stderr[-3000:])
        assert {d["device"]: d["after"] for d in doc["devices"]} == dict.fromkeys(
            ("ce-a", "ce-b", "core-b", "fw-a", "fw-b"), target)
        verification = doc["verification"]
        assert verification["ok"], verification["summary"]
        assert _probe_host(verification, "ws1") == "ws1", "ws1 probed in its sshd box, over SSH"
    sessions = _bastion_log(lab).count("Accepted password for admin") - accepted
    assert sessions >= 2 * 5 * 2, f"every session (and fresh check) went through the bastion: {sessions}"
    password = _secret(lab)
    assert all(password not in text for text in outputs), "the cmd: secret reached the output"
    for f in _files_outside_the_lab(lab):
        assert password.encode() not in f.read_bytes(), f"the cmd: secret reached {f}"


def test_a_vantage_point_probed_over_ssh(lab: Lab, tmp_path: Path) -> None:
    site = write_site(lab, tmp_path / "site")
    proc = cli(lab, site, "verify", "lab", "--json")
    doc = _result(proc)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert _probe_host(doc, "ws1") == "ws1", "ws1 probed in its sshd box, over SSH"
    assert "normal-ok" in json.dumps(doc) and '"vantage": "ws1"' in json.dumps(doc)


def test_a_wrong_jump_host_key_is_refused_before_any_credential(lab: Lab, tmp_path: Path) -> None:
    site = write_site(lab, tmp_path / "site", jump={"host_key": hostkeys.public_line("not-the-bastion")})
    before = _bastion_log(lab)
    proc = cli(lab, site, "isolate", "lab", "--yes", "--no-verify")
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text
    assert "jump host bastion (127.0.0.1:24605): SSH host key is not the pinned one" in text, text[-3000:]
    new = _bastion_log(lab)[len(before):]
    assert "Accepted" not in new and "password" not in new.lower() and "publickey" not in new, new
    good = write_site(lab, tmp_path / "good")
    status = _result(cli(lab, good, "status", "lab", "--json"))
    assert set(status["device_states"].values()) == {"normal"}, "nothing was changed"
    assert cli(lab, good, "restore", "lab", "--full", "--yes", "--no-verify").returncode == 0


def test_a_wrong_device_key_is_refused(lab: Lab, tmp_path: Path) -> None:
    site = write_site(lab, tmp_path / "site", device_keys={"fw-a": hostkeys.public_line("not-fw-a")})
    proc = cli(lab, site, "plan", "lab", "--to", "isolated")
    text = proc.stdout + proc.stderr
    assert "fw-a" in text and "SSH host key is not the pinned one" in text, text[-3000:]
    assert text.count("SSH host key is not the pinned one") == 1, "only fw-a, and never retried"


def test_jump_host_key_with_a_passphrase_from_cmd(lab: Lab, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "jump_key"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                       serialization.BestAvailableEncryption(PASSPHRASE.encode())))
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    authorized = lab.paths.run / "sshd-bastion" / "home" / "admin" / ".ssh" / "authorized_keys"
    with authorized.open("a") as fh:  # appended: the file keeps its owner (admin) and mode
        fh.write(public.decode() + "\n")
    (tmp_path / "pp").write_text(PASSPHRASE + "\n")
    base = write_site(lab, tmp_path / "base")
    site = write_site(lab, tmp_path / "site", jump={"credential": f"key:{path}",
                                                    "key_passphrase": base.cmd(tmp_path / "pp")})
    before = _bastion_log(lab)
    proc = cli(lab, site, "plan", "lab", "--to", "isolated")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Accepted publickey for admin" in _bastion_log(lab)[len(before):]
    assert PASSPHRASE not in proc.stdout + proc.stderr
    for f in _files_outside_the_lab(lab):
        assert PASSPHRASE.encode() not in f.read_bytes(), f


def test_the_bastion_runs_this_interpreter(lab: Lab) -> None:
    """A job of the controller's own (a revert that must outlive it) can run on the bastion, as admin."""
    from egressctl.inventory.credentials import Secret
    from egressctl.ssh.route import Endpoint
    from egressctl.ssh.tunnel import login

    jump = lab.site.jump_hosts[0]
    port = PORT_BASE + len(lab.site.devices)
    bastion = Endpoint("jump host bastion", "127.0.0.1", port, "admin", jump.host_key)
    client = login("lab", bastion, Secret(password=_secret(lab)), None, 10)
    try:
        script = "import egressctl, socket; print(socket.gethostname())"
        _, out, _ = client.exec_command(f"{sys.executable} -c '{script}'", timeout=30)
        assert out.read().decode().strip() == "bastion" and out.channel.recv_exit_status() == 0
    finally:
        client.close()
