"""Issue 15 rootless: the clinic and the hospital in user-namespace mode, their SSH hosts included.

In a user namespace sshd cannot run, so the bastion and the SSH vantage host are served by the shellbox
fallback (``egressctl_lab.shellbox``: asyncssh, real bash, real ``setsid``/``sleep``/``ssh``). The labs run
with ``EGRESSCTL_LAB_MODE=userns`` (as root here: that is how the keeper runs in a user namespace), so none
of their namespaces shows in the host's ``ip netns``. Prefixes ``ur-c-`` (the clinic, loopback ports
28650-28653) and ``ur-h-`` (the hospital, 28660-28665) of the range 28650-28699; each lab comes down in
``finally``, checked: no process mentions its state directory and its ports are free. In file order:

1. the clinic isolated by one command (exit 0, cut-confirmed, every device isolated, the probe matrix
   exactly the policy's, our own connects from every clinic host: web cut, the CERT and the DNS forwarder
   kept, out-of-band SSH kept; the ASA's revert job armed on the bastion, then disarmed by the confirm);
2. stages ministry then allowlist open exactly their destinations;
3. full restore: every configuration back to its baseline, the web canary answers again;
4. the ASA's revert job fires with the controller SIGKILLed right after the ASA's change (the scenario of
   ``tests/e2e/test_safety.py``'s PAN-OS case, as root): the ASA is back where it was, nothing pending;
5. the hospital (``inventory/lab.yaml``) through its bastion only (every device by ``ProxyJump``:
   ``direct-tcpip`` from the bastion's namespace; ws1 probed over SSH with ``sudo -n``), fw-a's revert job
   on the bastion: isolate and full restore, exit 0 with verification ok;
6. the bastion as a user sees it: a key login, an exec fed 200 kB on stdin, ``sudo -n`` and a ``sudo`` with
   no terminal refused in sudo's words, a detached job that outlives its session.

Timings (lab up, each command) are printed, not asserted.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from egressctl_lab import Lab
from egressctl_lab.testing.emulator import wait_until

from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from tests.support.bastion_kit import write_site
from tests.support.lab_checks import port_free, processes_mentioning
from tests.support.site_e2e_support import (
    ROOT,
    SOURCE_INVENTORY,
    Event,
    SiteLab,
    answered,
    config_diff,
    matrix,
    parse_lines,
    run_until_killed,
    should_answer,
    with_session,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]
CLINIC, HOSPITAL = ROOT / "lab" / "clinic.yaml", SOURCE_INVENTORY
WEB, MAIL, SAAS = "192.0.2.80", "203.0.113.25", "198.18.20.10"
CERT_TLS, DNS_FWD = "203.0.113.10", "203.0.113.53"  # always allowed (tcp 443, tcp/udp 53)
HOSTS = ("ws1", "ops", "srv1", "ws2")  # one clinic host (at least) behind each exit
MGMT = ("10.99.0.1", "10.99.0.2", "10.99.0.3")
TIMINGS: dict[str, float] = {}
RELOAD_ACTION = "set system config-management commit-confirm action 'reload'"
EXPORT_STAMP = re.compile(r"^# \d{4}-\d\d-\d\d \d\d:\d\d:\d\d by RouterOS ")
CONNECTS = """
import json, socket, sys
out = {}
for target in json.loads(sys.argv[1]):
    host, port = target.rsplit(":", 1)
    ok = False
    for _ in range(int(sys.argv[2])):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.settimeout(1.0)
            ok = s.connect_ex((host, int(port))) == 0
        if ok:
            break
    out[target] = ok
print(json.dumps(out))
"""


def _usable() -> str:
    if not shutil.which("unshare") or not shutil.which("nsenter"):
        return "unshare/nsenter missing"
    check = subprocess.run(["unshare", "--user", "--map-root-user", "--net", "--mount", "true"],
                           capture_output=True, text=True, timeout=30, check=False)
    return "" if check.returncode == 0 else f"user namespaces unavailable: {check.stderr.strip()}"


@dataclass
class UsernsSite(SiteLab):
    """The e2e kit's SiteLab for a named site of the lab's inventory."""

    name: str = "lab"

    @property
    def site(self) -> Site:
        """The site as the effective inventory describes it."""
        return load_inventory(self.inventory).site(self.name)

    def timed(self, label: str, *args: str) -> tuple[int, list[Event], Event]:
        """``cli_json(args)``, its wall time recorded under ``label``."""
        t0 = time.monotonic()
        out = self.cli_json(*args, timeout=400)
        TIMINGS[label] = time.monotonic() - t0
        return out

    def connects(self, node: str, targets: list[str], attempts: int = 3) -> dict[str, bool]:
        """Which ``host:port`` a bounded TCP connect from lab node ``node`` reaches (retried ``attempts``)."""
        res = self.lab.exec(node, [sys.executable, "-c", CONNECTS, json.dumps(targets), str(attempts)],
                            capture_output=True, text=True, timeout=120, check=False)
        assert res.returncode == 0, res.stderr[-2000:]
        found: dict[str, bool] = json.loads(res.stdout)
        return found

    def log(self, name: str) -> str:
        """The log of one of the lab's processes (``sshd-bastion``, ``sshd-ws1``, ...)."""
        return (self.lab.paths.run / "logs" / f"{name}.log").read_text(errors="replace")


@contextmanager
def userns_site(factory: pytest.TempPathFactory, source: Path, name: str, label: str, prefix: str,
                port_base: int, ports: int) -> Iterator[UsernsSite]:
    """A lab in user-namespace mode, up for the body, down however it ends (checked)."""
    reason = _usable()
    if reason:
        pytest.skip(reason)
    state = factory.mktemp(f"{prefix}state")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EGRESSCTL_LAB_MODE", "userns")
        mp.setenv("EGRESSCTL_STATE_DIR", str(state))
        lab = Lab(source, prefix=prefix, port_base=port_base, state_dir=state)
        try:
            t0 = time.monotonic()
            lab.up()
            TIMINGS[f"{label} lab up"] = time.monotonic() - t0
            yield UsernsSite(lab, state, name=name)
        finally:
            lab.down()
            mine = {k: v for k, v in TIMINGS.items() if k.startswith(label)}
            print(f"\nur {label} timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in mine.items()))
    assert processes_mentioning(str(state)) == [], "a process of the lab (a shellbox? a job?) outlived it"
    assert all(port_free(port_base + i) for i in range(ports))


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UsernsSite]:
    """The clinic, up for the module, with its baseline configurations recorded."""
    with userns_site(tmp_path_factory, CLINIC, "clinic", "clinic", "ur-c-", 28650, 4) as site:
        assert site.lab.status().mode == "userns"
        site.baseline = site.snapshots()
        yield site


def _stable(config: str) -> str:
    """A configuration without RouterOS's export time stamp and the VyOS driver's reload action line."""
    return "\n".join(ln for ln in config.splitlines()
                     if not EXPORT_STAMP.match(ln) and ln.rstrip() != RELOAD_ACTION)


def _check_result(site: UsernsSite, rc: int, res: Event, target: str, verdict: str) -> None:
    """Exit 0, every device at ``target``, the verdict, and (cut) the probe matrix exactly the policy's."""
    assert rc == 0, res["message"]
    assert {d["device"]: d["after"] for d in res["devices"]} == dict.fromkeys(
        (d.name for d in site.devices), target)
    ver = res["verification"]
    assert ver["verdict"] == verdict, ver["summary"]
    if target != "normal":
        cells = matrix(ver)
        assert answered(cells) == should_answer(site.site, target, cells)


def test_clinic_isolated_rootless_with_its_revert_job_on_the_bastion(clinic: UsernsSite) -> None:
    logins = clinic.log("sshd-bastion").count("Accepted password for admin")
    rc, _, res = clinic.timed("clinic isolate", "isolate", "clinic", "--yes")
    _check_result(clinic, rc, res, "isolated", "cut-confirmed")
    assert clinic.log("sshd-bastion").count("Accepted password for admin") > logins, "the ASA's job host"
    job = clinic.lab.paths.run / "sshd-bastion" / "home" / "admin" / ".egressctl" / "revert" / "clinic-fw"
    assert (job / "job.sh").is_file() and not (job / "armed").exists(), "armed, then disarmed by the confirm"
    for node in HOSTS:
        seen = clinic.connects(node, [f"{WEB}:80", f"{CERT_TLS}:443", f"{DNS_FWD}:53"])
        assert seen == {f"{WEB}:80": False, f"{CERT_TLS}:443": True, f"{DNS_FWD}:53": True}, (node, seen)
    assert all(clinic.connects("ops", [f"{m}:22" for m in MGMT]).values()), "out-of-band SSH kept"


@pytest.mark.parametrize(("stage", "opened"), [("ministry", f"{MAIL}:25"), ("allowlist", f"{SAAS}:443")])
def test_clinic_stages_rootless(clinic: UsernsSite, stage: str, opened: str) -> None:
    rc, _, res = clinic.timed(f"clinic stage {stage}", "restore", "clinic", "--stage", stage, "--yes")
    _check_result(clinic, rc, res, stage, "cut-confirmed")
    for node in HOSTS:
        seen = clinic.connects(node, [opened, f"{WEB}:80"])
        assert seen == {opened: True, f"{WEB}:80": False}, (node, seen)


def test_clinic_full_restore_rootless(clinic: UsernsSite) -> None:
    rc, _, res = clinic.timed("clinic restore --full", "restore", "clinic", "--full", "--yes")
    _check_result(clinic, rc, res, "normal", "normal-ok")
    now = clinic.snapshots()
    for name, before in clinic.baseline.items():
        assert _stable(now[name]) == _stable(before), config_diff(before, now[name], name)
    for node in HOSTS:
        assert clinic.connects(node, [f"{WEB}:80"]) == {f"{WEB}:80": True}, node


def _back_to_normal(site: UsernsSite) -> None:
    """Restore --full from a state directory of its own, taking over whatever a killed run left."""
    env = {**site.env(), "EGRESSCTL_STATE_DIR": str(site.state / f"cleanup-{time.monotonic_ns()}")}
    proc = subprocess.run([*site.argv("restore", site.name, "--full", "--yes", "--no-verify", "--take-over"),
                           "--json"], env=env, capture_output=True, text=True, timeout=400, check=False)
    docs = parse_lines(proc.stdout)
    assert proc.returncode == 0 and docs and docs[-1].get("state") == "normal", proc.stdout[-2000:]


def test_asa_revert_job_fires_with_the_controller_killed_rootless(clinic: UsernsSite) -> None:
    fw = clinic.site.device("clinic-fw")
    before = with_session(fw, lambda drv: drv.read_state())
    argv = clinic.argv("isolate", "clinic", "--device", "clinic-fw", "--yes", "--no-verify",
                       "--revert-in", "20", "--json")
    try:
        hit, rc, _ = run_until_killed(clinic, argv, lambda e: e.get("event") == "CommitPending"
                                      and e.get("device") == "clinic-fw")
        killed = time.monotonic()
        assert hit is not None and rc == -9, "killed right after the ASA's change"
        assert with_session(fw, lambda drv: drv.read_state()).pending_commit, "the job guards the change"
        found: dict[str, Any] = {}

        def reverted() -> bool:
            found["state"] = with_session(fw, lambda drv: (drv.read_state(), drv.remote.state()))
            st, job = found["state"]
            return not st.pending_commit and job.startswith("fired")

        assert wait_until(reverted, timeout=20 + 120, interval=2.0), found
        st, job = found["state"]
        assert job == "fired-ok" and (st.target, st.fingerprint) == (before.target, before.fingerprint)
        assert time.monotonic() - killed >= 19, "the job waited its revert_in"
        print(f"\nASA revert job fired {time.monotonic() - killed:.1f} s after the SIGKILL")
    finally:
        _back_to_normal(clinic)


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UsernsSite]:
    """The hospital (``inventory/lab.yaml``), up for the module."""
    with userns_site(tmp_path_factory, HOSPITAL, "lab", "hospital", "ur-h-", 28660, 6) as site:
        yield site


def _through_the_bastion(site: UsernsSite, out: Path) -> Path:
    """The bastion-only variant (``bastion_kit``), fw-a's revert job on that bastion.

    The inventory entry gets the bastion's address, port and user too, so this test does not depend on the
    ssh_config the variant writes (``RevertHost`` reads it as a device's jump does since c789026; that path
    has its own test, ``tests/lab/test_reverthost_lab.py``).
    """
    files = write_site(site.lab, out)
    data = yaml.safe_load(files.inventory.read_text())
    lab_site = next(s for s in data["sites"] if s["name"] == "lab")
    jump = next(j for j in site.site.jump_hosts if j.name == "bastion")
    lab_site["jump_hosts"][0].update(host=jump.host, port=jump.port, username=jump.username)
    fw_a = next(d for d in lab_site["devices"] if d["name"] == "fw-a")
    fw_a.setdefault("options", {})["revert_host"] = "bastion"
    files.inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    return files.inventory


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


def test_hospital_through_the_bastion_rootless(hospital: UsernsSite, tmp_path: Path) -> None:
    inventory = _through_the_bastion(hospital, tmp_path / "site")
    env = {k: v for k, v in hospital.env().items() if not k.startswith("EGRESSCTL_")}
    env["HOME"] = str(hospital.state)  # only the variant's ssh_config
    forwarded = hospital.log("sshd-bastion").count("direct-tcpip to ")
    for argv, target in ((("isolate", "lab", "--yes"), "isolated"), (("restore", "lab", "--full", "--yes"),
                                                                     "normal")):
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "egressctl", "-i", str(inventory), "--state-dir",
                               str(hospital.state), *argv, "--json"], env=env, capture_output=True, text=True,
                              timeout=400, check=False)
        TIMINGS[f"hospital {argv[0]}"] = time.monotonic() - t0
        docs = parse_lines(proc.stdout)
        assert docs, proc.stdout[-2000:] + proc.stderr[-2000:]
        doc = docs[-1]
        errors = {d["device"]: (d.get("failed_step"), d.get("error")) for d in doc.get("devices", [])}
        assert proc.returncode == 0, (errors, doc.get("message"), proc.stderr[-2000:])
        assert {d["device"]: d["after"] for d in doc["devices"]} == dict.fromkeys(
            ("ce-a", "ce-b", "core-b", "fw-a", "fw-b"), target)
        assert doc["verification"]["ok"], doc["verification"]["summary"]
        assert _probe_host(doc["verification"], "ws1") == "ws1", "ws1 probed in its box, over SSH"
    assert hospital.log("sshd-bastion").count("direct-tcpip to ") - forwarded >= 2 * 5 * 2
    assert "Accepted password for admin" in hospital.log("sshd-ws1"), "the probe's login on ws1"
    job = hospital.lab.paths.run / "sshd-bastion" / "home" / "admin" / ".egressctl" / "revert" / "fw-a"
    assert (job / "job.sh").is_file() and not (job / "armed").exists(), "fw-a's job armed, then disarmed"


def test_the_rootless_bastion_as_a_user_sees_it(hospital: UsernsSite, tmp_path: Path) -> None:
    """A key login, an exec fed on stdin, sudo's refusals, and a detached job outliving its session."""
    import paramiko

    from egressctl.inventory.credentials import Secret
    from egressctl.ssh.route import Endpoint
    from egressctl.ssh.tunnel import login

    path = _key_file(tmp_path / "id_ed25519")
    key = paramiko.Ed25519Key.from_private_key_file(str(path))
    keys = hospital.lab.paths.run / "sshd-bastion" / "home" / "admin" / ".ssh" / "authorized_keys"
    with keys.open("a") as fh:
        fh.write(f"{key.get_name()} {key.get_base64()}\n")
    jump = next(j for j in hospital.site.jump_hosts if j.name == "bastion")
    client = login("lab", Endpoint("bastion", "127.0.0.1", int(jump.port or 22), "admin", jump.host_key),
                   Secret(key_file=str(path)), None, 10)
    try:
        def run(command: str, stdin: str = "") -> tuple[int, str, str]:
            chan_in, out, err = client.exec_command(command, timeout=30)
            chan_in.write(stdin)
            chan_in.channel.shutdown_write()
            text, errors = out.read().decode(), err.read().decode()
            return out.channel.recv_exit_status(), text, errors

        assert run("whoami; hostname") == (0, "admin\nbastion\n", "")
        assert run("cat > fed && wc -c < fed", "x" * 200000)[1].strip() == "200000", "stdin streamed in"
        status, _, errors = run("sudo -n true")
        assert status == 1 and "a password is required" in errors
        status, _, errors = run("sudo true")
        assert status == 1 and "a terminal is required" in errors
        detached = "setsid sh -c 'sleep 2; echo outlived > job.out' </dev/null >/dev/null 2>&1 & echo $!"
        assert run(detached)[0] == 0
    finally:
        client.close()
    out = hospital.lab.paths.run / "sshd-bastion" / "home" / "admin" / "job.out"
    assert wait_until(out.is_file, timeout=30, interval=0.5) and out.read_text() == "outlived\n"
    assert "Accepted publickey for admin" in hospital.log("sshd-bastion")


def _key_file(path: Path) -> Path:
    """A fresh unencrypted Ed25519 key in OpenSSH format at ``path`` (mode 0600)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))
    path.chmod(0o600)
    return path
