"""What a Linux firewall must offer before egressctl can cut it, checked read-only (``egressctl check``).

Login already proved ``sudo -s`` works (the session could not open otherwise); the check confirms the
shell really is root, that ``nft`` is there, and that the dead-man switch can be armed: it is a job the
driver detaches with ``setsid`` that waits in a per-namespace directory under ``/run`` and then restores
egressctl's table with ``nft -f``. Where the site's ruleset tracks connections, ending the sessions a
cut denies needs ``conntrack`` (conntrack-tools): without it those sessions survive the cut. A confirmed
table is saved for the next boot (``/etc/nftables.conf`` includes egressctl's file, see ``persist``): the
check says whether the box loads that file at boot and whether what it would load is what runs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from egressctl_drivers.linux_nftables import constants as c
from egressctl_drivers.linux_nftables import persist as p
from egressctl_drivers.linux_nftables import sessions as lsessions

from egressctl.check import CheckResult, fail, ok, warn
from egressctl.driver import SessionHandling
from egressctl.errors import DeviceError

if TYPE_CHECKING:
    from egressctl_drivers.linux_nftables.driver import LinuxNftablesDriver

EFFECT = ("a job on the box itself restores egressctl's table as it was before the change (`nft -f` of the "
          "saved copy), even if the controller is gone; no reboot, the site's own tables untouched; a reboot "
          "of the box loses the job (and any table not persisted)")


def _try(drv: LinuxNftablesDriver, command: str) -> tuple[bool, str]:
    try:
        return True, drv.run(command)
    except DeviceError as exc:
        return False, exc.device_output or str(exc)


def root_check(uid: str) -> CheckResult:
    """The session must be root (``sudo -s``): nft and conntrack need it."""
    if uid.strip().splitlines()[-1:] == ["0"]:
        return ok("root", "the session is root (sudo -s)")
    return fail("root", f"the session is not root after sudo -s (uid {uid.strip() or '?'})")


def nft_check(found: bool, version: str) -> CheckResult:
    """``nft`` answers (``nft --version``)."""
    if found:
        return ok("nft", version.strip().splitlines()[-1] if version.strip() else "nft present")
    return fail("nft", f"nft is missing or fails: {version.strip()[:200]}")


def revert_job_check(found: bool, workdir: str, output: str) -> CheckResult:
    """The dead-man job needs ``setsid``, ``sleep`` and a writable working directory under /run."""
    if found:
        return ok("revert-job", f"setsid and sleep present, {workdir} writable")
    return fail("revert-job", f"the dead-man job cannot be armed (needs setsid, sleep and a writable "
                f"{workdir}): {output.strip()[:200]}")


def conntrack_check(handling: SessionHandling, has_conntrack: bool) -> CheckResult:
    """Sessions a cut denies can only be ended with conntrack-tools where connections are tracked."""
    if handling == SessionHandling.STATELESS:
        return ok("conntrack", "no connection tracking in this namespace: nothing outlives a cut")
    if has_conntrack:
        return ok("conntrack", "conntrack present: sessions a cut denies are deleted")
    return warn("conntrack", "the ruleset tracks connections but conntrack (conntrack-tools) is missing: "
                "sessions a cut denies would survive it (the operation would end with exit 5)")


def safety_net_check() -> CheckResult:
    """How the dead-man switch works on Linux and what it does when it fires."""
    return ok("safety-net", "revert job armed on the box (`setsid` + `sleep N` + `nft -f`), killed on "
                            "confirm", EFFECT)


def persistence_check(facts: str, unsaved: bool | None) -> CheckResult:
    """What a reboot keeps: ``facts``: what :data:`~.persist.CHECK_CMDS` printed, ``unsaved`` the comparison.

    A box whose ``nftables.service`` is not enabled loads nothing at boot: every table, egressctl's cut
    included, is gone after a reboot. Without systemd the check cannot tell who loads the file.
    """
    unit = re.search(r"EGRESSCTL-UNIT=(\S*)", facts)
    state = unit.group(1) if unit else ""
    if unit is not None and state not in ("enabled", "static", "alias", "enabled-runtime"):
        return warn("persistence", f"nftables.service is {state or 'not installed'}: nothing loads {p.CONF} "
                    "at boot, so a reboot drops every table, egressctl's cut included (systemctl enable "
                    "nftables)")
    if unsaved is None:
        return warn("persistence", "cannot compare what the box loads at boot with what runs")
    who = "nftables.service loads it at boot" if unit else "no systemd here: something must load it at boot"
    if unsaved:
        return warn("persistence", f"what {p.CONF} would load differs from egressctl's table now ({who}): a "
                    "reboot would bring back the saved one (the next change or re-run saves)")
    where = (f"{p.CONF} includes {p.FILE}" if "EGRESSCTL-INCLUDED" in facts
             else f"nothing of egressctl's to keep; {p.CONF} gets an include of {p.FILE} at the first cut")
    return ok("persistence", f"saved for the next boot: {where} ({who}); confirmed changes are saved, "
                             "unconfirmed ones never")


def preflight(drv: LinuxNftablesDriver) -> list[CheckResult]:
    """Linux prerequisites, read-only: root, nft, the revert job's tools, conntrack where it matters."""
    _, uid = _try(drv, "id -u")
    has_nft, version = _try(drv, "nft --version")
    job, out = _try(drv, f"command -v setsid && command -v sleep && test -w {drv.workdir}")
    has_ct = c.HAS_CONNTRACK in drv.send(c.CMD_HAS_CONNTRACK, check=False)
    try:
        handling = lsessions.handling(drv.run)
    except DeviceError:
        handling = SessionHandling.KEPT
    facts = "\n".join(drv.send(cmd, check=False) for cmd in p.CHECK_CMDS)
    try:
        unsaved: bool | None = drv.unsaved()
    except DeviceError:
        unsaved = None
    return [root_check(uid), nft_check(has_nft, version), revert_job_check(job, drv.workdir, out),
            conntrack_check(handling, has_ct), safety_net_check(), persistence_check(facts, unsaved)]
