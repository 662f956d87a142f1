"""The RouterOS router's shared state: configuration, data plane, scheduler, scripts, reboot.

Every accepted line changes the one configuration, which is live (enforced at once, one nft transaction)
and saved (a reboot keeps it). The scheduler runs an item's ``on-event`` (a script's name, or script
text) every ``interval`` from when it was added, and the ``start-time=startup`` items 3 s after each boot
(Scheduler manual); removing an item stops it. ``/system script run NAME`` and the scheduler run a
script's lines through a console of their own; a line the console refuses ends the script [M].
A reboot ends every console session and every connection, keeps the configuration and runs the startup
events: what an unconfirmed change leaves on a router that loses power is exactly its saved state.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec
from egressctl_lab.emu.mikrotik_routeros import compile as nft
from egressctl_lab.emu.mikrotik_routeros import constants as c
from egressctl_lab.emu.mikrotik_routeros.model import Config, Item, baseline

if TYPE_CHECKING:
    from egressctl_lab.emu.mikrotik_routeros.cli import RosSession


class RosDevice:
    """State shared by every console session of one emulated RouterOS router."""

    keyboard_interactive = False

    def __init__(self, spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> None:
        self.spec = spec
        self.clock = clock
        self.dataplane = dataplane
        self.config: Config = baseline(spec)
        self.boot = 1
        self.booted_at = clock.now()
        self.reboots = 0
        self.events: list[str] = []  # scheduler items that ran, in order (tests read it)
        self._timers: dict[int, Callable[[], None]] = {}
        self._applied: str | None = None
        self.changed()

    # -- the Device protocol ------------------------------------------------------------------------
    def login_name(self, username: str) -> str:
        """The user name without the console options netmiko appends after ``+`` (``admin+ct511w4098h``)."""
        return username.split("+", 1)[0]

    def new_session(self, username: str) -> RosSession:  # noqa: D102
        from egressctl_lab.emu.mikrotik_routeros.cli import RosSession

        return RosSession(self, self.login_name(username))

    def ruleset(self) -> str:  # noqa: D102
        return nft.ruleset(self.config, self.spec.interfaces)

    @property
    def identity(self) -> str:
        """``/system identity`` name (the prompt's host part)."""
        return self.config.singles.get("system identity", {}).get("name", "MikroTik")

    def changed(self) -> None:
        """The configuration changed: enforce it now when the compiled rules differ."""
        text = self.ruleset()
        if text != self._applied:
            self._applied = text
            try:
                self.dataplane.apply(text)
            except Exception as exc:  # the data plane must never take the console down
                print(f"egressctl-emu: {self.spec.name}: apply failed: {type(exc).__name__}", file=sys.stderr)

    # -- scheduler ----------------------------------------------------------------------------------
    def scheduled(self, item: Item) -> None:
        """A scheduler item was added or changed: (re)arm its interval timer."""
        self.unscheduled(item)
        seconds = duration(item.props.get("interval", "0s"))
        if seconds > 0 and item.props.get("disabled") != "yes":
            self._timers[item.id] = self.clock.call_later(seconds, lambda: self._fire(item, seconds))

    def unscheduled(self, item: Item) -> None:
        """A scheduler item was removed or disabled: stop its timer."""
        cancel = self._timers.pop(item.id, None)
        if cancel is not None:
            cancel()

    def _fire(self, item: Item, seconds: float) -> None:
        self._timers.pop(item.id, None)
        if item not in self.config.items("system scheduler"):
            return
        self._timers[item.id] = self.clock.call_later(seconds, lambda: self._fire(item, seconds))
        self.run_event(item)

    def run_event(self, item: Item) -> None:
        """Run one scheduler item's ``on-event``: a script's name, or script text."""
        self.events.append(item.props.get("name", item.ref))
        event = item.props.get("on-event", "")
        scripts = {i.props.get("name"): i for i in self.config.items("system script")}
        source = scripts[event].props.get("source", "") if event in scripts else event
        self.run_script(source)

    def run_script(self, source: str) -> str:
        """Run script text line by line; the first refused line ends it. Returns what it printed."""
        from egressctl_lab.emu.mikrotik_routeros.cli import RosSession

        console = RosSession(self, "admin", script=True)
        out: list[str] = []
        for line in source.replace("\r\n", "\n").replace(";\n", "\n").split("\n"):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            reply = console.handle(line)
            out.append(reply.text)
            if console.failed:
                break
        return "".join(out)

    # -- reboot -------------------------------------------------------------------------------------
    def reboot(self) -> None:
        """Power cycle: sessions and connections end, the saved configuration stays, startup events run."""
        self.boot += 1
        self.reboots += 1
        self.booted_at = self.clock.now()
        for flow in self.dataplane.sessions.flows():
            self.dataplane.sessions.delete(flow)
        for item in list(self.config.items("system scheduler")):
            self.scheduled(item)
            if item.props.get("start-time") == "startup" and item.props.get("disabled") != "yes":
                self.clock.call_later(c.STARTUP_DELAY, lambda it=item: self._startup(it))  # type: ignore[misc]
        self._applied = None
        self.changed()

    def _startup(self, item: Item) -> None:
        if item in self.config.items("system scheduler"):
            self.run_event(item)


def duration(text: str) -> float:
    """RouterOS time ``1m30s``, ``00:01:30``, ``90`` or ``90s`` -> seconds."""
    if ":" in text:
        parts = [float(p) for p in text.split(":")]
        return float(sum(v * 60.0 ** i for i, v in enumerate(reversed(parts))))
    total, num = 0.0, ""
    units = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
    for ch in text:
        if ch.isdigit() or ch == ".":
            num += ch
        elif ch in units and num:
            total, num = total + float(num) * units[ch], ""
        else:
            raise ValueError(text)
    return total + (float(num) if num else 0.0)
