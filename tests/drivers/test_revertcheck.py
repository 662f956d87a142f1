"""The revert host's read-only check (``egressctl check``): the probe's text, its reading, the failed step.

The probe is shell text, so it is run here for real by ``/bin/sh`` in a private ``$HOME`` (as the revert
host's login shell runs it): a fresh host, a job directory of the wrong mode or owner, a file in its place,
an armed job, a job that fired and failed, a ``PATH`` without ``setsid`` and ``ssh``; each time the files
are listed before and after, to hold that it writes nothing. :func:`judge` is also fed probe text that
root cannot produce (an unwritable parent). :func:`check_revert_host` is driven through a real
:class:`RevertHost`: an unpinned ProxyJump hop fails at ``path`` before anything is opened, a closed port
at ``login``; the PAN-OS and ASA preflights list ``safety-net`` naming the revert host, then ``revert-host``.
The lab version, through the lab's real OpenSSH bastion, is ``tests/lab/test_revertcheck_lab.py``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from egressctl_drivers.cisco_asa import preflight as asa
from egressctl_drivers.common import revertcheck as rc
from egressctl_drivers.common import reverthost
from egressctl_drivers.common.reverthost import RevertHost, revert_host
from egressctl_drivers.paloalto_panos import preflight as panos

from egressctl.check import Status
from egressctl.inventory.loader import parse_inventory
from egressctl.inventory.models import Device
from tests.support.engine_double import inventory_yaml

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJFqmyvplbwGX28UwMlT/Yd4A7bb9Ikqe9ewOYRdZ8oG"
DEV = "fw-a"


def _probe(home: Path, path: str | None = None) -> tuple[rc.Probe, str]:
    """Run the probe with ``/bin/sh`` in ``home``; (parsed, raw). Asserts it wrote nothing."""
    before = sorted((str(p), p.stat().st_mtime_ns) for p in home.rglob("*"))
    env = {"HOME": str(home), "PATH": path if path is not None else os.environ.get("PATH", "/usr/bin:/bin")}
    out = subprocess.run(["/bin/sh", "-c", rc.probe_command(DEV)], env=env, capture_output=True, text=True,
                         timeout=20, check=True)
    assert sorted((str(p), p.stat().st_mtime_ns) for p in home.rglob("*")) == before, "the probe wrote"
    return rc.parse_probe(out.stdout), out.stdout


def _job_dir(home: Path, mode: int = 0o700) -> Path:
    d = home / ".egressctl" / "revert" / DEV
    d.mkdir(parents=True)
    d.chmod(mode)
    return d


def test_a_fresh_host_passes_and_names_what_the_job_will_find(tmp_path: Path) -> None:
    probe, raw = _probe(tmp_path)
    assert probe.dir == ["absent"] and probe.parent == [str(tmp_path), "writable=yes"], raw
    assert rc.missing_tools(probe) == [] and probe.uid == str(os.getuid())
    found = rc.judge(probe, "bastion", DEV)
    assert found.status == Status.OK and found.name == "revert-host", found
    assert f"can be created under {tmp_path}" in found.detail and "no job armed" in found.detail
    assert "bastion" in found.detail


def test_a_private_job_directory_passes(tmp_path: Path) -> None:
    _job_dir(tmp_path)
    probe, raw = _probe(tmp_path)
    assert probe.dir[0] == "dir" and probe.dir[1].startswith("drwx------"), raw
    assert rc.judge(probe, "bastion", DEV).status == Status.OK


@pytest.mark.parametrize("mode", [0o755, 0o770, 0o701])
def test_a_job_directory_others_can_reach_fails_at_directory(tmp_path: Path, mode: int) -> None:
    _job_dir(tmp_path, mode)
    found = rc.judge(_probe(tmp_path)[0], "bastion", DEV)
    assert found.status == Status.FAIL and "directory:" in found.detail and "0700" in found.detail, found


def test_a_file_in_place_of_the_job_directory_fails(tmp_path: Path) -> None:
    (tmp_path / ".egressctl" / "revert").mkdir(parents=True)
    (tmp_path / ".egressctl" / "revert" / DEV).write_text("x")
    found = rc.judge(_probe(tmp_path)[0], "bastion", DEV)
    assert found.status == Status.FAIL and "is not a directory" in found.detail, found


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_a_job_directory_of_another_user_fails(tmp_path: Path) -> None:
    os.chown(_job_dir(tmp_path), 65534, 65534)
    found = rc.judge(_probe(tmp_path)[0], "bastion", DEV)
    assert found.status == Status.FAIL and "owned by uid 65534" in found.detail, found


def test_an_armed_job_is_reported_with_its_stamp(tmp_path: Path) -> None:
    (_job_dir(tmp_path) / "armed").write_text("op=op-7 owner=alice@noc\n")
    probe, raw = _probe(tmp_path)
    assert probe.armed == "op=op-7 owner=alice@noc", raw
    found = rc.judge(probe, "bastion", DEV)
    assert found.status == Status.FAIL and "armed:" in found.detail and "owner=alice@noc" in found.detail


def test_a_job_that_fired_and_failed_warns(tmp_path: Path) -> None:
    result = _job_dir(tmp_path) / "result"
    result.write_text("fired-failed\n")
    found = rc.judge(_probe(tmp_path)[0], "bastion", DEV)
    assert found.status == Status.WARN and "fired and failed" in found.detail, found
    result.write_text("fired-ok\n")
    assert rc.judge(_probe(tmp_path)[0], "bastion", DEV).status == Status.OK


def test_missing_tools_fail_at_tools(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in set(rc.TOOLS) - {"setsid", "ssh"} | {"id", "ls"}:
        found_at = shutil.which(tool)
        assert found_at is not None, tool
        (bin_dir / tool).symlink_to(found_at)
    home = tmp_path / "home"
    home.mkdir()
    probe, raw = _probe(home, str(bin_dir))
    assert rc.missing_tools(probe) == ["setsid", "ssh"], raw
    found = rc.judge(probe, "bastion", DEV)
    assert found.status == Status.FAIL and "tools: setsid, ssh not on the PATH" in found.detail, found


def test_judge_reads_what_root_cannot_produce() -> None:
    tools = "".join(f"tool {t} /usr/bin/{t}\n" for t in rc.TOOLS)
    text = f"uid 1000\n{tools}ssh-version OpenSSH_8.4p1\n"
    blocked = rc.judge(rc.parse_probe(text + "dir absent\nparent /home/ops writable=no\n"), "b", DEV)
    assert blocked.status == Status.FAIL and "(/home/ops) is not writable" in blocked.detail, blocked
    lost = rc.judge(rc.parse_probe(text + "dir absent\nparent - writable=no\n"), "b", DEV)
    assert lost.status == Status.FAIL and "cannot be created" in lost.detail
    ro = rc.judge(rc.parse_probe(text + "dir dir drwx------ 1000 writable=no\n"), "b", DEV)
    assert ro.status == Status.FAIL and "not writable" in ro.detail
    acl = rc.judge(rc.parse_probe(text + "dir dir drwx------+ 1000 writable=yes\n"), "b", DEV)
    assert acl.status == Status.OK, acl  # an ACL mark after the mode changes nothing read here
    assert rc.judge(rc.parse_probe(""), "b", DEV).status == Status.FAIL  # nothing printed: nothing proved


# --- through a real RevertHost ---------------------------------------------------------------------------
def _device(tmp_path: Path, config: str, jumps: str) -> Device:
    """dev1 of a site with ssh_config ``config`` and jump hosts ``jumps``, ``revert_host: vault``."""
    site_cfg = tmp_path / "ssh_config"
    site_cfg.write_text(textwrap.dedent(config))
    pins = textwrap.indent(textwrap.dedent(jumps), "      ")
    extra = f"    ssh_config: {site_cfg}\n    jump_hosts:\n{pins}"
    text = inventory_yaml(devices=1).replace("    devices:\n", extra + "    devices:\n", 1)
    first = "        mgmt_address: 10.99.0.1\n"
    text = text.replace(first, first + "        options:\n          revert_host: vault\n", 1)
    return parse_inventory(text, "t.yaml").site("hq").device("dev1")


def _remote(dev: Device) -> RevertHost:
    host = revert_host(dev)
    assert host is not None
    return RevertHost(dev, host, 3.0)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: connections are refused


def test_an_unpinned_hop_fails_at_path_before_anything_is_opened(tmp_path: Path) -> None:
    pins = f"- name: vault\n  host_key: {KEY}\n"
    remote = _remote(_device(tmp_path, "Host vault\n  ProxyJump rogue\n", pins))
    found = rc.check_revert_host(remote)
    assert found.status == Status.FAIL and found.detail.startswith("revert host vault: path: "), found
    assert "rogue" in found.detail and "dev1:" not in found.detail


def _unreachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RevertHost:
    """dev1's revert host on a closed loopback port (the retry's pause skipped)."""
    real = reverthost.retry_once
    monkeypatch.setattr(reverthost, "retry_once", lambda attempt: real(attempt, sleep=lambda _s: None))
    monkeypatch.setenv("RC_SECRET", "rc-Secret-91")
    jumps = (f"- name: vault\n  host: 127.0.0.1\n  port: {_closed_port()}\n  username: ops\n"
             f"  credential: env:RC_SECRET\n  host_key: {KEY}\n")
    return _remote(_device(tmp_path, "", jumps))


def test_a_host_that_refuses_fails_at_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = rc.check_revert_host(_unreachable(tmp_path, monkeypatch))
    assert found.status == Status.FAIL and "revert host vault (127.0.0.1:" in found.detail, found
    assert ": login: " in found.detail and "would not be changed" in found.detail
    assert "rc-Secret-91" not in found.detail and found.detail.count("revert host vault") == 1, found


def test_an_unresolvable_credential_fails_before_the_login(tmp_path: Path) -> None:
    jumps = (f"- name: vault\n  host: 127.0.0.1\n  port: {_closed_port()}\n  credential: env:RC_UNSET_VAR\n"
             f"  host_key: {KEY}\n")
    found = rc.check_revert_host(_remote(_device(tmp_path, "", jumps)))
    assert found.status == Status.FAIL and "credential cannot be resolved" in found.detail, found
    assert "RC_UNSET_VAR" in found.detail


def test_the_preflights_name_the_revert_host_and_check_it(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    remote = _unreachable(tmp_path, monkeypatch)
    pan: Any = SimpleNamespace(diff=lambda: "", remote=remote)
    names = [(c.name, c.status) for c in panos.preflight(pan)]
    assert names == [("candidate", Status.OK), ("safety-net", Status.OK), ("revert-host", Status.FAIL)]
    net = panos.preflight(pan)[1]
    assert net.detail.startswith("revert job on vault") and "job on vault" in net.safety_net_effect
    assert "controller gone" in net.safety_net_effect and "watchdog" not in net.safety_net_effect
    bare: Any = SimpleNamespace(diff=lambda: "", remote=None)
    without = panos.preflight(bare)
    assert [c.name for c in without] == ["candidate", "safety-net"]
    assert "watchdog" in without[1].safety_net_effect
    fw: Any = SimpleNamespace(remote=remote, device=remote.device, send=lambda *_a, **_k: "")
    found = asa.preflight(fw)
    assert [(c.name, c.status) for c in found][1:] == [("safety-net", Status.OK),
                                                       ("revert-host", Status.FAIL)]
    assert found[1].detail.startswith("revert job on vault")


@pytest.mark.parametrize(("version", "words"), [
    ("OpenSSH_9.2p1 Debian-2+deb12u10", ""), ("OpenSSH_8.4p1", ""), ("OpenSSH_10.0p2", ""),
    ("OpenSSH_7.4p1", "8.4 or later"), ("OpenSSH_8.2p1 Ubuntu-4ubuntu0.11", "8.4 or later"),
    ("Dropbear v2022.83", "not OpenSSH"), ("", "not OpenSSH")])
def test_the_hosts_ssh_must_be_an_openssh_that_reads_askpass_require(version: str, words: str) -> None:
    assert (rc.ssh_problem(version) and words in rc.ssh_problem(version)) or rc.ssh_problem(version) == words
    text = "uid 0\n" + "".join(f"tool {t} /usr/bin/{t}\n" for t in rc.TOOLS) + f"ssh-version {version}\n"
    found = rc.judge(rc.parse_probe(text + "dir absent\nparent /root writable=yes\n"), "b", DEV)
    assert found.status == (Status.FAIL if words else Status.OK), found
