"""An emulator process that keeps its saved configuration across a restart and takes one-shot test faults.

``python -m egressctl_lab.faultemu ARGS`` takes exactly the arguments of ``python -m egressctl_lab.emu`` and
serves the same personality, with two additions a fault campaign (``bench/faults.py``) needs and the plain
emulator deliberately lacks (a lab runs every device under it with
``EGRESSCTL_LAB_EMU_CMD="python -m egressctl_lab.faultemu"``):

* **Reboot semantics.** After every CLI line and every device timer, what a real box keeps across a power
  cycle is written to ``<spec dir>/<device>.saved`` (atomically, only when it changed), and at start the
  device boots from that file. So killing the process and starting it again (``egressctl lab restart
  DEVICE``) is a reboot: the running configuration goes back to the saved one. Saved, per platform: IOS the
  startup-config and the flash archive files (running-config lines never written to startup are lost, as is
  an armed revert timer); Junos the committed configurations, with a ``commit confirmed`` still waiting for
  its confirmation rolled back at boot; FortiOS the saved configuration (unsaved ``cfg-save revert`` changes
  are lost); PAN-OS the running (committed) configuration and the named snapshot files (the candidate is
  lost).
* **One-shot faults.** ``<spec dir>/<device>.fault`` (JSON ``{"kind": "reject"}`` or ``{"kind":
  "fail-commit"}``, see :func:`egressctl_lab.faults.arm_emulator_fault`) makes the next configuration line
  (``reject``) or the next commit (``fail-commit``) fail with the vendor's own error text, without running
  it; the file is removed when the fault fires, and the firing is logged.

Both read and write the personalities' own state attributes (``lab/emu/*/device.py``), from the outside: the
emulators are not changed. A personality this module does not know runs exactly as under ``egressctl_lab.emu``
(no persistence, no faults), so a new platform never breaks a lab that uses it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import os
import pickle
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egressctl_lab.emu import registry
from egressctl_lab.emu.__main__ import load_spec, parse_args, serve, stop_on_signals
from egressctl_lab.emu.base import DataPlane, DeviceSpec, EmulatedDevice, Reply, Session
from egressctl_lab.emu.clock import LoopClock
from egressctl_lab.emu.dataplane import NftDataPlane, NullDataPlane
from egressctl_lab.emu.server import log

FAULT_KINDS = ("reject", "fail-commit")


# --- what each platform keeps across a reboot, and how its faults look ----------------------------------
def _words(line: str) -> list[str]:
    return line.strip().split()


@dataclass(frozen=True)
class Persona:
    """One platform's reboot state and fault texts (``prompt`` is the session's prompt before the line)."""

    save: Callable[[Any], Any]
    boot: Callable[[Any, Any], None]
    config_line: Callable[[str, str], bool]
    commit_line: Callable[[str, str], bool]
    reject: Callable[[str, str], str]
    commit_failure: str


def _ios_boot(dev: Any, saved: dict[str, Any]) -> None:
    dev.startup, dev.archive_files = saved["startup"], list(saved["archive"])
    dev.running = copy.deepcopy(dev.startup)
    dev.changed()


def _ios_config(prompt: str, line: str) -> bool:
    words = _words(line)
    return "(config" in prompt and bool(words) and words[0] not in ("end", "exit", "do")


IOS = Persona(
    save=lambda dev: {"startup": dev.startup, "archive": list(dev.archive_files)},
    boot=_ios_boot,
    config_line=_ios_config,
    commit_line=lambda prompt, line: line.strip().startswith("configure terminal revert timer"),
    reject=lambda prompt, line: " " * len(prompt) + "^\n% Invalid input detected at '^' marker.\n",
    commit_failure="%Turn config archive on before using Rollback Confirmed Change\n",
)


def _junos_save(dev: Any) -> list[Any]:
    """Committed configurations; one waiting for its confirmation is rolled back at boot."""
    return list(dev.history[1:] if dev.confirm is not None and len(dev.history) > 1 else dev.history)


def _junos_boot(dev: Any, history: list[Any]) -> None:
    dev.history = history
    dev.candidate = copy.deepcopy(dev.active)
    dev.confirm = None
    dev.dataplane.apply(dev.ruleset())


JUNOS_EDITS = ("set", "delete", "insert", "activate", "deactivate", "rename", "replace", "copy", "load")
JUNOS = Persona(
    save=_junos_save,
    boot=_junos_boot,
    config_line=lambda prompt, line: prompt.rstrip().endswith("#") and _words(line)[:1] != []
    and _words(line)[0] in JUNOS_EDITS,
    commit_line=lambda prompt, line: prompt.rstrip().endswith("#") and _words(line)[:1] == ["commit"],
    reject=lambda prompt, line: " " * len(prompt) + "^\nsyntax error.\n",
    commit_failure="[edit]\n  'system'\n    Configuration database write failed (injected fault)\n"
                   "error: configuration check-out failed\n",
)


def _forti_boot(dev: Any, saved: Any) -> None:
    dev.saved, dev.config = saved, copy.deepcopy(saved)
    dev.dataplane.apply(dev.ruleset())


FORTI_EDITS = ("set", "unset", "edit", "delete", "move", "append", "select", "unselect", "rename", "clone")
FORTI = Persona(
    save=lambda dev: dev.saved,
    boot=_forti_boot,
    # netmiko's session preparation sets ``config system console`` / ``set output standard``: not a change.
    config_line=lambda prompt, line: "(" in prompt and "(console)" not in prompt and _words(line)[:1] != []
    and _words(line)[0] in FORTI_EDITS,
    commit_line=lambda prompt, line: "(" in prompt and "(console)" not in prompt
    and _words(line)[:1] in (["next"], ["end"]),
    reject=lambda prompt, line: f"command parse error before '{_words(line)[0]}'\n"
                                "Command fail. Return code -61\n",
    commit_failure="node_check_object fail! for name\n\nAttribute 'name' MUST be set.\n"
                   "Command fail. Return code -56\n",
)


def _pan_boot(dev: Any, saved: dict[str, Any]) -> None:
    dev.running, dev.snapshots = saved["running"], dict(saved["snapshots"])
    dev.candidate = dev.running.clone()
    dev.dataplane.apply(dev.ruleset())


PAN_EDITS = ("set", "delete", "move", "rename", "edit", "load", "copy")
PAN = Persona(
    save=lambda dev: {"running": dev.running, "snapshots": dict(dev.snapshots)},
    boot=_pan_boot,
    config_line=lambda prompt, line: prompt.rstrip().endswith("#") and _words(line)[:1] != []
    and _words(line)[0] in PAN_EDITS,
    commit_line=lambda prompt, line: prompt.rstrip().endswith("#") and _words(line)[:1] == ["commit"],
    reject=lambda prompt, line: "Invalid syntax.\n",
    commit_failure="\nCommit job 99 is in progress. Use Ctrl+C to return to command prompt\n.....100%\n"
                   "Validation Error:\n rulebase -> security -> rules is invalid (injected fault)\n"
                   "Commit failed\n",
)

PERSONAS: dict[str, Persona] = {"cisco_ios": IOS, "juniper_junos": JUNOS, "fortinet": FORTI,
                                "paloalto_panos": PAN}


# --- the state file and the fault file ------------------------------------------------------------------
def saved_path(spec_file: Path, device: str) -> Path:
    """Where a device's reboot state lives (next to its spec file, in the lab's private run directory)."""
    return spec_file.parent / f"{device}.saved"


def fault_path(spec_file: Path, device: str) -> Path:
    """The one-shot fault file of a device."""
    return spec_file.parent / f"{device}.fault"


class Keeper:
    """Writes a device's reboot state when it changes, and fires its armed one-shot fault."""

    def __init__(self, persona: Persona, device: Any, state: Path, fault: Path) -> None:
        self.persona, self.device, self.state, self.fault = persona, device, state, fault
        self._last = b""

    def boot(self) -> bool:
        """Load the saved state, if any (True when the device booted from it)."""
        try:
            blob = self.state.read_bytes()
        except FileNotFoundError:
            return False
        self.persona.boot(self.device, pickle.loads(blob))  # noqa: S301 (our own file, 0600, private dir)
        self._last = blob
        return True

    def persist(self) -> None:
        """Write the reboot state atomically when it differs from the last one written."""
        try:
            blob = pickle.dumps(self.persona.save(self.device))
        except Exception as exc:  # a state that cannot be saved must never take the CLI down
            log(f"{self.device.spec.name}: cannot save state: {type(exc).__name__}: {exc}")
            return
        if blob == self._last:
            return
        tmp = self.state.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        tmp.replace(self.state)
        self._last = blob

    def take_fault(self, prompt: str, line: str) -> str | None:
        """The error text to answer instead of running ``line``, when an armed fault applies to it."""
        if not self.fault.exists():
            return None
        try:
            kind = json.loads(self.fault.read_text()).get("kind")
        except (OSError, ValueError):
            return None
        hit = (kind == "reject" and self.persona.config_line(prompt, line)) or (
            kind == "fail-commit" and self.persona.commit_line(prompt, line))
        if not hit:
            return None
        with contextlib.suppress(FileNotFoundError):
            self.fault.unlink()
        shown = line.strip()[:100].replace(self.device.spec.password, "***")
        log(f"{self.device.spec.name}: injected fault {kind} on line {shown!r} (prompt {prompt.strip()!r})")
        if kind == "reject":
            return self.persona.reject(prompt, line)
        return self.persona.commit_failure


class GuardedSession:
    """A personality session whose lines may meet an armed fault, and whose changes are saved."""

    def __init__(self, inner: Session, keeper: Keeper) -> None:
        self._inner, self._keeper = inner, keeper

    def banner(self) -> str:  # noqa: D102
        return self._inner.banner()

    def prompt(self) -> str:  # noqa: D102
        return self._inner.prompt()

    def handle(self, line: str) -> Reply:  # noqa: D102
        failure = self._keeper.take_fault(self._inner.prompt(), line)
        if failure is not None:
            return Reply(text=failure)
        try:
            return self._inner.handle(line)
        finally:
            self._keeper.persist()


class GuardedDevice:
    """The device as the SSH core sees it: the personality's, with guarded sessions."""

    def __init__(self, inner: EmulatedDevice, keeper: Keeper) -> None:
        self._inner, self._keeper = inner, keeper
        self.spec = inner.spec
        self.keyboard_interactive = inner.keyboard_interactive

    def new_session(self, username: str) -> Session:  # noqa: D102
        return GuardedSession(self._inner.new_session(username), self._keeper)

    def ruleset(self) -> str:  # noqa: D102
        return self._inner.ruleset()


class SavingClock(LoopClock):
    """A device clock whose timers save the reboot state after they fire (a revert changes it)."""

    def __init__(self, scale: float, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(scale, loop)
        self.after: Callable[[], None] = lambda: None

    def call_later(self, device_seconds: float, callback: Callable[[], None]) -> Callable[[], None]:  # noqa: D102
        def fire() -> None:
            try:
                callback()
            finally:
                self.after()

        return super().call_later(device_seconds, fire)


# --- the process ----------------------------------------------------------------------------------------
def make_device(args: argparse.Namespace, spec: DeviceSpec, clock: SavingClock,
                plane: DataPlane) -> EmulatedDevice:
    """The personality's device, booted from its saved state when there is one, its ruleset enforced."""
    device = registry.factory(args.platform)(spec, clock, plane)
    persona = PERSONAS.get(args.platform)
    if persona is None:
        plane.apply(device.ruleset())
        return device
    keeper = Keeper(persona, device, saved_path(args.spec_file, spec.name),
                    fault_path(args.spec_file, spec.name))
    booted = keeper.boot()
    if not booted:
        plane.apply(device.ruleset())
    keeper.persist()
    clock.after = keeper.persist
    log(f"{spec.name}: booted from {'the saved configuration' if booted else 'the factory configuration'}")
    return GuardedDevice(device, keeper)


async def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT, as ``egressctl_lab.emu`` does; returns the exit code."""
    spec = load_spec(args.spec_file)
    plane: NftDataPlane | NullDataPlane = NftDataPlane() if args.dataplane == "nft" else NullDataPlane()
    loop = asyncio.get_running_loop()
    stop = stop_on_signals()
    try:
        device = make_device(args, spec, SavingClock(args.time_scale, loop), plane)
    except Exception as exc:  # a broken saved state must not stop the device from answering
        log(f"{spec.name}: boot failed ({type(exc).__name__}: {exc}); factory configuration")
        device = registry.factory(args.platform)(spec, LoopClock(args.time_scale, loop), plane)
        plane.apply(device.ruleset())
    return await serve(args, spec, plane, device, stop, " (faultemu)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
