"""A real Linux firewall for the linux_nftables driver tests: network namespace + real sshd + sudo.

Used until/unless the LAB's ``egressctl.lab.Lab`` provides core-b. Namespace ``d1-core`` runs a real
OpenSSH server on its own loopback; a small TCP relay on the host's 127.0.0.1 carries the SSH stream into
the namespace (one ``ip netns exec ... python3`` relay process per connection), so no host route or
address is ever added. The login user ``d1admin`` has a password and password-protected sudo, exactly the
path netmiko's ``linux`` class takes (``sudo -s``). Everything is removed on teardown.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from egressctl.inventory.models import Device
from egressctl.lab import hostkeys

NS = "d1-core"
USER = "d1admin"
RELAY = (
    "import socket,sys,os,threading\n"
    "s=socket.create_connection(('127.0.0.1',22))\n"
    "def up():\n"
    "    while True:\n"
    "        d=os.read(0,65536)\n"
    "        if not d: break\n"
    "        s.sendall(d)\n"
    "    s.shutdown(socket.SHUT_WR)\n"
    "threading.Thread(target=up,daemon=True).start()\n"
    "while True:\n"
    "    d=s.recv(65536)\n"
    "    if not d: break\n"
    "    os.write(1,d)\n"
)


def available() -> bool:
    """Root with ip, sshd and sudo: what this box needs."""
    return os.geteuid() == 0 and all(shutil.which(t) for t in ("ip", "nft", "sudo", "useradd")) and Path(
        "/usr/sbin/sshd").exists()


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def ns(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run a command inside the box's namespace."""
    return subprocess.run(["ip", "netns", "exec", NS, *argv], capture_output=True, text=True, timeout=30)


class _Relay:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_server(("127.0.0.1", port))
        self.sock.settimeout(0.5)
        self.stop = threading.Event()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            p = subprocess.Popen(["ip", "netns", "exec", NS, "python3", "-c", RELAY],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self.procs.append(p)
            threading.Thread(target=self._pump_in, args=(conn, p), daemon=True).start()
            threading.Thread(target=self._pump_out, args=(conn, p), daemon=True).start()

    @staticmethod
    def _pump_in(conn: socket.socket, p: subprocess.Popen[bytes]) -> None:
        assert p.stdin is not None
        with contextlib.suppress(OSError, ValueError):
            while data := conn.recv(65536):
                p.stdin.write(data)
                p.stdin.flush()
        with contextlib.suppress(OSError):
            p.stdin.close()

    @staticmethod
    def _pump_out(conn: socket.socket, p: subprocess.Popen[bytes]) -> None:
        assert p.stdout is not None
        with contextlib.suppress(OSError, ValueError):
            while data := os.read(p.stdout.fileno(), 65536):
                conn.sendall(data)
        with contextlib.suppress(OSError):
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        for p in self.procs:
            with contextlib.suppress(OSError):
                p.kill()
                p.wait(5)
        self.thread.join(5)


@dataclass
class LinuxBox:
    """The running box: its inventory device, the credential env var and the sshd process."""

    device: Device
    password: str
    env_var: str


@contextlib.contextmanager
def linux_box(port: int) -> Iterator[LinuxBox]:
    """Build the namespace, user, sshd and relay; tear everything down on exit (also on failure)."""
    tmp = Path(tempfile.mkdtemp(prefix="d1-box-"))
    password = "d1-" + secrets.token_urlsafe(12)
    sshd: subprocess.Popen[bytes] | None = None
    relay: _Relay | None = None
    created_user = False
    try:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        _run("ip", "netns", "add", NS)
        ns("ip", "link", "set", "lo", "up")
        if subprocess.run(["id", USER], capture_output=True).returncode != 0:
            _run("useradd", "-m", "-s", "/bin/bash", USER)
            created_user = True
        subprocess.run(["chpasswd"], input=f"{USER}:{password}\n".encode(), check=True, timeout=30)
        Path(f"/etc/sudoers.d/{USER}").write_text(f"{USER} ALL=(ALL) ALL\n")
        os.chmod(f"/etc/sudoers.d/{USER}", 0o440)
        key = hostkeys.write_private(NS, tmp / "host_key")
        cfg = tmp / "sshd_config"
        cfg.write_text(
            f"ListenAddress 127.0.0.1\nPort 22\nHostKey {key}\nPidFile {tmp}/sshd.pid\n"
            f"PasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM yes\nStrictModes no\n"
            f"AllowUsers {USER}\nPermitRootLogin no\n"
        )
        Path("/run/sshd").mkdir(exist_ok=True)
        sshd = subprocess.Popen(["ip", "netns", "exec", NS, "/usr/sbin/sshd", "-D", "-e", "-f", str(cfg)],
                                stdout=subprocess.DEVNULL, stderr=(tmp / "sshd.log").open("wb"))
        for _ in range(50):
            if ns("sh", "-c", "ss -ltn | grep -q '127.0.0.1:22 '").returncode == 0:
                break
            time.sleep(0.1)
        relay = _Relay(port)
        env_var = "D1_LINUX_BOX_SECRET"
        os.environ[env_var] = password
        device = Device(
            name="core-b", platform="linux_nftables", host="127.0.0.1", port=port, username=USER,
            credential=f"env:{env_var}", host_key=hostkeys.public_line(NS), inside=["lan0"], outside=["tb1"],
            exit="backup", mgmt_address=ipaddress.ip_address("10.99.0.3"),
        )
        yield LinuxBox(device, password, env_var)
    finally:
        if relay is not None:
            relay.close()
        if sshd is not None:
            sshd.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                sshd.wait(5)
        # The revert job and the namespace's processes die with the namespace's users; kill leftovers.
        subprocess.run(["ip", "netns", "pids", NS], capture_output=True)
        pids = subprocess.run(["ip", "netns", "pids", NS], capture_output=True, text=True).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), 9)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        Path(f"/etc/sudoers.d/{USER}").unlink(missing_ok=True)
        if created_user:
            subprocess.run(["userdel", "-r", USER], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
