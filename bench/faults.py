"""Fault campaign (issue 14): randomized operations on the lab, each hit by one fault at a random step.

    python bench/faults.py --runs N --seed S [--time-scale 0.25] [--revert-in 60] [--log FILE] [--keep]
    python bench/faults.py --replay RUNSEED --pre NNIIA          # one run again, from the states it began in

Root only (network namespaces, a tmpfs). The campaign builds its own lab once (namespace prefix ``fc-``,
loopback ports 24400-24404, a delay relay on 24410-24414; ``--prefix``/``--port-base`` for another), with
every emulator under ``egressctl_lab.faultemu`` (a restart is a reboot to the saved configuration, and
one-shot reject/fail-commit faults), and a fresh journal on a 256 MB tmpfs; all of it is torn down in a
``finally`` (also on SIGINT/SIGTERM). Traffic never leaves the lab's namespaces and the host's loopback.

**A run.** From the states the devices are in (the previous run's end; all ``normal`` at first) a run's
seed picks an operation (``isolate``, ``restore --stage ministry|allowlist``, ``restore --full``; from an
all-normal site mostly ``isolate``), a device subset (all devices, or 1-3 with ``--device``), a fault
kind, a device and a step of it (``connect`` ... ``done``, ``started`` or ``ok``). The CLI runs as a
subprocess with ``--json --no-verify --revert-in R``; the fault is injected when the event stream shows that
device at that step or later. Fault kinds:

* ``reset``: the operators' TCP connections to the device's SSH are aborted (``ss -K``, RST to the device);
* ``impair``: 0.5-3 s one-way latency on the controller's sessions to the device plus 10-45 % packet loss
  both ways on its management path, for 3-10 s (this kernel has no ``sch_netem``: latency comes from a relay
  on the controller's side, loss from ``nft ... numgen random`` in the operators' namespace);
* ``reboot``: the device's process is SIGKILLed and started again with its saved configuration (IOS: the
  startup-config; Junos: the committed one, an unconfirmed ``commit confirmed`` rolled back; FortiOS: the
  saved one; PAN-OS: the committed one; core-b: sshd and its jobs killed, nftables ruleset gone);
* ``reject`` / ``fail-commit``: the device rejects its next configuration line / fails its next commit with
  its own error text (emulated devices only);
* ``sigkill`` / ``sigterm`` / ``sighup``: the controller process gets that signal;
* ``disk-full``: the journal's filesystem is filled to the last byte (freed after the run).

After the run every fault is cleared, then **the same command runs once more**, without a fault.

**Invariants**, checked from outside egressctl after the faulted run and again after the re-run (a device is
read over a fresh netmiko login, its state recognised by the drivers' marker text; the journal is read with
``egressctl status lab --json``):

* ``journal``: every device holds, with no dead-man switch pending, the state the journal records for it:
  ``status``'s ``device_states`` once the operation has ended (cross-checked with the device's last step:
  ``done`` ok/skipped must be recorded as the target). A device whose last step is short of ``done`` is *in
  flight*: it may hold the state before or the target, a commit may be pending, and while its dead-man
  switch is pending anything (a FortiOS edit applied in part); that is accepted only when the operation is
  reported as needing attention: ``status`` shows it ``running`` (interrupted, the hint says to re-run).
  While an operation is still running its steps are the newer record (``done`` ok = the target). A device
  journaled ``unknown`` (its rollback failed) is accepted in any state only with exit 5. A CLI run that
  ended by itself must leave no operation running, unless the journal's disk was full.
* ``mgmt``: a fresh SSH login to every device through the operators' station succeeds.
* ``chain``: ``egressctl history --verify`` passes.
* ``rerun`` (after the re-run): it exits 0, every device of the operation is at the target with nothing
  pending, journaled there, and ``status`` says the site state (``mixed`` when devices differ). Otherwise
  it is *attention*, not a violation, only when the re-run exits 5, ``status`` says ``failed-partial`` and
  its hint names every device that is not at the target (the operator is told exactly what is left);
  anything else is a violation.
* ``dataplane`` (after the re-run): from ws1 and srv1 the web canary (192.0.2.80:80) answers exactly when
  every device on that exit reads ``normal`` (the devices enforce what they hold).
* ``bounded``: no CLI run outlives its time budget (it is killed and that is a violation).

A run whose re-run did not settle every device is followed by ``restore --full`` (a rebuild of the lab and a
fresh journal if even that fails), so runs stay independent; otherwise the next run starts where this one
ended, as an incident goes on. Output: one line per run (seed, states before, operation, devices, fault,
step, exit codes, invariants), each violation with its run seed and why, a table per fault kind, and last
``N runs, V violations``. Exit 1 on any violation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import faultcheck as fc
import yaml
from egressctl_lab import Lab, faults

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "inventory" / "lab.yaml"
PREFIX, PORT_BASE = "fc-", 24400  # the relay listens 10 ports above the lab's (24410-24414)
RELAY_OFFSET = 10
SITE = "lab"
OPS = {"isolate": "isolated", "ministry": "ministry", "allowlist": "allowlist", "full": "normal"}
KINDS = ("reset", "impair", "reboot", "reject", "fail-commit", "sigkill", "sigterm", "sighup", "disk-full")
EMULATOR_ONLY = ("reject", "fail-commit")
SIGNALS = {"sigkill": signal.SIGKILL, "sigterm": signal.SIGTERM, "sighup": signal.SIGHUP}
STEPS = ("connect", "read-state", "snapshot", "load", "diff", "commit", "readback", "mgmt-check", "confirm",
         "sessions", "rollback", "done")
ARM_BY = {"reject": "load", "fail-commit": "commit"}  # these faults must be armed before that step runs
CODE = {"normal": "N", "isolated": "I", "ministry": "M", "allowlist": "A"}
STATE_OF = {v: k for k, v in CODE.items()}
Event = dict[str, Any]


# --- what a run does ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """One run, fully decided by its seed and the states the devices start in."""

    seed: int
    op: str
    scope: tuple[str, ...]
    subset: bool
    kind: str
    device: str
    step: str
    status: str
    delay: float
    loss: int
    hold: float

    @property
    def target(self) -> str:
        """The state the operation takes its devices to."""
        return OPS[self.op]

    def args(self) -> list[str]:
        """The CLI arguments of the operation (the same for the faulted run and the re-run)."""
        cmd = ["isolate", SITE] if self.op == "isolate" else (
            ["restore", SITE, "--full"] if self.op == "full" else ["restore", SITE, "--stage", self.op])
        return [*cmd, *(x for d in self.scope for x in ("--device", d))] if self.subset else cmd

    def fault_text(self) -> str:
        """``impair(2.1s,30%,6.0s)@ce-b:commit/ok``."""
        extra = f"({self.delay}s,{self.loss}%,{self.hold}s)" if self.kind == "impair" else ""
        return f"{self.kind}{extra}@{self.device}:{self.step}/{self.status}"


def _pick_step(rng: random.Random, kind: str) -> tuple[str, str]:
    last = STEPS.index(ARM_BY[kind]) if kind in ARM_BY else STEPS.index("done")
    step = rng.choice([s for s in STEPS[: last + 1] if s != "rollback"])
    status = "started" if kind in ARM_BY and step == ARM_BY[kind] else rng.choice(["started", "ok"])
    return step, ("any" if step == "done" else status)


def make_plan(seed: int, pre: dict[str, str], platforms: dict[str, str]) -> Plan:
    """The run ``seed`` stands for, from the devices' states ``pre`` (inventory order)."""
    rng = random.Random(seed)
    names = list(pre)
    if all(s == "normal" for s in pre.values()):
        op = rng.choices(["isolate", "ministry", "allowlist"], [75, 15, 10])[0]
    else:
        op = rng.choices(list(OPS), [25, 20, 20, 35])[0]
    subset = rng.random() < 0.5
    scope = tuple(sorted(rng.sample(names, rng.randint(1, 3)), key=names.index)) if subset else tuple(names)
    emulated = [n for n in scope if platforms[n] != "linux_nftables"]
    kind = rng.choice([k for k in KINDS if emulated or k not in EMULATOR_ONLY])
    device = rng.choice(emulated if kind in EMULATOR_ONLY else list(scope))
    step, status = _pick_step(rng, kind)
    return Plan(seed, op, scope, subset, kind, device, step, status, delay=round(rng.uniform(0.5, 3.0), 1),
                loss=rng.randrange(10, 50, 5), hold=round(rng.uniform(3.0, 10.0), 1))


def _rank(step: str, status: str) -> int:
    return 2 * STEPS.index(step) + (0 if status == "started" else 1)


# --- the campaign's lab ---------------------------------------------------------------------------------
@dataclass
class CliRun:
    """One CLI operation as the campaign saw it."""

    rc: int
    events: list[Event]
    result: Event | None
    stderr: str
    seconds: float
    timed_out: bool = False


@dataclass
class Fired:
    """Whether and where a fault was injected."""

    at: str = ""
    detail: str = ""

    @property
    def fired(self) -> bool:
        """The fault's moment came (and it was injected)."""
        return bool(self.at)


class Site:
    """The campaign's lab, controller inventory, journal and fault tools (root only)."""

    def __init__(self, work: Path, args: argparse.Namespace) -> None:
        self.work, self.revert_in, self.budget = work, args.revert_in, args.budget
        self.time_scale, self.prefix = float(args.time_scale), str(args.prefix)
        self.relay_base = int(args.port_base) + RELAY_OFFSET
        self.journal = work / "journal"
        self.disk = faults.FullDisk(self.journal, size_mb=256)
        self.lab = Lab(SOURCE, prefix=args.prefix, port_base=args.port_base, time_scale=args.time_scale,
                       state_dir=work / "lab")
        self.relay: faults.DelayRelay | None = None
        self.devices: list[dict[str, Any]] = []
        self.controller_inventory = work / "controller.yaml"
        self._timers: list[threading.Timer] = []

    # -- up / down --------------------------------------------------------------------------------------
    def up(self) -> None:
        """Build the lab, the relay, the controller's inventory and the journal's tmpfs."""
        os.environ["EGRESSCTL_LAB_EMU_CMD"] = f"{sys.executable} -m egressctl_lab.faultemu"
        self.disk.mount()
        self.lab.up()
        self.devices = [asdict(d) for d in self.lab.status().devices]
        routes = {self.relay_base + i: ("127.0.0.1", int(d["port"])) for i, d in enumerate(self.devices)}
        self.relay = faults.DelayRelay(routes).start()
        data = yaml.safe_load(self.lab.inventory_path.read_text())
        site = next(s for s in data["sites"] if s["name"] == SITE)
        for i, raw in enumerate(site["devices"]):
            raw["port"] = self.relay_base + i
        self.controller_inventory.write_text(yaml.safe_dump(data, sort_keys=False))

    def down(self) -> None:
        """Tear everything down (idempotent, never raises)."""
        for t in self._timers:
            t.cancel()
        if self.relay is not None:
            self.relay.stop()
        with contextlib.suppress(Exception):
            self.lab.down()
        self.disk.free()
        self.disk.unmount()

    def rebuild(self) -> None:
        """A fresh lab (factory configurations) and journal, after a run left what cannot be undone."""
        with contextlib.suppress(Exception):
            self.lab.down()  # removes the run directory, the devices' saved configurations with it
        self.disk.free()
        for entry in self.journal.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        self.lab.up()

    # -- the controller ---------------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Device names, inventory order."""
        return [d["name"] for d in self.devices]

    @property
    def platforms(self) -> dict[str, str]:
        """Device name -> platform."""
        return {d["name"]: d["platform"] for d in self.devices}

    def env(self) -> dict[str, str]:
        """The controller's environment: the campaign's journal."""
        return {**os.environ, "EGRESSCTL_STATE_DIR": str(self.journal)}

    def argv(self, *args: str) -> list[str]:
        """``egressctl -i <controller inventory> --state-dir <journal> ARGS``."""
        return [sys.executable, "-m", "egressctl.cli.main", "-i", str(self.controller_inventory),
                "--state-dir", str(self.journal), *args]

    def operate(self, plan: Plan, on_event: Callable[[Event, subprocess.Popen[str]], None] | None = None
                ) -> CliRun:
        """Run the plan's operation (``--yes --json --no-verify``), calling ``on_event`` on every event."""
        args = [*plan.args(), "--yes", "--json", "--no-verify", "--revert-in", str(self.revert_in)]
        return self.run_cli(self.argv(*args), on_event)

    def run_cli(self, argv: list[str], on_event: Callable[[Event, subprocess.Popen[str]], None] | None
                ) -> CliRun:
        """Run a ``--json`` operation, reading its events as they come; killed after the time budget."""
        t0 = time.monotonic()
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(argv, env=self.env(), stdout=subprocess.PIPE, stderr=err, text=True,
                                    start_new_session=True)
            killed = threading.Event()

            def overdue() -> None:
                killed.set()
                proc.kill()

            watchdog = threading.Timer(self.budget, overdue)
            watchdog.start()
            events = self._read_events(proc, on_event)
            proc.wait()
            watchdog.cancel()
            err.seek(0)
            stderr = err.read()[-4000:]
        result = events.pop() if events and events[-1].get("event") == "result" else None
        return CliRun(proc.returncode, events, result, stderr, time.monotonic() - t0, killed.is_set())

    @staticmethod
    def _read_events(proc: subprocess.Popen[str],
                     on_event: Callable[[Event, subprocess.Popen[str]], None] | None) -> list[Event]:
        events: list[Event] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            with contextlib.suppress(ValueError):
                events.append(json.loads(line))
                if on_event is not None:
                    on_event(events[-1], proc)
        proc.stdout.close()
        return events

    def journal_view(self) -> fc.JournalView:
        """``status lab --json`` and ``history --verify --json``."""
        _, status = fc.run_json(self.argv("status", SITE, "--json"), self.env())
        rc, chain = fc.run_json(self.argv("history", "--verify", "--json"), self.env())
        return fc.JournalView(status, rc == 0 and bool(chain.get("ok")), str(chain.get("message", chain)))

    def views(self) -> dict[str, fc.DeviceView]:
        """Every device over a fresh login (the lab's own ports, not the relay)."""
        return fc.read_all(self.devices, self.lab.paths.secret.read_text().strip())

    # -- faults -----------------------------------------------------------------------------------------
    def relay_port(self, device: str) -> int:
        """The relay port the controller reaches ``device`` on."""
        return self.relay_base + self.names.index(device)

    def inject(self, plan: Plan, proc: subprocess.Popen[str]) -> str:
        """Inject the plan's fault now; returns what was done."""
        kind, dev = plan.kind, plan.device
        if kind in SIGNALS:
            proc.send_signal(SIGNALS[kind])
            return f"{kind} to pid {proc.pid}"
        if kind == "reset":
            return f"{faults.reset_management(self.lab, dev)} connection(s) reset"
        if kind == "impair":
            faults.drop_management(self.lab, dev, plan.loss)
            assert self.relay is not None
            self.relay.set_delay(self.relay_port(dev), plan.delay)
            timer = threading.Timer(plan.hold, self.unimpair, args=(dev,))
            self._timers.append(timer)
            timer.start()
            return f"{plan.delay}s latency, {plan.loss}% loss for {plan.hold}s"
        if kind == "reboot":
            return f"rebooted in {self.lab.restart(dev):.2f}s"
        if kind in EMULATOR_ONLY:
            faults.arm_emulator_fault(self.lab, dev, kind)
            return "armed"
        return f"filled {self.disk.fill() >> 20} MiB"

    def unimpair(self, device: str) -> None:
        """End an ``impair`` fault (idempotent)."""
        assert self.relay is not None
        self.relay.set_delay(self.relay_port(device), 0.0)
        faults.restore_management(self.lab, device)

    def clear(self, plan: Plan) -> str:
        """Clear whatever the plan's fault left; returns a note (an armed fault that never fired)."""
        for t in self._timers:
            t.cancel()
        self._timers.clear()
        note = ""
        if plan.kind == "impair":
            self.unimpair(plan.device)
        elif plan.kind == "disk-full":
            self.disk.free()
        elif plan.kind in EMULATOR_ONLY and faults.disarm_emulator_fault(self.lab, plan.device):
            note = "armed but the device never met it"
        return note


# --- invariants -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expect:
    """States a device may be read in (``None``: any) and whether a pending dead-man switch is allowed.

    ``in_flight``: the journal stopped this device mid-change; besides ``states`` it may then hold anything
    while its dead-man switch is pending (a FortiOS edit applied in part, the switch armed to undo it).
    """

    states: frozenset[str] | None
    pending_ok: bool = False
    in_flight: bool = False

    def accepts(self, view: fc.DeviceView) -> bool:
        """The view satisfies this expectation."""
        if self.states is None or (self.in_flight and view.pending):
            return True
        return view.target in self.states and (self.pending_ok or not view.pending)

    def text(self) -> str:
        """``isolated|normal (pending ok)``."""
        names = "any" if self.states is None else "|".join(sorted(self.states))
        return names + (" (in flight: anything while pending)" if self.in_flight else (
            " (pending ok)" if self.pending_ok else ""))


def settled(state: str) -> Expect:
    """A device at ``state`` with nothing pending."""
    return Expect(frozenset({state}))


@dataclass
class Check:
    """The invariants after one CLI run: name -> problems (empty = holds)."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    attention: list[str] = field(default_factory=list)
    expect: dict[str, Expect] = field(default_factory=dict)

    def add(self, invariant: str, problem: str | None = None) -> None:
        """Record an invariant as checked, with a problem when it does not hold."""
        self.problems.setdefault(invariant, [])
        if problem:
            self.problems[invariant].append(problem)

    @property
    def violations(self) -> list[str]:
        """``invariant: problem`` for every problem."""
        return [f"{k}: {p}" for k, ps in self.problems.items() for p in ps]

    def summary(self) -> str:
        """``journal=ok mgmt=ok chain=FAIL``."""
        return " ".join(f"{k}={'ok' if not v else 'FAIL'}" for k, v in self.problems.items())


def target_of(state: str) -> str | None:
    """The target a journaled state stands for (``stage:ministry`` -> ``ministry``), else None."""
    if state in ("normal", "isolated"):
        return state
    return state.removeprefix("stage:") if state.startswith("stage:") else None


def state_of(target: str) -> str:
    """The journal's name for a device or site at ``target``."""
    return target if target in ("normal", "isolated") else f"stage:{target}"


def _in_flight(plan: Plan, jv: fc.JournalView, dev: str, rec: dict[str, Any], before: Expect,
               check: Check) -> Expect:
    """A device the journal shows stopped mid-change: before or target, pending allowed, if reported."""
    if not jv.running:
        check.add("journal", f"{dev}: left at {rec['step']} ({rec['status']}) by an operation that is not "
                             "running")
    else:
        check.attention.append(f"{dev}: in flight at {rec['step']} ({rec['status']})")
    states = before.states
    return Expect(None if states is None else states | {plan.target}, pending_ok=True, in_flight=True)


def _journaled(plan: Plan, dev: str, state: str, rec: dict[str, Any] | None, run: CliRun,
               check: Check, before: Expect) -> Expect:
    """A device the journal records at ``state`` (``status`` ``device_states``), checked against its step.

    ``unknown`` is what the journal says of a device whose rollback failed (an operator must look), and
    also of one it never recorded (a fresh journal): the latter holds what it held before.
    """
    target = target_of(state)
    rollback_failed = rec is not None and "rollback failed" in str(rec.get("detail", ""))
    if target is None and not rollback_failed:
        return before
    if rec is not None and rec["step"] == "done" and rec["status"] in ("ok", "skipped") \
            and target != plan.target:
        check.add("journal", f"{dev}: its last step is done {rec['status']} but the journal records it "
                             f"{state}, not {state_of(plan.target)}")
    if target is not None:
        return settled(target)
    check.attention.append(f"{dev}: journaled {state} (exit {run.rc})")
    if run.rc != 5:
        check.add("journal", f"{dev}: journaled {state} but the run exited {run.rc}, not 5")
    return Expect(None, pending_ok=True)


def _from_steps(plan: Plan, dev: str, rec: dict[str, Any], before: Expect, run: CliRun,
                check: Check) -> Expect:
    """Without ``device_states`` (an older engine): the state a device's last step implies."""
    if rec["status"] in ("ok", "skipped"):
        return settled(plan.target)
    if "rollback failed" in str(rec.get("detail", "")):
        return _journaled(plan, dev, "unknown", rec, run, check, before)
    return before


def expectations(plan: Plan, jv: fc.JournalView, before: dict[str, Expect], run: CliRun,
                 check: Check) -> dict[str, Expect]:
    """What the journal says each device holds now (see the module docstring), judging how it says it.

    ``status`` gives each device's journaled state (``device_states``, recorded when an operation ends)
    and, for the devices of the last operation, the last step each got to: a step short of ``done`` is a
    device in flight. While that operation is still running (interrupted), its steps are the newer record.
    """
    out = dict(before)
    states = jv.status.get("device_states") or {}
    for dev in before:
        rec = jv.step(dev) if dev in plan.scope else None
        if rec is not None and rec["step"] != "done":
            out[dev] = _in_flight(plan, jv, dev, rec, before[dev], check)
        elif rec is not None and jv.running:
            out[dev] = _from_steps(plan, dev, rec, before[dev], run, check)
        elif dev in states:
            out[dev] = _journaled(plan, dev, str(states[dev]), rec, run, check, before[dev])
        elif rec is not None:
            out[dev] = _from_steps(plan, dev, rec, before[dev], run, check)
    return out


def check_run(site: Site, plan: Plan, run: CliRun, before: dict[str, Expect],
              disk_full: bool = False) -> tuple[Check, dict[str, Any]]:
    """The invariants ``journal``, ``mgmt``, ``chain`` and ``bounded`` after one CLI run.

    ``disk_full``: the journal's filesystem was full during the run, so the operation's end may be missing
    from it (then ``status`` shows it running: interrupted, to resume).
    """
    check = Check()
    with ThreadPoolExecutor(max_workers=1) as pool:
        journal = pool.submit(site.journal_view)
        views = site.views()
        jv = journal.result()
    check.add("bounded", f"killed after the {site.budget:.0f}s budget" if run.timed_out else None)
    if run.result is not None and jv.running and not disk_full:
        check.add("journal", f"the run ended (exit {run.rc}) but status still shows operation {jv.op_id} "
                             "running")
    check.add("journal")
    check.expect = expectations(plan, jv, before, run, check)
    for dev, view in views.items():
        check.add("mgmt", None if view.reached else f"{dev}: {view.error}")
        if view.reached and not check.expect[dev].accepts(view):
            check.add("journal", f"{dev}: reads {view.short()}, journal says {check.expect[dev].text()} "
                                 f"(last step: {_step_text(jv.step(dev))})")
    check.add("chain", None if jv.chain_ok else f"history --verify: {jv.chain_message}")
    return check, {"status": jv.status, "views": {k: asdict(v) for k, v in views.items()}}


def _step_text(rec: dict[str, Any] | None) -> str:
    return "none" if rec is None else f"{rec['step']} {rec['status']} {str(rec.get('detail', ''))[:80]!r}"


def check_rerun(site: Site, plan: Plan, run: CliRun, check: Check, doc: dict[str, Any]) -> None:
    """``rerun``: the re-run reached the target, or is reported as needing attention precisely."""
    views = {k: fc.DeviceView(**v) for k, v in doc["views"].items()}
    status = doc["status"]
    missing = [d for d in plan.scope if (views[d].target, views[d].pending) != (plan.target, False)]
    journaled = status.get("device_states") or {}
    if journaled:  # the site is at one state when every device is, else mixed
        found = {str(v) for v in journaled.values()}
        reached = found.pop() if len(found) == 1 else "mixed"
        missing += [d for d in plan.scope if journaled.get(d) != state_of(plan.target) and d not in missing]
    else:
        reached = state_of(plan.target)
    if run.rc == 0 and not missing and status.get("state") == reached and not status.get("running"):
        check.add("rerun")
        return
    hint = str(status.get("hint", ""))
    if run.rc == 5 and status.get("state") == "failed-partial" and all(d in hint for d in missing):
        check.add("rerun")
        check.attention.append(f"re-run exit 5, status names {', '.join(missing) or 'the devices'}")
        return
    check.add("rerun", f"exit {run.rc}, state {status.get('state')!r}, not at {plan.target}: "
                       f"{', '.join(f'{d}={views[d].short()}' for d in missing) or 'none'}; "
                       f"message: {str((run.result or {}).get('message', run.stderr[-200:]))[:200]}")


def check_dataplane(site: Site, views: dict[str, fc.DeviceView], check: Check) -> None:
    """``dataplane``: the web canary answers from an exit's vantage point iff its devices are all normal."""
    inv = yaml.safe_load(site.controller_inventory.read_text())
    s = next(x for x in inv["sites"] if x["name"] == SITE)
    exits = {d["name"]: d["exit"] for d in s["devices"]}
    canary = next(c for c in s["canaries"] if c["name"] == "web")
    probes = []
    for vp in s["vantage_points"]:
        states = [views[d].target for d, e in exits.items() if e == vp["exit"]]
        if all(st in CODE for st in states):
            probes.append((vp, states))
    with ThreadPoolExecutor(max_workers=max(1, len(probes))) as pool:
        answers = list(pool.map(lambda p: fc.tcp_answers(site.prefix + p[0]["netns"], canary["address"], 80),
                                probes))
    check.add("dataplane")
    for (vp, states), got in zip(probes, answers, strict=True):
        if got != all(st == "normal" for st in states):
            check.add("dataplane", f"{vp['name']} -> web:80 {'answers' if got else 'is blocked'} with exit "
                                   f"{vp['exit']} devices at {', '.join(states)}")


# --- one run --------------------------------------------------------------------------------------------
@dataclass
class RunReport:
    """Everything one run did and found."""

    index: int
    plan: Plan
    pre: str
    fired: Fired
    first: CliRun | None = None
    second: CliRun | None = None
    checks: list[Check] = field(default_factory=list)
    docs: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    seconds: float = 0.0
    recovered: str = ""

    @property
    def violations(self) -> list[str]:
        """Every invariant problem of both checks."""
        return [v for c in self.checks for v in c.violations]

    @property
    def attention(self) -> list[str]:
        """What was accepted because egressctl reported it as needing attention."""
        return [a for c in self.checks for a in c.attention]


def injector(site: Site, plan: Plan, fired: Fired) -> Callable[[Event, subprocess.Popen[str]], None]:
    """An event callback injecting the plan's fault at its device's step (or the first one after it)."""
    want = _rank(plan.step, "ok" if plan.status == "any" else plan.status)

    def on_event(ev: Event, proc: subprocess.Popen[str]) -> None:
        if fired.fired or ev.get("event") != "DeviceStep" or ev.get("device") != plan.device:
            return
        if ev["step"] not in STEPS or _rank(ev["step"], ev["status"]) < want:
            return
        fired.at = f"{ev['step']}/{ev['status']}"
        try:
            fired.detail = site.inject(plan, proc)
        except Exception as exc:
            fired.detail = f"injection failed: {type(exc).__name__}: {exc}"

    return on_event


def execute(site: Site, index: int, plan: Plan, pre: dict[str, str]) -> RunReport:
    """The faulted run, the checks, the re-run, the checks again."""
    t0 = time.monotonic()
    report = RunReport(index, plan, "".join(CODE[pre[n]] for n in site.names), Fired())
    before = {d: settled(s) for d, s in pre.items()}
    report.first = site.operate(plan, injector(site, plan, report.fired))
    report.note = site.clear(plan)
    disk_full = plan.kind == "disk-full" and report.fired.fired
    check, doc = check_run(site, plan, report.first, before, disk_full)
    report.checks.append(check)
    report.docs.append(doc)
    after_first = _rebase(check.expect, doc)
    report.second = site.operate(plan)
    check2, doc2 = check_run(site, plan, report.second, after_first)
    check_rerun(site, plan, report.second, check2, doc2)
    views2 = {k: fc.DeviceView(**v) for k, v in doc2["views"].items()}
    check_dataplane(site, views2, check2)
    report.checks.append(check2)
    report.docs.append(doc2)
    report.seconds = time.monotonic() - t0
    return report


def _rebase(expect: dict[str, Expect], doc: dict[str, Any]) -> dict[str, Expect]:
    """Before the re-run: what the journal allows, and also what each device was read as."""
    out = {}
    for dev, e in expect.items():
        seen = frozenset({doc["views"][dev]["target"]})
        out[dev] = Expect(seen | (e.states or frozenset()), e.pending_ok, e.in_flight)
    return out


def end_states(site: Site, report: RunReport) -> dict[str, str] | None:
    """Each device's settled state after the run, or None when the site needs a full restore first."""
    if report.violations or report.checks[-1].attention:
        return None
    views = report.docs[-1]["views"]
    if any(v["pending"] or v["target"] not in CODE for v in views.values()):
        return None
    return {d: views[d]["target"] for d in site.names}


def recover(site: Site) -> tuple[dict[str, str], str]:
    """A known state again: ``restore --full`` (twice at most), else a rebuilt lab and a fresh journal."""
    full = Plan(0, "full", tuple(site.names), False, "none", "", "", "", 0, 0, 0)
    for _ in range(2):
        run = site.operate(full)
        views = site.views()
        if run.rc == 0 and all((v.target, v.pending) == ("normal", False) for v in views.values()):
            return dict.fromkeys(site.names, "normal"), "restore --full"
        site.run_cli(site.argv("unlock", SITE), None)
    site.rebuild()
    return dict.fromkeys(site.names, "normal"), "lab rebuilt"


# --- output ---------------------------------------------------------------------------------------------
def line(report: RunReport, total: int) -> str:
    """The run's one line."""
    p = report.plan
    devs = ",".join(p.scope) if p.subset else "all"
    rc1 = "-" if report.first is None else str(report.first.rc)
    rc2 = "-" if report.second is None else str(report.second.rc)
    inv = " ".join(c.summary() for c in report.checks[-1:])
    fired = report.fired.at if report.fired.fired else "not reached"
    verdict = "VIOLATION" if report.violations else ("attention" if report.attention else "ok")
    return (f"[{report.index:>3}/{total}] seed={p.seed:<10} pre={report.pre} {p.op:<9} dev={devs:<18} "
            f"fault={p.fault_text():<44} fired={fired:<16} rc={rc1}->{rc2} {verdict:<9} "
            f"[{' '.join(c.summary() for c in report.checks[:1])} | {inv}] {report.seconds:.1f}s")


def table(reports: list[RunReport]) -> str:
    """Per fault kind: runs, fired, first exit codes, attention, violations."""
    rows = ["fault kind    runs  fired  first-run exit codes        attention  violations"]
    for kind in KINDS:
        mine = [r for r in reports if r.plan.kind == kind]
        if not mine:
            continue
        codes = Counter(str(r.first.rc) for r in mine if r.first is not None)
        text = " ".join(f"{c}:{n}" for c, n in sorted(codes.items()))
        rows.append(f"{kind:<12} {len(mine):>5} {sum(r.fired.fired for r in mine):>6}  {text:<27} "
                    f"{sum(bool(r.attention) for r in mine):>9} {sum(bool(r.violations) for r in mine):>11}")
    return "\n".join(rows)


def log_record(report: RunReport) -> dict[str, Any]:
    """The run as one JSON line (event streams only for runs with a violation or needing attention)."""
    keep = bool(report.violations or report.attention)
    runs = [r for r in (report.first, report.second) if r is not None]
    return {
        "index": report.index, "plan": asdict(report.plan), "pre": report.pre, "fired": asdict(report.fired),
        "note": report.note, "seconds": round(report.seconds, 2), "recovered": report.recovered,
        "violations": report.violations, "attention": report.attention,
        "runs": [{"rc": r.rc, "seconds": round(r.seconds, 2), "timed_out": r.timed_out,
                  "message": (r.result or {}).get("message"), "stderr": r.stderr[-1500:],
                  "events": r.events if keep else []} for r in runs],
        "docs": report.docs if keep else [{"views": d["views"]} for d in report.docs],
    }


# --- the campaign ---------------------------------------------------------------------------------------
def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def campaign_site(args: argparse.Namespace) -> Iterator[Site]:
    """The lab for the whole campaign, torn down whatever happens (SIGTERM is an interrupt)."""
    if os.geteuid() != 0:
        raise SystemExit("bench/faults.py needs root (network namespaces, a tmpfs)")
    work = Path(tempfile.mkdtemp(prefix="fc-campaign-"))
    previous = signal.signal(signal.SIGTERM, _interrupt)
    site: Site | None = None
    try:
        site = Site(work, args)
        site.up()
        yield site
    finally:
        if site is not None:
            site.down()
        signal.signal(signal.SIGTERM, previous)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}", file=sys.stderr)


def setup_pre(site: Site, pre: dict[str, str]) -> None:
    """Bring devices to the states of a ``--pre`` spec with fault-free operations."""
    for state in ("isolated", "ministry", "allowlist"):
        devs = tuple(d for d in site.names if pre[d] == state)
        if devs:
            op = next(k for k, v in OPS.items() if v == state)
            run = site.operate(Plan(0, op, devs, True, "none", "", "", "", 0, 0, 0))
            if run.rc != 0:
                raise SystemExit(f"could not set up {state} on {', '.join(devs)}: exit {run.rc}")


def campaign(args: argparse.Namespace) -> int:
    """Run the campaign; prints the per-run lines, the table and the last line; returns the exit code."""
    master = random.Random(args.seed)
    reports: list[RunReport] = []
    deadline = time.monotonic() + args.max_minutes * 60
    t0 = time.monotonic()
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(Path(args.log).open("a")) if args.log else None
        site = stack.enter_context(campaign_site(args))
        pre = dict.fromkeys(site.names, "normal")
        if args.replay is not None:
            pre = {d: STATE_OF[c] for d, c in zip(site.names, args.pre, strict=True)}
            setup_pre(site, pre)
        print(f"fault campaign: seed {args.seed}, {args.runs} runs, lab {args.prefix} time scale "
              f"{args.time_scale}, revert-in {args.revert_in}s, work {site.work}", flush=True)
        for i in range(1, args.runs + 1):
            if time.monotonic() > deadline:
                print(f"campaign time budget ({args.max_minutes} min) spent: stopping after {i - 1} runs")
                break
            seed = args.replay if args.replay is not None and i == 1 else master.getrandbits(32)
            report = execute(site, i, make_plan(seed, pre, site.platforms), pre)
            ends = end_states(site, report)
            if ends is None:
                ends, report.recovered = recover(site)
            pre = ends
            reports.append(report)
            print(line(report, args.runs) + (f" (then {report.recovered})" if report.recovered else ""),
                  flush=True)
            for v in report.violations:
                print(f"    VIOLATION seed={report.plan.seed} pre={report.pre} "
                      f"{report.plan.fault_text()}: {v}", flush=True)
            if log is not None:
                log.write(json.dumps(log_record(report), default=str) + "\n")
                log.flush()
    violations = sum(bool(r.violations) for r in reports)
    print(table(reports))
    print(f"campaign wall time {time.monotonic() - t0:.0f}s")
    print(f"{len(reports)} runs, {violations} violations")
    return 1 if violations else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-scale", type=float, default=0.25, help="device timers, x real time")
    parser.add_argument("--prefix", default=PREFIX, help="the lab's namespace prefix")
    parser.add_argument("--port-base", type=int, default=PORT_BASE,
                        help="the lab's first loopback port (the relay's is 10 above)")
    parser.add_argument("--revert-in", type=int, default=60, help="the operations' dead-man switch (s)")
    parser.add_argument("--budget", type=float, default=180.0, help="seconds one CLI run may take")
    parser.add_argument("--max-minutes", type=float, default=600.0, help="stop starting runs after this")
    parser.add_argument("--log", help="append one JSON line per run (event streams of violating runs)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--replay", type=int, help="run this run seed first (with --pre)")
    parser.add_argument("--pre", default="NNNNN", help="with --replay: device states before it, e.g. IINNA")
    args = parser.parse_args()
    try:
        sys.exit(campaign(args))
    except KeyboardInterrupt:
        print("interrupted: the lab was torn down", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
