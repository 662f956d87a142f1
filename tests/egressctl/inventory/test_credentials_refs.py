"""Enable-secret and key-passphrase references: refused as literals, resolved at connect time, redacted,
and reaching netmiko as its ``secret`` and as the decrypted key (never as text in a message)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from egressctl_drivers.common import NetmikoDriverBase
from egressctl_lab import hostkeys

from egressctl.driver import Capability, SafetyNet
from egressctl.errors import AuthError, CredentialError, InventoryError
from egressctl.inventory.credentials import Secret, redact, references, secret_for, secret_for_vantage
from egressctl.inventory.loader import parse_inventory
from egressctl.inventory.models import Device, Site
from egressctl.preflight import check_device_credentials
from egressctl.ssh.route import device_route
from tests.support.engine_double import inventory_yaml

PASSPHRASE = "pp-Corr3ct-horse-42"
ENABLE = "en-S3cret-enable-77"
KEY = hostkeys.public_line("bastion")


def _site(extra: str, jumps: str = "") -> Site:
    text = re.sub(r"(?m)^ +port: \d+\n", "", inventory_yaml(devices=1))
    text = text.replace("        mgmt_address: 10.99.0.1\n", "        mgmt_address: 10.99.0.1\n" + extra, 1)
    text = text.replace("    devices:\n", "    ssh_config: none\n" + jumps + "    devices:\n", 1)
    return parse_inventory(text, "t.yaml").site("hq")


def _encrypted_key(path: Path, passphrase: str) -> Path:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.BestAvailableEncryption(passphrase.encode()))
    path.write_bytes(pem)
    return path


@pytest.mark.parametrize(("field", "value"), [
    ("enable_secret", "hunter2"), ("enable_secret", "key:/etc/k"), ("key_passphrase", "agent"),
    ("key_passphrase", "'cmd: '"),
])
def test_literals_and_non_values_are_refused(field: str, value: str) -> None:
    with pytest.raises(InventoryError, match=rf"devices\[dev1\]\.{field}: literal secrets are not allowed "
                                             r"here; use env:VAR, file:PATH or cmd:COMMAND"):
        _site(f"        {field}: {value}\n")


def test_enable_secret_resolves_separately(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGTEST_PASSWORD", "login-pw-1")
    monkeypatch.setenv("EGTEST_ENABLE", ENABLE)
    dev = _site("        enable_secret: env:EGTEST_ENABLE\n").device("dev1")
    secret = secret_for(dev)
    assert (secret.password, secret.enable, secret.enable_secret) == ("login-pw-1", ENABLE, ENABLE)
    assert ENABLE not in repr(secret) and redact(f"x {ENABLE}") == "x ***"
    assert Secret(password="only").enable_secret == "only", "no enable secret: the login password"


class _Probe(NetmikoDriverBase):
    platform = "cisco_ios"
    netmiko_device_type = "cisco_ios"
    capabilities = frozenset({Capability.IPV4})
    safety_net = SafetyNet.CONTROLLER_TIMER


def _params(dev: Device, secret: Secret) -> dict[str, Any]:
    return _Probe(dev)._connect_params(secret, "/dev/null", device_route(dev), None)


def test_netmiko_gets_the_enable_secret() -> None:
    dev = _site("").device("dev1")
    assert _params(dev, Secret(password="pw", enable=ENABLE))["secret"] == ENABLE
    assert _params(dev, Secret(password="pw"))["secret"] == "pw"


def test_an_encrypted_key_is_opened_with_its_passphrase(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    key = _encrypted_key(tmp_path / "id", PASSPHRASE)
    monkeypatch.setenv("EGTEST_PP", PASSPHRASE)
    dev = _site("        key_passphrase: env:EGTEST_PP\n").device("dev1").model_copy(
        update={"credential": f"key:{key}"})
    secret = secret_for(dev)
    assert secret.key_file == str(key) and secret.passphrase == PASSPHRASE
    params = _params(dev, secret)
    assert params["pkey"].get_name() == "ssh-ed25519" and params["use_keys"] is False
    assert PASSPHRASE not in repr(params)


@pytest.mark.parametrize(("passphrase", "why"), [(None, "is encrypted; set key_passphrase"),
                                                 ("wrong-pp-value", "cannot be read or decrypted")])
def test_a_key_that_cannot_be_opened_is_an_auth_error(tmp_path: Path, passphrase: str | None,
                                                      why: str) -> None:
    key = _encrypted_key(tmp_path / "id", PASSPHRASE)
    dev = _site("").device("dev1").model_copy(update={"credential": f"key:{key}"})
    with pytest.raises(AuthError, match=why) as ei:
        _params(dev, Secret(key_file=str(key), passphrase=passphrase))
    assert PASSPHRASE not in str(ei.value) and "wrong-pp-value" not in str(ei.value)


def test_an_encrypted_identity_file_without_passphrase_is_skipped(tmp_path: Path) -> None:
    key = _encrypted_key(tmp_path / "id", PASSPHRASE)
    (tmp_path / "cfg").write_text(f"Host *\n  IdentityFile {key}\n")
    dev = _site("").device("dev1").model_copy(update={"ssh_config": str(tmp_path / "cfg")})
    assert _params(dev, Secret(password="pw"))["pkey"] is None
    assert _params(dev, Secret(password="pw", passphrase=PASSPHRASE))["pkey"] is not None


def test_references_cover_the_jump_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    site = _site("        enable_secret: env:EGTEST_ENABLE\n        jump: bastion\n",
                 f"    jump_hosts:\n      - name: bastion\n        credential: env:EGTEST_JUMP\n"
                 f"        key_passphrase: env:EGTEST_JUMP_PP\n        host_key: {KEY}\n")
    dev = site.device("dev1")
    assert list(references(dev)) == [
        ("credential", "env:EGTEST_PASSWORD"), ("enable_secret", "env:EGTEST_ENABLE"),
        ("jump host bastion credential", "env:EGTEST_JUMP"),
        ("jump host bastion key_passphrase", "env:EGTEST_JUMP_PP")]
    for var in ("EGTEST_PASSWORD", "EGTEST_ENABLE", "EGTEST_JUMP", "EGTEST_JUMP_PP"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(CredentialError) as ei:
        check_device_credentials(site.devices)
    lines = str(ei.value).splitlines()
    assert lines[0] == "credentials cannot be resolved:"
    assert [ln.split(": ")[0] for ln in lines[1:]] == [
        "device dev1", "device dev1 enable_secret", "jump host bastion", "jump host bastion key_passphrase"]


def test_preflight_refuses_an_unpinned_proxyjump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGTEST_PASSWORD", "pw")
    (tmp_path / "cfg").write_text("Host 127.0.0.1\n  ProxyJump rogue\n")
    dev = _site("").device("dev1").model_copy(update={"ssh_config": str(tmp_path / "cfg")})
    with pytest.raises(CredentialError, match=r"SSH paths cannot be used:\ndevice dev1: SSH path: jump host "
                                              r"'rogue'"):
        check_device_credentials([dev])


def test_vantage_passphrase_without_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGTEST_PP", PASSPHRASE)
    text = inventory_yaml(devices=1).replace("    devices:\n", """    vantage_points:
      - name: probe
        exit: primary
        ssh_host: 10.10.1.20
        key_passphrase: env:EGTEST_PP
        addresses: [10.10.1.20]
    devices:
""", 1)
    vp = parse_inventory(text, "t.yaml").site("hq").vantage_points[0]
    secret = secret_for_vantage(vp)
    assert secret is not None and secret.passphrase == PASSPHRASE and secret.password is None


def test_ssh_fields_only_on_ssh_vantage_points() -> None:
    with pytest.raises(InventoryError, match=r"jump, key_passphrase: only for a vantage point reached over"):
        parse_inventory(inventory_yaml(devices=1, vantage=True).replace(
            "        netns: ws1\n", "        netns: ws1\n        jump: x\n        key_passphrase: env:X\n"),
            "t.yaml")


def test_device_model_alone_has_no_site_ssh() -> None:
    dev = Device(name="solo", platform="cisco_ios", host="10.0.0.1", username="u", credential="agent",
                 host_key=KEY, inside=["Gi0/1"], outside=["Gi0/0"], exit="primary",
                 mgmt_address=ipaddress.ip_address("10.0.0.1"))
    assert dev.site_ssh.jump_hosts == () and dev.site_ssh.ssh_config is None
