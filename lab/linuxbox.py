"""core-b, the lab's real Linux router: a real OpenSSH sshd and a real bash inside its namespace.

As root the lab runs the distribution's own ``/usr/sbin/sshd`` in core-b's network namespace, in a mount
and UTS namespace of its own (``unshare --mount --uts``), where lab-only ``passwd``/``shadow``/``group``/
``sudoers``/``hosts`` files, a lab ``/home`` and ``/root``, a tmpfs ``/run`` (for ``/run/sshd``) and empty
login-record files are bind-mounted over the host's. Nothing on the host's /etc or /var/log changes, yet
the box behaves like a real one: user ``admin`` with the lab password logs in to bash (prompt
``admin@core-b:~$ ``), ``sudo -s`` asks ``[sudo] password for admin:`` and gives a root shell, and ``nft``
is the real thing. :func:`prepare` writes the files (run by the keeper); ``main`` runs inside the new
mount namespace, does the mounts and execs sshd.

The files live in the state directory, which may itself be under a path that is bound over (the default
one, ``~/.local/state/egressctl``, is under ``/root`` for root; others may be under ``/home`` or ``/run``).
So ``main`` opens that directory first, mounts the private ``/run`` and binds the directory to
:data:`INSIDE` on it, and only then binds anything over the host's paths, always from :data:`INSIDE`:
every source stays reachable, and sshd's configuration names its key and pid file there.

core-b also boots as a Debian host does (``--boot``): its ``/etc`` is an overlay of the host's whose changes
live in the lab's ``etc-upper`` directory (:func:`private_etc`), kept across a reboot like a disk (the
host's /etc is never written, whatever runs as root on the box), and before sshd starts it loads
``/etc/nftables.conf`` as ``nftables.service`` would (a reboot, :func:`egressctl_lab.faults.restart_device`,
flushes the kernel's ruleset first). The lab's first ``/etc/nftables.conf`` is a Debian one without tables
(``flush ruleset``).

The same box, with :func:`prepare`'s options, is the lab's bastion (TCP forwarding and public keys on) and
its SSH vantage host (the probe allowed through ``sudo -n``). Those two have egressctl installed for
everyone, as a site's hosts would: with ``--share-interpreter`` their ``/root`` is a tmpfs holding only the
controller's interpreter tree when that lives under ``/root`` (say ``/root/.pyenv``), bound back, so the
box's users reach it although the host's ``/root`` is private.

Usage (inside ``unshare --mount --uts --propagation private``):
``python -m egressctl_lab.linuxbox --root DIR --hostname core-b [--share-interpreter] [--boot]``
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from egressctl_lab import hostkeys

MS_BIND = 4096
#: Where core-b's lab files appear inside its mount namespace: on the private tmpfs ``/run``, which nothing
#: is bound over, whatever the state directory is.
INSIDE = Path("/run/egressctl-lab")
BASHRC = r"""# lab shell: the prompt netmiko's linux driver expects
PS1='\u@\h:\w\$ '
HISTFILE=
"""
INPUTRC = "set enable-bracketed-paste off\n"
PROFILE = '[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"\n'
SUDOERS = """# egressctl lab sudoers (bind-mounted over /etc/sudoers inside core-b only)
Defaults env_reset
Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Defaults lecture=never
Defaults !syslog
Defaults !fqdn
Defaults passwd_tries=3
root ALL=(ALL:ALL) ALL
{user} ALL=(ALL:ALL) ALL
"""
SSHD_CONFIG = """# egressctl lab: sshd of core-b
Port 22
ListenAddress 0.0.0.0
ListenAddress ::
HostKey {inside}/hostkey
PidFile {inside}/sshd.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication no
AuthorizedKeysFile none
PermitRootLogin no
AllowUsers {user}
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 30:50:100
LogLevel INFO
Subsystem sftp internal-sftp
"""
#: What a bastion adds: logins with a password or a key, and forwarding to the management network.
BASTION_CONFIG = """PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
AllowTcpForwarding yes
PermitOpen any
"""
#: What an SSH vantage host adds: exactly the probe command, as root, without a password.
PROBE_SUDOERS = "{user} ALL=(root) NOPASSWD: {python} -m egressctl probe --json --plan -\n"
#: The unit that loads /etc/nftables.conf at boot on Debian (enabled in the box's /etc; :func:`_boot_nftables`
#: does its work, since the box has no systemd of its own).
NFTABLES_UNIT = "/lib/systemd/system/nftables.service"
#: The box's own /etc/nftables.conf when the lab first builds it: Debian's, less its empty example table.
NFTABLES_CONF = """#!/usr/sbin/nft -f
# egressctl lab: core-b's boot ruleset, loaded before sshd starts as nftables.service loads it

flush ruleset
"""


def _hash(password: str) -> str:
    out = subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _free_uid(passwd: str, start: int = 4200) -> int:
    used = {int(line.split(":")[2]) for line in passwd.splitlines() if line.count(":") >= 6}
    uid = start
    while uid in used:
        uid += 1
    return uid


def _write(path: Path, text: str, mode: int = 0o644, owner: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    if owner is not None:
        os.chown(path, owner, owner)


def prepare(root: Path, *, device: str, hostname: str, username: str, password: str,
            bastion: bool = False, probe_python: str | None = None) -> Path:
    """Write core-b's lab /etc, homes, sshd_config and host key under ``root``; returns the config path.

    The configuration names the key and the pid file under :data:`INSIDE`, where sshd sees ``root``; the
    pid file is the same file as ``root/sshd.pid`` outside, which the keeper waits for. ``bastion`` turns
    on key logins (``~/.ssh/authorized_keys``, empty) and forwarding; ``probe_python`` lets ``username``
    run that interpreter's ``-m egressctl probe`` through ``sudo -n``.
    """
    passwd = Path("/etc/passwd").read_text()
    group = Path("/etc/group").read_text()
    uid = _free_uid(passwd)
    days = int(time.time() // 86400)
    shadow = "".join(f"{line.split(':')[0]}:*:{days}:0:99999:7:::\n" for line in passwd.splitlines() if line)
    _write(root / "etc/passwd", passwd + f"{username}:x:{uid}:{uid}:lab admin:/home/{username}:/bin/bash\n")
    _write(root / "etc/group", group + f"{username}:x:{uid}:\n")
    _write(root / "etc/shadow", shadow + f"{username}:{_hash(password)}:{days}:0:99999:7:::\n", 0o640)
    sudoers = SUDOERS.format(user=username)
    if probe_python:
        sudoers += PROBE_SUDOERS.format(user=username, python=probe_python)
    _write(root / "etc/sudoers", sudoers, 0o440)
    _write(root / "etc/hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n::1\tlocalhost\n")
    (root / "home").mkdir(parents=True, exist_ok=True)
    home = root / "home" / username
    home.mkdir(exist_ok=True)
    os.chown(home, uid, uid)
    for name, text in ((".bashrc", BASHRC), (".bash_profile", PROFILE), (".inputrc", INPUTRC)):
        _write(home / name, text, owner=uid)
        _write(root / "root" / name, text)
    (root / "root").chmod(0o700)
    if bastion:
        _write(home / ".ssh" / "authorized_keys", "", 0o600, owner=uid)
    for name in ("wtmp", "btmp", "lastlog"):
        _write(root / "log" / name, "", 0o600)
    hostkeys.write_private(device, root / "hostkey")
    config = root / "sshd_config"
    # sshd keeps the first value it reads for a keyword: the bastion's lines go before the defaults.
    extra = BASTION_CONFIG if bastion else ""
    _write(config, extra + SSHD_CONFIG.format(inside=INSIDE, user=username))
    return config


def _bind(libc: ctypes.CDLL, source: Path, target: str) -> None:
    if not Path(target).exists():
        return
    if libc.mount(str(source).encode(), target.encode(), None, MS_BIND, None) != 0:
        raise OSError(ctypes.get_errno(), f"bind {source} over {target}")


def _private_run(libc: ctypes.CDLL, root: Path) -> None:
    """A tmpfs on /run holding /run/sshd and ``root`` bound at :data:`INSIDE`.

    ``root`` is opened before the tmpfs is mounted and bound through ``/proc/self/fd``, so it is reached
    even when it lives under /run itself.
    """
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        if libc.mount(b"tmpfs", b"/run", b"tmpfs", 0, b"mode=0755") != 0:
            raise OSError(ctypes.get_errno(), "mount tmpfs on /run")
        Path("/run/sshd").mkdir(mode=0o755)
        INSIDE.mkdir(mode=0o700)
        _bind(libc, Path(f"/proc/self/fd/{fd}"), str(INSIDE))
    finally:
        os.close(fd)


def _share_interpreter(libc: ctypes.CDLL) -> None:
    """A world-readable tmpfs on /root with the interpreter's top directory under /root bound back."""
    exe = Path(sys.executable).resolve()
    if not exe.is_relative_to("/root"):
        return
    top = Path("/root", exe.relative_to("/root").parts[0])
    fd = os.open(top, os.O_PATH | os.O_DIRECTORY)
    try:
        if libc.mount(b"tmpfs", b"/root", b"tmpfs", 0, b"mode=0755") != 0:
            raise OSError(ctypes.get_errno(), "mount tmpfs on /root")
        top.mkdir()
        _bind(libc, Path(f"/proc/self/fd/{fd}"), str(top))
    finally:
        os.close(fd)


def private_etc(libc: ctypes.CDLL, base: Path) -> None:
    """An overlay on /etc: the host's files below, the box's changes in ``base/etc-upper`` (kept on disk).

    Where ``base`` cannot hold an overlay's upper layer, a tmpfs does (changes then do not survive a reboot,
    said in the log): the host's /etc must never be what the box writes. Needs a private mount namespace.

    Raises:
        OSError: not even the tmpfs overlay could be mounted.
    """
    upper, work = base / "etc-upper", base / "etc-work"
    for d in (upper, work):
        d.mkdir(mode=0o755, exist_ok=True)
    if not (upper / "nftables.conf").exists():  # the box's disk: never reset by a reboot
        _write(upper / "nftables.conf", NFTABLES_CONF, 0o755)
        if Path(NFTABLES_UNIT).exists():  # enabled, as on a Debian host whose firewall is nftables
            wants = upper / "systemd" / "system" / "sysinit.target.wants"
            wants.mkdir(parents=True, exist_ok=True)
            (wants / "nftables.service").symlink_to(NFTABLES_UNIT)
    opts = f"lowerdir=/etc,upperdir={upper},workdir={work}".encode()
    if libc.mount(b"overlay", b"/etc", b"overlay", 0, opts) == 0:
        return
    print(f"linuxbox: overlay on /etc with {upper}: {os.strerror(ctypes.get_errno())}; a tmpfs holds the "
          "changes instead (lost at a reboot)", file=sys.stderr)
    scratch = base / "etc-tmpfs"
    scratch.mkdir(exist_ok=True)
    if libc.mount(b"tmpfs", str(scratch).encode(), b"tmpfs", 0, b"mode=0755") != 0:
        raise OSError(ctypes.get_errno(), "mount a tmpfs for /etc's overlay")
    for name in ("upper", "work"):
        (scratch / name).mkdir()
    (scratch / "upper" / "nftables.conf").write_bytes((upper / "nftables.conf").read_bytes())
    opts = f"lowerdir=/etc,upperdir={scratch}/upper,workdir={scratch}/work".encode()
    if libc.mount(b"overlay", b"/etc", b"overlay", 0, opts) != 0:
        raise OSError(ctypes.get_errno(), "mount an overlay on /etc")


def _boot_nftables() -> None:
    """What ``nftables.service`` does at boot: ``nft -f /etc/nftables.conf`` (a failure only logged)."""
    conf = Path("/etc/nftables.conf")
    if not conf.is_file():
        return
    res = subprocess.run(["nft", "-f", str(conf)], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        print(f"linuxbox: nft -f {conf} failed at boot: {res.stderr.strip()[:500]}", file=sys.stderr)


def load_libc() -> ctypes.CDLL:
    """The C library, for mount(2) (errno kept)."""
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _mount_lab_files(root: Path, *, share_interpreter: bool = False, boot: bool = False) -> None:
    libc = load_libc()
    _private_run(libc, root)
    if boot:
        private_etc(libc, INSIDE)
    for name in ("passwd", "shadow", "group", "sudoers", "hosts"):
        _bind(libc, INSIDE / "etc" / name, f"/etc/{name}")
    _bind(libc, INSIDE / "home", "/home")
    if share_interpreter:
        _share_interpreter(libc)
    else:
        _bind(libc, INSIDE / "root", "/root")
    for name in ("wtmp", "btmp", "lastlog"):
        _bind(libc, INSIDE / "log" / name, f"/var/log/{name}")


def main(argv: list[str] | None = None) -> None:
    """Enter the lab view of the filesystem, name the host and become sshd."""
    parser = argparse.ArgumentParser(prog="egressctl_lab.linuxbox")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--hostname", required=True)
    parser.add_argument("--share-interpreter", action="store_true",
                        help="/root holds only this interpreter's tree, readable by every user")
    parser.add_argument("--boot", action="store_true",
                        help="a device box: private /etc (overlay), /etc/nftables.conf loaded before sshd")
    args = parser.parse_args(argv)
    _mount_lab_files(args.root, share_interpreter=args.share_interpreter, boot=args.boot)
    socket.sethostname(args.hostname)
    if args.boot:
        _boot_nftables()
    sshd = "/usr/sbin/sshd"
    os.execv(sshd, [sshd, "-D", "-e", "-f", str(INSIDE / "sshd_config")])  # noqa: S606


if __name__ == "__main__":
    main()
