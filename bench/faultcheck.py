"""The fault campaign's outside view (``bench/faults.py``): devices read with plain netmiko, packets from the
lab's namespaces, and the invariants judged from them and from what egressctl's journal says.

Nothing here imports egressctl's drivers, engine or journal: a device's egressctl state is read with the
vendor's own show commands over a fresh netmiko login and recognised by the marker every driver stores with
its objects (``egressctl target=T fingerprint=F``, the format of ``drivers/common/state.py``); the journal
is read through ``egressctl status --json`` and ``egressctl history --verify``, as an operator would.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from netmiko import ConnectHandler

MARKER_RE = re.compile(r"egressctl target=([A-Za-z][A-Za-z0-9_-]{0,31}) fingerprint=([0-9a-f]{12})")
READ_TIMEOUT = 30.0
IN_FLIGHT = "in-flight"
ATTENTION = "attention"


@dataclass
class DeviceView:
    """One device as a fresh netmiko login sees it: egressctl's target, a pending dead-man switch."""

    name: str
    target: str = "unreachable"
    pending: bool = False
    error: str = ""
    markers: list[str] = field(default_factory=list)

    @property
    def reached(self) -> bool:
        """The login worked and the state could be read (the operators' management path works)."""
        return not self.error

    def short(self) -> str:
        """``isolated``, ``normal*`` (pending), ``unreachable``."""
        return self.target + ("*" if self.pending else "")


def _target(markers: set[str], owned: bool) -> str:
    """The state a set of markers names: ``normal`` (nothing owned), a target, ``unknown`` or ``mixed``."""
    if not owned and not markers:
        return "normal"
    if not markers:
        return "unknown"
    return markers.pop() if len(markers) == 1 else "mixed"


def _markers(text: str) -> set[str]:
    return {m.group(1) for m in MARKER_RE.finditer(text)}


def _ios_bound(running: str) -> str:
    """The text of the egressctl ACLs bound inbound on an interface (unbound leftovers filter nothing)."""
    bound = set(re.findall(r"^ (?:ip access-group|ipv6 traffic-filter) (EGRESSCTL\S*) in$", running, re.M))
    blocks = re.findall(r"^(?:ip access-list extended|ipv6 access-list) (\S+)\n((?: .*\n?)*)", running, re.M)
    return "\n".join(body for name, body in blocks if name in bound) + ("\nOWNED" if bound else "")


def read_ios(conn: Any) -> tuple[str, bool]:
    conn.enable()
    text = _ios_bound(conn.send_command("show running-config", read_timeout=READ_TIMEOUT))
    timer = conn.send_command("show archive config rollback timer", read_timeout=READ_TIMEOUT)
    return _target(_markers(text), "OWNED" in text), bool(re.search(r"Timer (type|value)\s*:", timer))


def read_junos(conn: Any) -> tuple[str, bool]:
    text = conn.send_command("show configuration security policies | display set", read_timeout=READ_TIMEOUT)
    commits = conn.send_command("show system commit", read_timeout=READ_TIMEOUT)
    first = next((ln for ln in commits.splitlines() if re.match(r"^\s*0\s", ln)), "")
    return _target(_markers(text), " policy egressctl-" in text), "commit confirmed, rollback in" in first


def read_fortinet(conn: Any) -> tuple[str, bool]:
    text = conn.send_command("show firewall policy", read_timeout=READ_TIMEOUT)
    mode = conn.send_command("get system global | grep cfg-save", read_timeout=READ_TIMEOUT)
    return _target(_markers(text), 'set name "egressctl-' in text), "revert" in mode


def read_panos(conn: Any) -> tuple[str, bool]:
    text = conn.send_command("show config running", read_timeout=READ_TIMEOUT)
    return _target(_markers(text), " rules egressctl-" in text), False


JOB = ('for f in /run/egressctl/*/deadman.pid; do [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null '
       "&& echo PENDING-JOB; done; true")


def read_linux(conn: Any) -> tuple[str, bool]:
    conn.enable()
    text = conn.send_command("nft list table inet egressctl 2>&1 | head -3", read_timeout=READ_TIMEOUT)
    jobs = conn.send_command(JOB, read_timeout=READ_TIMEOUT)
    owned = text.lstrip().startswith("table inet egressctl")
    return _target(_markers(text), owned), "PENDING-JOB" in jobs


READERS: dict[str, Callable[[Any], tuple[str, bool]]] = {
    "cisco_ios": read_ios, "juniper_junos": read_junos, "fortinet": read_fortinet,
    "paloalto_panos": read_panos, "linux": read_linux,
}


def read_device(dev: dict[str, Any], password: str) -> DeviceView:
    """A fresh netmiko login to one device (as ``lab status --json`` describes it) and its egressctl state."""
    view = DeviceView(dev["name"])
    try:
        conn = ConnectHandler(
            device_type=dev["device_type"], host=dev["host"], port=dev["port"], username=dev["username"],
            password=password, secret=password, ssh_strict=False, system_host_keys=False, allow_agent=False,
            use_keys=False, conn_timeout=20, auth_timeout=20, banner_timeout=20, timeout=READ_TIMEOUT)
    except Exception as exc:
        first = str(exc).splitlines()[0][:120] if str(exc) else ""
        view.error = f"login failed: {type(exc).__name__}: {first}"
        return view
    try:
        view.target, view.pending = READERS[dev["device_type"]](conn)
    except Exception as exc:
        view.error = f"read failed: {type(exc).__name__}: {str(exc)[:120]}"
    finally:
        conn.paramiko_cleanup()  # netmiko's disconnect() logs out politely: 2 s on PAN-OS for nothing
    return view


def read_all(devices: list[dict[str, Any]], password: str) -> dict[str, DeviceView]:
    """Every device, each over its own fresh login, in parallel."""
    with ThreadPoolExecutor(max_workers=len(devices)) as pool:
        views = list(pool.map(lambda d: read_device(d, password), devices))
    return {v.name: v for v in views}


# --- packets from inside the site -----------------------------------------------------------------------
def tcp_answers(netns: str, address: str, port: int, timeout: float = 1.0) -> bool:
    """Whether a TCP connection from inside ``netns`` to ``address:port`` is accepted."""
    script = f"exec 3<>/dev/tcp/{address}/{port}"
    res = subprocess.run(["ip", "netns", "exec", netns, "timeout", str(timeout), "bash", "-c", script],
                         capture_output=True, timeout=timeout + 10, check=False)
    return res.returncode == 0


# --- the journal, as an operator reads it -------------------------------------------------------------
@dataclass
class JournalView:
    """``egressctl status SITE --json`` and ``history --verify`` after an operation."""

    status: dict[str, Any]
    chain_ok: bool
    chain_message: str

    @property
    def running(self) -> bool:
        """An operation is still recorded as running (interrupted: the status says how to resume)."""
        return bool(self.status.get("running"))

    def step(self, device: str) -> dict[str, Any] | None:
        """The device's latest step in the last operation."""
        return dict(self.status.get("devices", {}).get(device) or {}) or None

    @property
    def op_id(self) -> str:
        """The last operation's id."""
        return str((self.status.get("operation") or {}).get("op_id", ""))


def recorded(jv: JournalView, scope: list[str], target: str, before: dict[str, str]) -> dict[str, str]:
    """What the journal says each device of the last operation holds now.

    ``done`` ok/skipped: the target; ``done`` failed: its state before (rolled back or untouched), unless the
    rollback itself failed (``attention``); no step at all: before; any other step: ``in-flight`` (the
    operation stopped there, the device may hold either state, a commit may be pending).
    """
    out = {}
    for dev in scope:
        rec = jv.step(dev)
        if rec is None:
            out[dev] = before[dev]
        elif rec["step"] == "done" and rec["status"] in ("ok", "skipped"):
            out[dev] = target
        elif rec["step"] == "done":
            out[dev] = ATTENTION if "rollback failed" in str(rec.get("detail", "")) else before[dev]
        else:
            out[dev] = IN_FLIGHT
    return out


def run_json(argv: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, dict[str, Any]]:
    """Run a ``--json`` command; (exit code, its one document or {})."""
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    try:
        return res.returncode, json.loads(res.stdout)
    except ValueError:
        return res.returncode, {"stdout": res.stdout[-2000:], "stderr": res.stderr[-2000:]}
