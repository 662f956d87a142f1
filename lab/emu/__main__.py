"""Emulator process: one emulated device's SSH server inside the current network namespace.

``python -m egressctl_lab.emu --platform P --spec-file F --listen ADDR --port N --host-key-file K
--time-scale S [--ready-fd FD] [--dataplane nft|none]``

The baseline ruleset is enforced *before* ``ready`` is written, so the lab harness never sees a device
that answers SSH while forwarding without its configuration. SIGTERM/SIGINT stop the server and remove
the emulator's nft table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from egressctl_lab.emu.base import DataPlane, DeviceSpec, EmulatedDevice
from egressctl_lab.emu.clock import LoopClock
from egressctl_lab.emu.dataplane import NftDataPlane, NullDataPlane
from egressctl_lab.emu.server import build_device, log, start_server


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The emulator command line (agreed in interfaces.md)."""
    p = argparse.ArgumentParser(prog="python -m egressctl_lab.emu", description=__doc__.splitlines()[0])
    p.add_argument("--platform", required=True, help="personality: cisco_ios, juniper_junos, ...")
    p.add_argument("--spec-file", required=True, type=Path, help="JSON of DeviceSpec fields")
    p.add_argument("--listen", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", required=True, type=int)
    p.add_argument("--host-key-file", required=True, type=Path)
    p.add_argument("--time-scale", type=float, default=1.0, help="real seconds per device second")
    p.add_argument("--ready-fd", type=int, default=None, help="write 'ready' here (default stdout)")
    p.add_argument("--dataplane", choices=("nft", "none"), default="nft")
    return p.parse_args(argv)


def load_spec(path: Path) -> DeviceSpec:
    """Read a DeviceSpec from JSON; unknown keys are an error, so a typo is never silently ignored."""
    raw = json.loads(path.read_text())
    unknown = set(raw) - _KNOWN
    if unknown:
        raise ValueError(f"unknown DeviceSpec fields in {path}: {', '.join(sorted(unknown))}")
    return DeviceSpec(
        name=raw["name"], hostname=raw["hostname"], username=raw["username"], password=raw["password"],
        interfaces={str(k): str(v) for k, v in raw.get("interfaces", {}).items()},
        zones={str(k): [str(i) for i in v] for k, v in raw.get("zones", {}).items()},
        options={str(k): str(v) for k, v in raw.get("options", {}).items()},
    )


_KNOWN = {"name", "hostname", "username", "password", "interfaces", "zones", "options"}


def _signal_ready(fd: int | None) -> None:
    if fd is None:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        return
    os.write(fd, b"ready\n")
    os.close(fd)


async def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT; returns the exit code."""
    spec = load_spec(args.spec_file)
    plane: NftDataPlane | NullDataPlane = NftDataPlane() if args.dataplane == "nft" else NullDataPlane()
    dataplane: DataPlane = plane
    stop = stop_on_signals()
    clock = LoopClock(args.time_scale, asyncio.get_running_loop())
    device = build_device(args.platform, spec, clock, dataplane)
    return await serve(args, spec, plane, device, stop)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM/SIGINT; installed before the device is built, so a stop is never missed."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def serve(args: argparse.Namespace, spec: DeviceSpec, plane: NftDataPlane | NullDataPlane,
                device: EmulatedDevice, stop: asyncio.Event, tag: str = "") -> int:
    """Listen, say ``ready``, serve until ``stop``, then close and remove the device's nft table.

    Shared with :mod:`egressctl_lab.faultemu` (``tag`` names it in the log), so the two emulator processes
    cannot drift apart in how they start and stop.
    """
    try:
        acceptor = await start_server(device, host=args.listen, port=args.port,
                                      host_key_path=args.host_key_file)
    except OSError as exc:
        log(f"{spec.name}: cannot listen on {args.listen}:{args.port}: {exc.strerror}")
        plane.remove()
        return 1
    log(f"{spec.name} ({args.platform}) listening on {args.listen}:{acceptor.get_port()}{tag}")
    _signal_ready(args.ready_fd)
    try:
        await stop.wait()
    finally:
        acceptor.close()
        with contextlib.suppress(TimeoutError, OSError):
            await asyncio.wait_for(acceptor.wait_closed(), 5)
        plane.remove()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
