"""The running lab as a real site is reached: every device and ws1 only through the bastion, via ssh_config.

:func:`write_site` turns a lab's effective inventory into the inventory an engineer would write for a site
behind a bastion: devices named by ssh_config ``Host`` aliases (``HostName`` is their management address,
``ProxyJump bastion``, no port), the bastion's address, port and user only in the ssh_config file, its key
pinned in ``jump_hosts``; device passwords from a password-manager stand-in (``cmd:``), core-b's sudo
secret as a separate ``enable_secret``, and the vantage point ws1 reached over SSH (its real sshd) running
this interpreter's ``-m egressctl probe``. Tests vary the pins and credentials through the keywords.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from egressctl_lab import Lab, hostkeys

#: A stand-in for `pass show NAME`: prints the first line of a file named on its command line.
VAULT = """import sys
print(open(sys.argv[1]).read().splitlines()[0])
"""


@dataclass(frozen=True)
class BastionSite:
    """The files of one variant: the inventory, its ssh_config and the stand-in vault command."""

    inventory: Path
    ssh_config: Path
    vault: Path

    def cmd(self, secret_file: Path) -> str:
        """A ``cmd:`` reference reading ``secret_file`` through the stand-in vault."""
        return f"cmd:{sys.executable} {self.vault} {secret_file}"


def _ssh_config(lab: Lab, site: dict[str, Any], jump_port: int) -> str:
    lines = ["# written by tests/support/bastion_kit.py", "Host bastion", "  HostName 127.0.0.1",
             f"  Port {jump_port}", "  User admin", ""]
    for dev in site["devices"]:
        lines += [f"Host {dev['name']}", f"  HostName {dev['mgmt_address']}", ""]
    ws1 = lab.topology.node("ws1").first_ipv4()
    names = " ".join([*(d["name"] for d in site["devices"]), "ws1"])
    lines += ["Host ws1", f"  HostName {ws1}", "  User admin", "", f"Host {names}", "  ProxyJump bastion", ""]
    return "\n".join(lines)


def write_site(lab: Lab, out: Path, *, jump: dict[str, Any] | None = None,
               device_keys: dict[str, str] | None = None) -> BastionSite:
    """Write the bastion variant of ``lab``'s inventory under ``out``.

    ``jump`` replaces fields of the inventory's bastion entry (a wrong ``host_key``, a ``key:``
    credential with a ``key_passphrase``); ``device_keys`` replaces devices' pinned keys by name.
    """
    out.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load(lab.inventory_path.read_text())
    data.pop("lab", None)
    site = next(s for s in data["sites"] if s["name"] == lab.site.name)
    bastion = next(j for j in site["jump_hosts"] if j["name"] == "bastion")
    secret = Path(str(bastion["credential"]).removeprefix("file:"))
    files = BastionSite(out / "inventory.yaml", out / "ssh_config", out / "vault.py")
    files.vault.write_text(VAULT)
    files.ssh_config.write_text(_ssh_config(lab, site, int(bastion["port"])))
    site["ssh_config"] = str(files.ssh_config)
    site["jump_hosts"] = [{"name": "bastion", "credential": bastion["credential"],
                           "host_key": bastion["host_key"], **(jump or {})}]
    for dev in site["devices"]:
        dev["host"] = dev["name"]
        dev.pop("port", None)
        dev["credential"] = files.cmd(secret)
        dev["host_key"] = (device_keys or {}).get(dev["name"], dev["host_key"])
        if dev["platform"] == "linux_nftables":
            dev["enable_secret"] = files.cmd(secret)
    vp = next(v for v in site["vantage_points"] if v["name"] == "ws1")
    vp.pop("netns")
    vp.update(ssh_host="ws1", ssh_user="admin", credential=files.cmd(secret),
              host_key=hostkeys.public_line("ws1"), egressctl_command=f"{sys.executable} -m egressctl")
    files.inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    return files
