"""``egressctl check`` proves an ASA's and a PAN-OS firewall's revert host (a real OpenSSH bastion).

First the clinic (lab/clinic.yaml), whose ASA already names ``revert_host: bastion``: ``egressctl check
clinic --device clinic-fw --json`` passes, its ``safety-net`` line naming the job on the bastion and its
``revert-host`` check passing. Then the hospital lab's inventory, with fw-a given ``revert_host: bastion``,
is checked by the CLI (``egressctl check lab --device fw-a --json``, a process of its own) three times:

1. as it is: exit 0; fw-a's ``safety-net`` line names the job on the bastion (not the controller's
   watchdog) and its ``revert-host`` check passes, naming the bastion and its address;
2. with the bastion's pin replaced by another key: exit 7 (``check``'s "a check failed"), ``revert-host``
   failed at ``login`` saying the key is not the pinned one, and no login reached the bastion's sshd;
3. with the bastion down (its sshd refused by an nftables ``reject`` in its own namespace): exit 7,
   ``revert-host`` failed at ``login``.

Each time nothing changed: the device's running configuration (and PAN-OS candidate) and pending state,
read with its driver over its own session without a revert host, and every file under the bastion's login
``$HOME`` (path, size, mtime) are the same before and after, and no secret of the lab is in the output.
Root mode only (the bastion's sshd needs root). Namespaces ``rc-``, loopback ports 28750-28755 and
28760-28765 (the clinic, down before the hospital is up); each lab comes down however the tests end, and
the nftables table added in the bastion's namespace is removed in ``finally``.
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
import yaml
from egressctl_lab import Lab, hostkeys

from egressctl.inventory.credentials import secret_for
from egressctl.inventory.loader import load_inventory
from egressctl.registry import driver_class
from tests.conftest import lab_available
from tests.support.lab_checks import namespaces_with, port_free
from tests.support.labkit import left_clean_lab

pytestmark = [pytest.mark.lab, pytest.mark.skipif(os.geteuid() != 0, reason="the bastion's sshd needs root")]
PREFIX, PORT_BASE, CLINIC_PORTS = "rc-", 28750, 28760
CLINIC = Path(__file__).resolve().parents[2] / "lab" / "clinic.yaml"
TABLE = "rc_bastion_down"
#: How each platform's whole configuration is read without writing (a PAN-OS snapshot would save a file).
READ = {"paloalto_panos": lambda drv: drv.read_state().raw + drv.diff(),
        "cisco_asa": lambda drv: drv.send("show running-config")}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    t0 = time.monotonic()
    with left_clean_lab(tmp_path_factory, PREFIX, PORT_BASE) as instance:
        print(f"\nlab up in {time.monotonic() - t0:.1f} s")
        yield instance


def _site_file(lab: Lab, out: Path, *, bastion_pin: str | None = None) -> Path:
    """The lab's inventory with fw-a's ``revert_host: bastion`` (and, if given, another pin for it)."""
    out.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load(lab.inventory_path.read_text())
    data.pop("lab", None)
    site = next(s for s in data["sites"] if s["name"] == lab.site.name)
    if bastion_pin is not None:
        next(j for j in site["jump_hosts"] if j["name"] == "bastion")["host_key"] = bastion_pin
    fw_a = next(d for d in site["devices"] if d["name"] == "fw-a")
    fw_a.setdefault("options", {})["revert_host"] = "bastion"
    path = out / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _bastion_home(lab: Lab) -> Path:
    return Path(lab.paths.run) / "sshd-bastion" / "home" / "admin"


def _logins(lab: Lab) -> int:
    log = (Path(lab.paths.run) / "logs" / "sshd-bastion.log").read_text(errors="replace")
    return log.count("Accepted password for admin") + log.count("Accepted publickey for admin")


def _world(lab: Lab, site: str = "lab", device: str = "fw-a") -> dict[str, Any]:
    """What must not change: the device's running configuration (and candidate), the bastion's files.

    Read with the device's driver over its own session, the device entry stripped of its ``revert_host``
    (so reading it never logs in to the bastion).
    """
    dev = load_inventory(lab.inventory_path).site(site).device(device)
    dev = dev.model_copy(update={"options": {k: v for k, v in dev.options.items() if k != "revert_host"}})
    drv: Any = driver_class(dev.platform)(dev)  # type: ignore[call-arg]
    drv.open(secret_for(dev))
    try:
        seen = {"running": READ[dev.platform](drv), "pending": drv.has_pending_commit()}
    finally:
        drv.close()
    home = _bastion_home(lab)
    files = sorted((str(p.relative_to(home)), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in home.rglob("*"))
    return {device: seen, "bastion": files}


def _check(lab: Lab, inventory: Path, site: str = "lab",
           device: str = "fw-a") -> tuple[int, dict[str, Any], str]:
    """``egressctl check SITE --device DEVICE --json`` as a process: (exit code, device's subject, output).

    The lab's state directory is the CLI's (it maps the site's namespaces to the lab's ``rc-`` ones for the
    vantage and capture points); ``check`` writes no journal entry there.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGRESSCTL_")}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "egressctl", "-i", str(inventory), "--state-dir",
                           str(lab.paths.state), "check", site, "--device", device, "--json"],
                          capture_output=True, text=True, timeout=240, env=env, check=False)
    text = proc.stdout + proc.stderr
    assert proc.stdout.strip(), text[-3000:]
    assert lab.paths.secret.read_text().strip() not in text, "a secret reached the output"
    doc = json.loads(proc.stdout)
    found = next(s for s in doc["subjects"] if s["name"] == device)
    print(f"\ncheck {site} --device {device}: exit {proc.returncode} in {time.monotonic() - t0:.1f} s "
          f"({device} {found['elapsed_s']:.2f} s): "
          + "; ".join(f"{c['name']} {c['status']}" for c in found["checks"]))
    for c in found["checks"]:
        if c["name"] in ("safety-net", "revert-host") or c["status"] != "ok":
            print(f"  {c['name']} {c['status']}: {c['detail']}")
    return proc.returncode, found, text


def _checks(fw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in fw["checks"]}


def test_the_clinic_asa_revert_host_is_proved(tmp_path: Path) -> None:
    """The clinic's ASA (``revert_host: bastion`` in lab/clinic.yaml) passes with its job's host checked.

    Its own lab, up and down inside this test (first in the file, so the hospital is not up at the same
    time), prefix ``rc-``, ports 28760-28765.
    """
    if not lab_available():
        pytest.skip("network namespaces are not available")
    clinic = Lab(CLINIC, prefix=PREFIX, port_base=CLINIC_PORTS, state_dir=tmp_path / "state")
    try:
        t0 = time.monotonic()
        clinic.up()
        print(f"\nclinic up in {time.monotonic() - t0:.1f} s")
        before, logins = _world(clinic, "clinic", "clinic-fw"), _logins(clinic)
        code, fw, text = _check(clinic, clinic.inventory_path, "clinic", "clinic-fw")
        found = _checks(fw)
        assert code == 0, text[-3000:]
        net, rh = found["safety-net"], found["revert-host"]
        assert net["status"] == "ok" and net["detail"].startswith("revert job on bastion"), net
        assert "a job on bastion" in net["safety_net_effect"], net
        assert rh["status"] == "ok" and rh["detail"].startswith("revert host bastion (127.0.0.1:"), rh
        assert "no job armed" in rh["detail"], rh
        assert _logins(clinic) - logins == 1, "one bastion login: the state read and the probe share it"
        assert _world(clinic, "clinic", "clinic-fw") == before, "check changed something"
    finally:
        clinic.down()
    assert namespaces_with(PREFIX) == [], "the clinic's namespaces outlived it"
    assert all(port_free(CLINIC_PORTS + i) for i in range(6))


def test_check_passes_and_names_the_job_on_the_bastion(lab: Lab, tmp_path: Path) -> None:
    before, logins = _world(lab), _logins(lab)
    code, fw, text = _check(lab, _site_file(lab, tmp_path))
    found = _checks(fw)
    assert code == 0, text[-3000:]
    net, rh = found["safety-net"], found["revert-host"]
    assert net["status"] == "ok" and net["detail"].startswith("revert job on bastion"), net
    assert "job on bastion" in net["safety_net_effect"] and "watchdog" not in net["safety_net_effect"], net
    assert "bastion" in fw["info"]["safety_net_effect"], fw["info"]
    assert rh["status"] == "ok", rh
    jumps = load_inventory(lab.inventory_path).site("lab").jump_hosts
    port = next(j.port for j in jumps if j.name == "bastion")
    assert rh["detail"].startswith(f"revert host bastion (127.0.0.1:{port}): logged in"), rh
    assert "no job armed" in rh["detail"] and "OpenSSH_" in rh["detail"], rh
    assert _logins(lab) - logins == 1, "one login on the bastion: the state read and the probe share it"
    assert _world(lab) == before, "check changed something"


def test_a_wrong_pin_for_the_bastion_fails_at_login(lab: Lab, tmp_path: Path) -> None:
    before, logins = _world(lab), _logins(lab)
    inventory = _site_file(lab, tmp_path, bastion_pin=hostkeys.public_line("ws1"))
    code, fw, text = _check(lab, inventory)
    rh = _checks(fw)["revert-host"]
    assert code == 7, text[-3000:]
    assert rh["status"] == "fail" and ": login: " in rh["detail"], rh
    assert "login: SSH host key is not the pinned one" in rh["detail"], rh
    assert "would not be changed" in rh["detail"] and rh["detail"].count("revert host bastion") == 1, rh
    assert _checks(fw)["safety-net"]["detail"].startswith("revert job on bastion")
    assert _logins(lab) == logins, "nothing was sent to a bastion showing another key"
    assert _world(lab) == before, "check changed something"


def test_a_bastion_that_is_down_fails_at_login(lab: Lab, tmp_path: Path) -> None:
    before = _world(lab)
    down = [f"add table inet {TABLE}",
            f"add chain inet {TABLE} input {{ type filter hook input priority 0; }}",
            f"add rule inet {TABLE} input tcp dport 22 reject with tcp reset"]
    for rule in down:
        lab.exec("bastion", ["nft", *rule.split()], check=True, capture_output=True, text=True)
    try:
        code, fw, text = _check(lab, _site_file(lab, tmp_path))
    finally:
        lab.exec("bastion", ["nft", "delete", "table", "inet", TABLE], check=True, capture_output=True)
    rh = _checks(fw)["revert-host"]
    assert code == 7, text[-3000:]
    assert rh["status"] == "fail" and ": login: " in rh["detail"], rh
    assert rh["detail"].startswith("revert host bastion (127.0.0.1:"), rh
    assert _world(lab) == before, "check changed something"
