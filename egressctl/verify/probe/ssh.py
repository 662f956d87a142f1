"""Run ``egressctl probe`` on a vantage point that is a site host, over SSH (paramiko exec).

No agent protocol of our own: the remote side is the same ``egressctl probe --json --plan -`` command
that runs in lab namespaces, fed the plan on stdin, and its stdout is the results document. Host keys are
checked against the system and user ``known_hosts`` (unknown keys are refused, never added). Probes need
raw sockets, so a non-root user runs the command through ``sudo -n`` (configure NOPASSWD for exactly
that command on the host). The password, if any, never reaches an error message (``redact``).
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from egressctl.errors import VerificationError
from egressctl.inventory.credentials import redact, resolve
from egressctl.inventory.models import VantagePoint

REMOTE_COMMAND = "egressctl probe --json --plan -"


def remote_command(user: str | None) -> str:
    """The command line run on the vantage point."""
    return REMOTE_COMMAND if user in (None, "root") else "sudo -n " + REMOTE_COMMAND


def run_over_ssh(vp: VantagePoint, plan: str, budget: float, port: int = 22) -> dict[str, Any]:
    """Run the plan on ``vp.ssh_host`` and return the parsed results document.

    Raises:
        VerificationError: connection, authentication, host key or remote command failure.
    """
    import paramiko

    secret = resolve(vp.credential) if vp.credential else None
    client = paramiko.SSHClient()
    client.load_system_host_keys()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(str(vp.ssh_host), port=port, username=vp.ssh_user, timeout=10,
                       password=secret.password if secret else None,
                       key_filename=secret.key_file if secret else None,
                       allow_agent=bool(secret and secret.use_agent), look_for_keys=secret is None)
        stdin, stdout, stderr = client.exec_command(remote_command(vp.ssh_user), timeout=budget)
        stdin.write(plan)
        stdin.channel.shutdown_write()
        out = stdout.read().decode(errors="replace")
        err = stderr.read().decode(errors="replace")
        status = stdout.channel.recv_exit_status()
    except (paramiko.SSHException, OSError) as exc:
        raise VerificationError(f"vantage point {vp.name} ({vp.ssh_host}): {redact(str(exc))}") from None
    finally:
        client.close()
    if status != 0:
        raise VerificationError(f"vantage point {vp.name}: `{shlex.quote(remote_command(vp.ssh_user))}` "
                                f"exited {status}: {redact(err.strip()[-400:])}")
    try:
        doc: dict[str, Any] = json.loads(out)
    except json.JSONDecodeError:
        raise VerificationError(f"vantage point {vp.name}: probe printed no JSON") from None
    return doc
