"""The product's CLI (``python -m egressctl``) against one emulated device served on loopback.

The whole product path (inventory, planner, executor with its read-back and fresh-session management check,
journal) by the command an operator types, against an emulator in this process (no data plane: packets are
the ``test_*isolation_lab.py`` modules' proof). :func:`cli_rig` writes an inventory pointing at the emulator
(its port, its pinned host key) with a state directory of its own, and :meth:`CliRig.run` runs a command.
Used by the ``test_*cli_lab.py`` modules of the platforms.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from egressctl_lab import hostkeys
from egressctl_lab.testing.emulator import DEFAULT_TIME_SCALE, serve_emulated

from egressctl.inventory.loader import load_inventory

#: The three operations every platform's CLI test runs, in this order, by their ids.
STEPS = (("isolate", ()), ("ministry", ("--stage", "ministry")), ("full", ("--full",)))
Event = dict[str, Any]


def operation_steps(site: str) -> list[Any]:
    """``isolate SITE``, ``restore SITE --stage ministry``, ``restore SITE --full`` as pytest params."""
    return [pytest.param(["isolate" if i == "isolate" else "restore", site, *extra], id=i)
            for i, extra in STEPS]


def is_cut(step: list[str]) -> bool:
    """Whether the operation ``step`` leaves the site cut (isolated or at a stage), not at its baseline."""
    return step[0] == "isolate" or "--stage" in step


@dataclass(frozen=True)
class CliRun:
    """One finished CLI command: exit code, output, the tail of its errors, the JSON documents printed."""

    code: int
    out: str
    err: str
    events: list[Event]


@dataclass(frozen=True)
class CliRig:
    """The effective inventory, the CLI's environment (secret, state directory) and the emulator."""

    inventory: Path
    env: dict[str, str]
    emu: Any
    timeout: float = 180

    def run(self, *args: str) -> CliRun:
        """``egressctl -i <inventory> ARGS`` to completion (bounded by the rig's time-out)."""
        done = subprocess.run([sys.executable, "-m", "egressctl", "-i", str(self.inventory), *args],
                              capture_output=True, text=True, env=self.env, timeout=self.timeout, check=False)
        try:  # plan --json prints one document, the operations one event a line
            events = [json.loads(done.stdout)]
        except ValueError:
            events = [json.loads(ln) for ln in done.stdout.splitlines() if ln.startswith("{")]
        return CliRun(done.returncode, done.stdout, done.stderr[-2000:], events)

    def operation(self, step: list[str]) -> Any:
        """Run ``step`` (``--yes --no-verify --json``): it succeeds with an operation document; the device."""
        run = self.run(*step, "--yes", "--no-verify", "--json")
        assert run.code == 0, (run.events[-3:], run.err)
        final = run.events[-1]
        assert final.get("schema") == "egressctl.operation/1", final
        return self.emu.device


@contextmanager
def cli_rig(site_yaml: Path, site: str, device: str, tmp: Path, *, port: int, tag: str,
            spec: Mapping[str, Any], time_scale: float = DEFAULT_TIME_SCALE,
            timeout: float = 180) -> Iterator[CliRig]:
    """Serve ``device`` of ``site`` on ``port``; the rig whose inventory (in ``tmp``) points at it.

    The inventory is ``site_yaml`` with the device's port and every host-key pin replaced, its credential
    (``env:VAR``) set in the rig's environment.
    """
    entry = load_inventory(site_yaml).site(site).device(device)
    credential = str(entry.credential)
    assert credential.startswith("env:"), credential
    with serve_emulated(entry, port=port, spec_kw=spec, time_scale=time_scale, tag=tag) as emu:
        text = site_yaml.read_text().replace(f"port: {entry.port}", f"port: {port}")
        pin = hostkeys.public_line(device)
        text = "\n".join(ln.split("host_key:")[0] + f"host_key: {pin}" if "host_key:" in ln else ln
                         for ln in text.splitlines())
        inventory = tmp / "inventory.yaml"
        inventory.write_text(text + "\n")
        env = {**os.environ, credential.removeprefix("env:"): emu.secret.password or "",
               "EGRESSCTL_STATE_DIR": str(tmp / "s")}
        yield CliRig(inventory, env, emu.handle, timeout)
