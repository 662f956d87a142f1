"""The vantage and capture parts of ``egressctl check``: can the site's proof actually run?

A cut is proven by probes sent from inside the site and by watching the upstream links. Both fail late and
quietly when a vantage host is down or a capture interface was renamed, so ``check`` tries them:

* a vantage point in a network namespace: the namespace can be entered, its inventory addresses are on an
  interface that is up, and ``egressctl probe`` runs there with raw sockets;
* a vantage point over SSH: login with its credential (host key checked against known_hosts), then the same
  ``egressctl probe`` (through ``sudo -n`` for a non-root user), as verification runs it.

The probe plan is one ICMP echo to the vantage point's own address: it exercises the very command and raw
sockets verification uses, and the packet never leaves the host. Capture points: the interface exists (in
its namespace) and is up.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path

from egressctl.check import CheckResult, Subject, fail, ok, timed, warn
from egressctl.describe import describe
from egressctl.inventory.credentials import redact
from egressctl.inventory.models import CapturePoint, Site, VantagePoint

NetnsExec = Callable[[str], list[str]]
#: Seconds any one command of these checks may take (a hung namespace must not hang the whole check).
COMMAND_BUDGET = 15.0
_ADDR_RE = re.compile(r"\binet6?\s+([0-9A-Fa-f:.]+)/\d+")
_FLAGS_RE = re.compile(r"<([^>]*)>")
_STATE_RE = re.compile(r"\bstate (\S+)")


def _netns_exec(state_dir: Path) -> NetnsExec:
    from egressctl.registry import netns_exec

    return netns_exec(state_dir)


def vantage_tasks(site: Site, state_dir: Path) -> list[Callable[[], Subject]]:
    """One task per vantage point (run in the check's pool)."""
    prefix = _netns_exec(state_dir) if any(vp.netns for vp in site.vantage_points) else None
    return [partial(check_vantage, vp, prefix) for vp in site.vantage_points]


def capture_tasks(site: Site, state_dir: Path) -> list[Callable[[], Subject]]:
    """One task per capture point."""
    prefix = _netns_exec(state_dir) if any(cp.netns for cp in site.captures) else None
    return [partial(check_capture, cp, prefix) for cp in site.captures]


def _run(argv: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=COMMAND_BUDGET,
                          check=False)


def _why(res: subprocess.CompletedProcess[str]) -> str:
    text = " ".join((res.stderr or res.stdout or f"exit status {res.returncode}").split())
    return redact(text[-300:])


def probe_plan(vp: VantagePoint) -> tuple[str, str]:
    """(plan JSON, address): one ICMP echo from ``vp`` to its own first address."""
    from egressctl.verify.probe.records import Probe, plan_to_json

    addr = str(vp.addresses[0])
    family = ipaddress.ip_address(addr).version
    return plan_to_json([Probe("check:0", family, "icmp", addr)], timeout=1.0, retries=0), addr


def _probe_result(doc: dict[str, object], addr: str, where: str) -> CheckResult:
    results = doc.get("results")
    if not isinstance(results, list) or len(results) != 1 or not isinstance(results[0], dict):
        return fail("probe", f"`egressctl probe` in {where} printed no result for its probe")
    outcome = results[0].get("outcome", "?")
    return ok("probe", f"`egressctl probe` runs in {where} with raw sockets (one echo to its own address "
                       f"{addr}, which never leaves the host: {outcome})")


# --- vantage points --------------------------------------------------------------------------------------
def check_vantage(vp: VantagePoint, prefix: NetnsExec | None) -> Subject:
    """Every check of one vantage point (see the module docstring)."""
    def body(subject: Subject) -> None:
        via = f"netns {vp.netns}" if vp.netns else f"ssh {vp.ssh_host}"
        subject.info.update({"exit": vp.exit, "via": via})
        if vp.netns is not None and prefix is not None:
            _netns_vantage(subject, vp, prefix(vp.netns))
        else:
            _ssh_vantage(subject, vp)

    return timed("vantage-point", vp.name, body)


def _netns_vantage(subject: Subject, vp: VantagePoint, enter: list[str]) -> None:
    add = subject.checks.append
    try:
        res = _run([*enter, "ip", "-o", "addr", "show", "up"])
    except (OSError, subprocess.TimeoutExpired) as exc:
        add(fail("reachable", f"cannot enter network namespace {vp.netns}: {describe(exc)}"))
        return
    if res.returncode:
        add(fail("reachable", f"cannot enter network namespace {vp.netns}: {_why(res)}"))
        return
    add(ok("reachable", f"network namespace {vp.netns} entered"))
    add(addresses_check(vp, _ADDR_RE.findall(res.stdout)))
    plan, addr = probe_plan(vp)
    from egressctl.verify.probe.active import probe_command

    try:
        ran = _run([*enter, *probe_command()], plan)
        doc = json.loads(ran.stdout) if ran.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        add(fail("probe", f"`egressctl probe` in {vp.netns}: {describe(exc)}"))
        return
    if doc is None:
        add(fail("probe", f"`egressctl probe` in {vp.netns} failed: {_why(ran)}"))
        return
    add(_probe_result(doc, addr, f"netns {vp.netns}"))


def addresses_check(vp: VantagePoint, found: list[str]) -> CheckResult:
    """The inventory's addresses of ``vp`` are on an up interface (else its probes would prove nothing)."""
    have = {ipaddress.ip_address(a) for a in found}
    missing = [str(a) for a in vp.addresses if ipaddress.ip_address(str(a)) not in have]
    if missing:
        return fail("addresses", f"{', '.join(missing)} not on an interface that is up: the host is down "
                                 "or was renumbered, so its probes would not prove anything")
    return ok("addresses", f"{', '.join(str(a) for a in vp.addresses)} up")


def _ssh_vantage(subject: Subject, vp: VantagePoint) -> None:
    from egressctl.errors import EgressError
    from egressctl.verify.probe.ssh import run_over_ssh

    add = subject.checks.append
    plan, addr = probe_plan(vp)
    try:
        doc = run_over_ssh(vp, plan, COMMAND_BUDGET)
    except (KeyError, ValueError) as exc:
        add(fail("credential", str(exc.args[0] if exc.args else exc)))
        return
    except EgressError as exc:
        add(fail("probe", describe(exc)))
        return
    add(ok("reachable", f"SSH {vp.ssh_user or ''}@{vp.ssh_host}: host key known, logged in"))
    add(_probe_result(doc, addr, str(vp.ssh_host)))


# --- capture points --------------------------------------------------------------------------------------
def capture_name(cp: CapturePoint) -> str:
    """How a capture point is named in the report: ``exit (netns:interface)``."""
    return f"{cp.exit} ({cp.netns or 'host'}:{cp.interface})"


def check_capture(cp: CapturePoint, prefix: NetnsExec | None) -> Subject:
    """The capture interface exists (in its namespace) and is up."""
    def body(subject: Subject) -> None:
        subject.info.update({"exit": cp.exit, "netns": cp.netns, "interface": cp.interface})
        enter = prefix(cp.netns) if cp.netns and prefix is not None else []
        where = f"netns {cp.netns}" if cp.netns else "this host"
        try:
            res = _run([*enter, "ip", "-o", "link", "show", "dev", cp.interface])
        except (OSError, subprocess.TimeoutExpired) as exc:
            subject.checks.append(fail("interface", f"{where}: {describe(exc)}"))
            return
        subject.checks.append(link_check(cp.interface, where, res))

    return timed("capture", capture_name(cp), body)


def link_check(iface: str, where: str, res: subprocess.CompletedProcess[str]) -> CheckResult:
    """``ip -o link show dev IFACE``'s answer as a check: missing fails, down warns."""
    if res.returncode:
        return fail("interface", f"{where}: {iface} not found ({_why(res)})")
    found = _FLAGS_RE.search(res.stdout)
    flags = found.group(1).split(",") if found else []
    state = _STATE_RE.search(res.stdout)
    said = f"state {state.group(1)}" if state else "no state"
    if "UP" not in flags:
        return warn("interface", f"{where}: {iface} is down ({said}): a live watch there would see nothing")
    return ok("interface", f"{where}: {iface} is up ({said})")
