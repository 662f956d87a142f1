"""The lab run by an unprivileged user (``nobody``): everything inside one user namespace.

The test runs ``python -m egressctl_lab up/down`` as ``nobody`` through ``runuser``. On this machine the
Python interpreter lives under ``/root`` (mode 0700), which ``nobody`` cannot traverse; when that is the
case the commands run in a private mount namespace where ``/root`` is a world-readable tmpfs with only the
interpreter tree bind-mounted back (the host's /root is untouched). The controller side (netmiko, probes via
``node_exec_prefix``, which uses ``nsenter`` into the keeper's user namespace) runs as the test's own user,
as a CI job would. Skipped when user namespaces or ``runuser`` are unavailable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from egressctl_lab import node_exec_prefix

from tests.support.lab_checks import (
    LAB_YAML,
    check_devices,
    port_free,
    probe,
    processes_mentioning,
    run_netmiko,
)

PORT = 23120
WRAP = r"""
if [ -n "$WRAP_ROOT" ]; then
  d=$(mktemp -d) && mount --bind "$WRAP_ROOT" "$d" && mount -t tmpfs -o mode=755 tmpfs /root \
    && mkdir -p "$WRAP_ROOT" && mount --bind "$d" "$WRAP_ROOT" || exit 97
fi
exec runuser -u nobody -- "$@"
"""


def _python_tree() -> str:
    """The top directory under /root holding the interpreter, or '' when nobody can already run it."""
    exe = Path(sys.executable).resolve()
    if not str(exe).startswith("/root/"):
        return ""
    return "/root/" + exe.relative_to("/root").parts[0]


def as_nobody(argv: list[str], env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as nobody (see the module docstring for the mount-namespace detail)."""
    wrap_env = {**env, "WRAP_ROOT": _python_tree()}
    wrapped = ["unshare", "--mount", "--propagation", "private", "sh", "-c", WRAP, "sh", *argv]
    return subprocess.run(  # type: ignore[call-overload,no-any-return]
        wrapped, env=wrap_env, capture_output=True, text=True, timeout=120, **kw
    )


def _usable() -> str:
    if os.geteuid() != 0:
        return "needs root to switch to nobody with runuser"
    if not shutil.which("runuser") or not shutil.which("unshare") or not shutil.which("nsenter"):
        return "runuser/unshare/nsenter missing"
    userns = ["unshare", "--user", "--map-root-user", "--net", "--mount", "true"]
    probe_run = as_nobody(userns, dict(os.environ))
    if probe_run.returncode != 0:
        return f"unprivileged user namespaces unavailable: {probe_run.stderr.strip()}"
    return ""


pytestmark = [pytest.mark.lab]


@pytest.fixture(scope="module")
def userns_lab() -> Iterator[dict[str, str]]:
    reason = _usable()
    if reason:
        pytest.skip(reason)
    base = Path(tempfile.mkdtemp(prefix="egressctl-userns-", dir="/tmp"))
    base.chmod(0o755)
    os.chown(base, 65534, 65534)
    env = {**os.environ, "HOME": str(base), "EGRESSCTL_STATE_DIR": str(base / "state")}
    env.pop("EGRESSCTL_LAB_MODE", None)
    py = str(Path(sys.executable))
    common = ["-i", str(LAB_YAML), "--prefix", "xl-u-"]
    try:
        up = as_nobody([py, "-m", "egressctl_lab", "up", *common, "--port-base", str(PORT)], env, cwd="/")
        assert up.returncode == 0, up.stdout + up.stderr
        yield env
    finally:
        down = as_nobody([py, "-m", "egressctl_lab", "down", *common], env, cwd="/")
        assert down.returncode == 0, down.stdout + down.stderr
        assert processes_mentioning(str(base)) == []
        assert all(port_free(PORT + i) for i in range(5))
        shutil.rmtree(base, ignore_errors=True)


def test_unprivileged_lab_is_in_userns_mode_and_owned_by_nobody(userns_lab: dict[str, str]) -> None:
    doc = json.loads(Path(userns_lab["EGRESSCTL_STATE_DIR"], "lab", "lab.json").read_text())
    assert doc["mode"] == "userns"
    assert os.stat(f"/proc/{doc['keeper_pid']}").st_uid == 65534
    # nothing of the lab is visible in the host's `ip netns`
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "xl-u-" not in listed


def test_netmiko_reaches_every_device_on_loopback(userns_lab: dict[str, str]) -> None:
    status = subprocess.run([sys.executable, "-m", "egressctl_lab", "status", "--json"], env=userns_lab,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    secret = Path(userns_lab["EGRESSCTL_STATE_DIR"], "lab", "secret").read_text().strip()
    assert secret not in status.stdout
    check_devices(run_netmiko(status.stdout))


def test_probes_through_both_exits(userns_lab: dict[str, str]) -> None:
    state = Path(userns_lab["EGRESSCTL_STATE_DIR"])

    def prefix(node: str) -> list[str]:
        return node_exec_prefix(node, state)

    assert prefix("ws1")[0] == "nsenter"
    for node, isp in (("ws1", "100.64.11.1"), ("srv1", "100.64.12.1")):
        result = probe(prefix, node, "192.0.2.80")
        assert result["tcp"] == f"canary tcp/443 192.0.2.80 from {isp}", result
        assert result["udp"] and result["icmp"], result
        v6 = probe(prefix, node, "2001:db8:c::80", 80, 53)
        assert v6["tcp"] and v6["udp"] is not None and v6["icmp"], v6
