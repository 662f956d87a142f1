"""A read-only rehearsal of a revert job's host for ``egressctl check``: path, login, tools, directory.

A PAN-OS or ASA device with ``revert_host`` is only changed once its revert job is armed on that host; a
bad path (a wrong pin, a bastion that is down, no ``setsid`` there, a job directory that cannot be
created) stops the commit ("the revert job could not be armed"): safe, but during the incident. This check
finds the same faults before it. It takes the route arming takes (:class:`~.reverthost.RevertHost`: the
ssh_config in effect, the ProxyJump chain, every hop pinned), logs in, and runs **one** command that only
looks (``command -v``, ``test``, ``ls -ld``, ``cat``): the tools the job script and its arming use are on
``PATH`` (``ssh`` an OpenSSH of 8.4 or later), the job's directory exists private (``0700``, owned by the
login user, writable) or can be created (its nearest existing parent is writable), and no job is armed for
the device (one armed means a change of some operation waits for its confirm there). Nothing is written,
nothing armed.

The result names the step that failed (``path``, ``credential``, ``login``, ``tools``, ``directory``,
``armed``) in plain words; error texts come from the SSH layer, which redacts them (never the secret).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from egressctl_drivers.common import revertjob as J
from egressctl_drivers.common.reverthost import RevertHost

from egressctl.check import CheckResult, fail, ok, warn
from egressctl.describe import describe
from egressctl.errors import DeviceError
from egressctl.inventory.credentials import secret_for_jump

NAME = "revert-host"
#: What the job script, its arming and its disarming run on the host (revertjob.py and the platforms' scripts;
#: ``printf``, ``read`` and ``kill`` are shell builtins).
OPENSSH = re.compile(r"OpenSSH_(?:for_Windows_)?(\d+)\.(\d+)")
MIN_OPENSSH = (8, 4)
TOOLS = ("sh", "setsid", "sleep", "ssh", "grep", "cat", "rm", "mkdir", "chmod", "dirname")


def probe_command(device: str) -> str:
    """The one command the check runs: ``key value`` lines describing the host, read-only (pure).

    ``tool NAME PATH`` (``-``: not found), ``ssh-version``, ``uid``, ``dir absent`` or ``dir KIND MODE
    UID writable=yes|no`` for the job directory, ``parent PATH writable=yes|no`` (its nearest existing
    ancestor, when it is absent), ``armed STAMP`` and ``result WHAT`` from the job's files.
    """
    d = J.job_dir(device)
    tools = " ".join(TOOLS)
    return (f'd="{d}"; r="{J.ROOT}"; echo "uid $(id -u)"; '
            f'for t in {tools}; do p=$(command -v "$t" 2>/dev/null) || p=-; '
            'echo "tool $t ${p:--}"; done; '
            'v=$(ssh -V 2>&1 </dev/null) || true; echo "ssh-version ${v%%,*}"; '
            'if [ -e "$d" ] || [ -L "$d" ]; then k=other; [ -d "$d" ] && [ ! -L "$d" ] && k=dir; '
            'w=no; [ -w "$d" ] && [ -x "$d" ] && w=yes; set -f; set -- $(ls -ldn "$d"); '
            'echo "dir $k $1 $3 writable=$w"; '
            '[ -f "$d/armed" ] && { printf "armed "; cat "$d/armed"; echo; }; '
            '[ -f "$d/result" ] && { printf "result "; cat "$d/result"; echo; }; '
            'else echo "dir absent"; p=-; for c in "$r" "$(dirname "$r")" "$HOME"; do '
            'if [ -e "$c" ]; then p=$c; break; fi; done; '
            'w=no; [ -d "$p" ] && [ -w "$p" ] && [ -x "$p" ] && w=yes; echo "parent $p writable=$w"; fi; '
            'true')


@dataclass
class Probe:
    """What :func:`probe_command` printed, parsed."""

    uid: str = ""
    tools: dict[str, str] = field(default_factory=dict)
    ssh_version: str = ""
    dir: list[str] = field(default_factory=list)  # ["absent"] or [kind, mode, uid, "writable=yes"]
    parent: list[str] = field(default_factory=list)  # [path, "writable=yes"]
    armed: str = ""
    result: str = ""


def parse_probe(text: str) -> Probe:
    """The probe's ``key value`` lines (unknown lines are ignored; later lines win)."""
    found = Probe()
    for line in text.splitlines():
        key, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        if key == "tool" and rest:
            name, _, where = rest.partition(" ")
            found.tools[name] = where.strip() or "-"
        elif key in ("uid", "armed", "result"):
            setattr(found, key, rest)
        elif key == "ssh-version":
            found.ssh_version = rest
        elif key in ("dir", "parent"):
            setattr(found, key, rest.rsplit(" ", 1) if key == "parent" else rest.split())
    return found


def missing_tools(probe: Probe) -> list[str]:
    """The tools the job needs that are not on the login's ``PATH``."""
    return [t for t in TOOLS if probe.tools.get(t, "-") == "-"]


def ssh_problem(version: str) -> str:
    """Why the host's ``ssh`` cannot run the job ('' when it can): OpenSSH 8.4 or later is needed.

    The job logs in with OpenSSH options and hands the password over ``SSH_ASKPASS_REQUIRE=force``,
    which OpenSSH reads from 8.4 on.
    """
    found = OPENSSH.search(version)
    if found is None:
        return f"ssh is not OpenSSH ({version or 'no version printed'}): the job's ssh options are OpenSSH's"
    if (int(found.group(1)), int(found.group(2))) < MIN_OPENSSH:
        return f"ssh is {found.group(0)}: the job needs OpenSSH 8.4 or later (SSH_ASKPASS_REQUIRE)"
    return ""


def directory_problem(probe: Probe, where: str) -> str:
    """Why the job's files could not be written in ``where`` ('' when they could)."""
    if probe.dir[:1] == ["absent"]:
        path, writable = [*probe.parent, "", ""][:2]
        if writable != "writable=yes":
            return (f"{where} does not exist and its nearest existing parent ({path or 'none'}) is not "
                    "writable by the login user: it cannot be created")
        return ""
    if len(probe.dir) < 4:
        return f"{where} could not be examined"
    kind, mode, uid, writable = probe.dir[:4]
    if kind != "dir":
        return f"{where} exists and is not a directory"
    if uid != probe.uid:
        return f"{where} is owned by uid {uid}, not by the login user (uid {probe.uid})"
    if mode[:10] != "drwx------":
        return f"{where} has mode {mode[:10]}, not drwx------ (0700): others could reach the job's files"
    if writable != "writable=yes":
        return f"{where} is not writable by the login user"
    return ""


def judge(probe: Probe, host: str, device: str) -> CheckResult:
    """The check's result from the probe: the first step that fails, else what the job will find."""
    where = J.job_dir(device).replace("$HOME", "~")
    lost = missing_tools(probe)
    if lost or not probe.tools:
        return fail(NAME, f"revert host {host}: tools: {', '.join(lost) or 'none'} not on the PATH of the "
                    "login: the revert job could not run there")
    problem = ssh_problem(probe.ssh_version)
    if problem:
        return fail(NAME, f"revert host {host}: tools: {problem}")
    problem = directory_problem(probe, where)
    if problem:
        return fail(NAME, f"revert host {host}: directory: {problem}")
    if probe.armed:
        return fail(NAME, f"revert host {host}: armed: a revert job for {device} is armed there "
                    f"({probe.armed}): a change waits for its confirm; finish it (egressctl status) or have "
                    "its owner confirm or roll it back")
    state = "exists (0700, the login's)" if probe.dir[:1] != ["absent"] else \
        f"can be created under {(probe.parent or ['?'])[0]}"
    ssh = f" ({probe.ssh_version})" if probe.ssh_version else ""
    detail = (f"revert host {host}: logged in; {', '.join(TOOLS[:4])} and the job's other tools on "
              f"PATH{ssh}; job directory {where} {state}; no job armed")
    if probe.result == "fired-failed":
        return warn(NAME, detail + f"; the last job for {device} fired and failed: look at {where}/out")
    return ok(NAME, detail)


def check_revert_host(remote: RevertHost) -> CheckResult:
    """Take the path arming takes, log in, run the probe once: ``revert-host`` ok, or the failed step.

    Reuses ``remote``'s client when the driver already logged in (reading the job's state); closing it is
    the driver's business.
    """
    host, device = remote.name, remote.device.name
    try:
        route = remote.route().describe()
    except DeviceError as exc:
        return fail(NAME, f"revert host {host}: path: {_words(exc, device)}")
    try:
        secret_for_jump(remote.host)
    except KeyError as exc:
        return fail(NAME, f"revert host {host}: credential cannot be resolved: {exc.args[0]}")
    try:
        remote.connect()
    except DeviceError as exc:
        words = re.sub(rf"^revert host {re.escape(host)} \([^)]*\): ", "", _words(exc, device))
        return fail(NAME, f"revert host {host} ({route}): login: {words}: the revert job could not be "
                    "armed, so the device would not be changed")
    try:
        text = remote.read(probe_command(device))
    except DeviceError as exc:
        return fail(NAME, f"revert host {host} ({route}): the check command failed: {_words(exc, device)}")
    return judge(parse_probe(text), f"{host} ({route})", device)


def _words(exc: DeviceError, device: str) -> str:
    """The error without the device's name in front (the check is listed under the device)."""
    return describe(exc).removeprefix(f"{device}: ")
