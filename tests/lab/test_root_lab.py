"""The lab as root: named namespaces, real sshd on core-b, emulators, canaries, forwarder, clean teardown.

One lab (prefix ``xl-``) is shared by the module; the teardown tests build their own small-prefix labs
(the whole lab builds in about two seconds).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from egressctl_lab import Lab, node_exec_prefix
from egressctl_lab.errors import LabError

from tests.support.lab_checks import (
    LAB_YAML,
    check_devices,
    namespaces_with,
    port_free,
    probe,
    processes_mentioning,
    run_netmiko,
)

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="root mode needs root (the userns test covers non-root)"),
]
PORT = 23100


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    state = tmp_path_factory.mktemp("lab-root")
    instance = Lab(LAB_YAML, prefix="xl-", port_base=PORT, state_dir=state)
    try:
        instance.up()
        yield instance
    finally:
        instance.down()
    assert namespaces_with("xl-") == []
    assert processes_mentioning(str(state)) == []


def _status_json(lab: Lab) -> str:
    env = {**os.environ, "EGRESSCTL_STATE_DIR": str(lab.paths.state)}
    proc = subprocess.run([sys.executable, "-m", "egressctl_lab", "status", "--json"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_status_json_describes_nodes_and_devices(lab: Lab) -> None:
    text = _status_json(lab)
    doc = json.loads(text)
    assert doc["up"] and doc["mode"] == "root" and doc["prefix"] == "xl-"
    nodes = {n["name"]: n for n in doc["nodes"]}
    assert nodes["ws1"]["netns"] == "xl-ws1" and "fd10:0:1::11" in nodes["ws1"]["addresses"]
    devices = {d["name"]: d for d in doc["devices"]}
    assert devices["core-b"]["device_type"] == "linux" and devices["core-b"]["port"] == PORT + 2
    assert devices["fw-a"]["credential"] == f"file:{lab.paths.state}/lab/secret"
    assert lab.paths.secret.read_text().strip() not in text
    assert (lab.paths.secret.stat().st_mode & 0o777) == 0o600


def test_every_device_presents_its_pinned_host_key(lab: Lab) -> None:
    import paramiko

    for dev in lab.status().devices:
        with paramiko.Transport(("127.0.0.1", dev.port)) as transport:
            transport.start_client(timeout=10)
            key = transport.get_remote_server_key()
            assert f"{key.get_name()} {key.get_base64()}" == dev.host_key, dev.name


def test_plain_netmiko_script_drives_every_device(lab: Lab) -> None:
    check_devices(run_netmiko(_status_json(lab)))


def test_inside_hosts_reach_the_internet_by_their_own_exit(lab: Lab) -> None:
    def prefix(node: str) -> list[str]:
        return node_exec_prefix(node, lab.paths.state)

    for node, isp_v4 in (("ws1", "100.64.11.1"), ("srv1", "100.64.12.1")):
        v4 = probe(prefix, node, "192.0.2.80")
        assert v4["tcp"] == f"canary tcp/443 192.0.2.80 from {isp_v4}", (node, v4)
        assert v4["udp"].startswith(f"canary udp/443 192.0.2.80 from {isp_v4}") and v4["icmp"], (node, v4)
        v6 = probe(prefix, node, "2001:db8:c::80", 80, 53)
        assert v6["tcp"] and v6["tcp"].startswith("canary tcp/80 2001:db8:c::80"), (node, v6)
        assert v6["udp"] is not None and v6["icmp"], (node, v6)
    dns = probe(prefix, "ws1", "203.0.113.53", 53, 53)
    assert dns["tcp"] and dns["udp"] is not None and dns["icmp"]


def test_a_cut_that_forgets_management_locks_the_controller_out(lab: Lab) -> None:
    """ce-b is managed in band through core-b: dropping SSH there must cut the controller's session."""
    doc = json.loads(_status_json(lab))
    assert set(run_netmiko(json.dumps(doc), "ce-b")) == {"ce-b"}
    rules = (
        "table inet xl_test {\n chain forward {\n  type filter hook forward priority 0\n"
        "  ip daddr 10.10.103.2 tcp dport 22 drop\n }\n}\n"
    )
    lab.exec("core-b", ["nft", "-f", "-"], input=rules, text=True, check=True)
    try:
        attempt = (
            "from netmiko import ConnectHandler\n"
            f"ConnectHandler(device_type='juniper_junos', host='127.0.0.1', port={PORT + 4},"
            " username='admin', password='x', conn_timeout=3, banner_timeout=8, auth_timeout=3)"
        )
        proc = subprocess.run([sys.executable, "-c", attempt], capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0
    finally:
        lab.exec("core-b", ["nft", "delete", "table", "inet", "xl_test"], check=True)
    assert set(run_netmiko(json.dumps(doc), "ce-b")) == {"ce-b"}


def test_lab_exec_runs_inside_the_node(lab: Lab) -> None:
    env = {**os.environ, "EGRESSCTL_STATE_DIR": str(lab.paths.state)}
    argv = [sys.executable, "-m", "egressctl_lab", "exec", "srv1", "--", "ip", "-brief", "addr"]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and "10.10.1.20/24" in proc.stdout
    with pytest.raises(LabError, match="no lab node"):
        node_exec_prefix("nowhere", lab.paths.state)


def _assert_clean(prefix: str, state: Path, port: int, pids: list[int]) -> None:
    assert namespaces_with(prefix) == []
    assert processes_mentioning(str(state)) == []
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert all(port_free(port + i) for i in range(6))  # five devices and the bastion
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert prefix not in links


def test_crash_then_up_repairs_and_down_leaves_nothing(tmp_path: Path) -> None:
    lab = Lab(LAB_YAML, prefix="xl-r-", port_base=PORT + 40, state_dir=tmp_path)
    try:
        lab.up()
        pids = [int(f.read_text().split()[0]) for f in lab.paths.pids.glob("*.pid")]
        keeper = lab.status().keeper_pid
        sshds = sum(1 for n in lab.topology.nodes if n.sshd is not None)  # the bastion's and ws1's
        assert keeper is not None and len(pids) == 7 + sshds
        os.kill(keeper, signal.SIGKILL)  # a crashed keeper: namespaces and services stay behind
        time.sleep(0.2)
        assert len(namespaces_with("xl-r-")) == len(lab.topology.nodes)
        again = Lab(LAB_YAML, prefix="xl-r-", port_base=PORT + 40, state_dir=tmp_path).up()
        assert again.up and again.keeper_pid != keeper
        pids += [int(f.read_text().split()[0]) for f in lab.paths.pids.glob("*.pid")]
    finally:
        lab.down()
    _assert_clean("xl-r-", tmp_path, PORT + 40, pids)


def test_failed_up_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGRESSCTL_LAB_EMU_CMD", "false")
    lab = Lab(LAB_YAML, prefix="xl-f-", port_base=PORT + 60, state_dir=tmp_path)
    with pytest.raises(LabError, match="exited with status 1"):
        lab.up()
    _assert_clean("xl-f-", tmp_path, PORT + 60, [])


def test_interrupted_up_leaves_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "EGRESSCTL_STATE_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "egressctl_lab", "up", "--prefix", "xl-i-",
                             "--port-base", str(PORT + 80)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (tmp_path / "lab" / "run" / "pids" / "canary.pid").exists():
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    _assert_clean("xl-i-", tmp_path, PORT + 80, [])
