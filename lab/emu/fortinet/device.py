"""The emulated FortiGate: effective configuration, saved configuration and the cfg-save revert timer.

FortiOS has no candidate configuration: a change is live as soon as ``next``/``end`` closes its edit.
What it has instead is the *saved* configuration. With ``cfg-save automatic`` (the default) every change
is saved at once; with ``cfg-save revert`` changes stay unsaved and, unless ``execute cfg save`` confirms
them within ``cfg-revert-timeout`` seconds, the unit reverts to the saved configuration. That timer runs
on the device clock (time-scale knob) and really restores the old data plane.

A real unit reverts by **rebooting** (Fortinet KB FD30912; every member of an HA cluster reboots), and so
does this one: for ``boot_seconds`` device seconds (spec option, default 90) it forwards nothing, every
CLI session is dropped (at its next line) and new ones are closed at once; then it comes back with the
saved configuration. ``reboots`` counts them. ``system auto-script`` entries that start automatically run
on the same clock (:mod:`.autoscript`), which is how a change can be undone without a reboot.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import suppress

from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec, Session
from egressctl_lab.emu.fortinet import compile as fcompile
from egressctl_lab.emu.fortinet import constants as C
from egressctl_lab.emu.fortinet.autoscript import AutoScripts
from egressctl_lab.emu.fortinet.model import ZERO4, Config, clone, fresh_entry, value_of
from egressctl_lab.emu.fortinet.recheck import recheck
from egressctl_lab.emu.sessions import Bindings, SessionIds, crossings

#: Device seconds a reboot takes when the spec's ``boot_seconds`` option does not say [M].
BOOT_SECONDS = 90.0


def baseline(spec: DeviceSpec) -> Config:
    """Factory objects plus policy 1 ``lan-to-wan`` (LAN -> WAN, accept all, IPv4 and IPv6)."""
    lan = spec.options.get("lan_interface", C.DEFAULT_LAN)
    wan = spec.options.get("wan_interface", C.DEFAULT_WAN)
    services = {name: dict(fields) for name, fields in C.PREDEFINED_SERVICES.items()}
    policy = fresh_entry("firewall policy", "1") | {
        "name": ("lan-to-wan",), "srcintf": (lan,), "dstintf": (wan,), "action": ("accept",),
        "srcaddr": ("all",), "dstaddr": ("all",), "srcaddr6": ("all",), "dstaddr6": ("all",),
        "schedule": ("always",), "service": ("ALL",),
    }
    ports = dict.fromkeys((*(tuple(spec.interfaces) or (wan, lan)), lan, wan))
    return {
        "system console": {"": {}},
        "system global": {"": {"hostname": (spec.hostname,)}},
        "system settings": {"": {}},
        "system auto-script": {},
        "firewall address": {
            "all": fresh_entry("firewall address", "all"),
            "none": fresh_entry("firewall address", "none") | {"subnet": (ZERO4, "255.255.255.255")},
        },
        "firewall address6": {
            "all": fresh_entry("firewall address6", "all"),
            "none": fresh_entry("firewall address6", "none") | {"ip6": ("::/128",)},
        },
        "firewall addrgrp": {},
        "firewall addrgrp6": {},
        "firewall service custom": services,
        "firewall service group": {},
        "firewall policy": {"1": policy},
        # Kept generically (generic.py): the ports exist on the unit, as on a factory-default FortiGate.
        "system interface": {port: {"vdom": ("root",), "type": ("physical",)} for port in ports},
    }


class FortiDevice:
    """State shared by every SSH session of one emulated FortiGate."""

    keyboard_interactive = False

    def __init__(self, spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> None:
        self.spec = spec
        self.clock = clock
        self.dataplane = dataplane
        self.config: Config = baseline(spec)
        self.saved: Config = clone(self.config)
        self.reverts = 0
        self._cancel_revert: Callable[[], None] | None = None
        #: Session serials shown by ``diagnose sys session list``; sessions flushed by policy changes.
        self.session_ids = SessionIds(first=0x1000)
        self.bound: Bindings[str | None] = Bindings()
        self.flushed = 0
        self.scripts = AutoScripts(self)
        #: Reboots so far (a cfg-save revert timeout reboots the unit); sessions of an older boot are dead.
        self.reboots = 0
        self.up_at = 0.0

    # -- EmulatedDevice -------------------------------------------------------------------------------
    def new_session(self, username: str) -> Session:
        """Open a CLI session (every session sees the same live configuration)."""
        from egressctl_lab.emu.fortinet.cli import FortiSession

        return FortiSession(self)

    def ruleset(self) -> str:
        """The nft text enforcing the live configuration."""
        return fcompile.ruleset(self.config, self.spec.interfaces)

    # -- facts the CLI needs -------------------------------------------------------------------------
    def hostname(self) -> str:
        """The prompt's hostname (``config system global`` / ``set hostname`` changes it)."""
        return self._global("hostname") or self.spec.hostname

    def interfaces(self) -> tuple[str, ...]:
        """Vendor interface names (``port1``...) a policy may reference."""
        names = tuple(self.spec.interfaces) or (C.DEFAULT_WAN, C.DEFAULT_LAN)
        return tuple(dict.fromkeys((*names, self.spec.options.get("lan_interface", C.DEFAULT_LAN),
                                    self.spec.options.get("wan_interface", C.DEFAULT_WAN))))

    def _global(self, name: str, config: Config | None = None) -> str:
        cfg = config if config is not None else self.config
        return value_of("system global", cfg["system global"][""], name)[0]

    @property
    def booting(self) -> bool:
        """True while the unit reboots: no forwarding, no CLI."""
        return self.clock.now() < self.up_at

    @property
    def revert_pending(self) -> bool:
        """True while unsaved changes are waiting for the cfg-revert timeout."""
        return self._cancel_revert is not None

    # -- changes -------------------------------------------------------------------------------------
    def commit(self, new: Config) -> None:
        """Make ``new`` the live configuration (a closed edit, a delete or a move) and enforce it."""
        was_automatic = self._global("cfg-save") == "automatic"
        before, self.config = self.config, new
        mode = self._global("cfg-save")
        if was_automatic or mode == "automatic":
            self.saved = clone(new)
            self._stop_timer()
        elif mode == "revert" and self._cancel_revert is None:
            timeout = float(self._global("cfg-revert-timeout"))
            self._cancel_revert = self.clock.call_later(timeout, self._timeout)
        self._enforce(before)
        self.scripts.sync()

    def cfg_save(self) -> None:
        """``execute cfg save``: the live configuration becomes the saved one; no revert happens."""
        self.saved = clone(self.config)
        self._stop_timer()

    def cfg_reload(self) -> None:
        """``execute cfg reload``: back to the saved configuration now."""
        self._stop_timer()
        self._restore()

    def _timeout(self) -> None:
        self._cancel_revert = None
        self.reverts += 1
        self.reboot()

    def reboot(self) -> None:
        """Go down: drop sessions and forwarding; come back ``boot_seconds`` later on the saved config."""
        self.reboots += 1
        self.scripts.stop()
        self.config = clone(self.saved)
        seconds = float(self.spec.options.get("boot_seconds", BOOT_SECONDS))
        self.up_at = self.clock.now() + seconds
        down = {**self.config, "firewall policy": {}}  # nothing matches: the implicit deny drops all
        with suppress(Exception):  # the data plane must never take the emulator down
            self.dataplane.apply(fcompile.ruleset(down, self.spec.interfaces))
            for c in crossings(self.dataplane.sessions):
                if c.forwarded:
                    self.dataplane.sessions.delete(c.flow)
        print(f"egressctl-emu: {self.spec.name}: cfg-save revert timeout: rebooting ({seconds:g} s)",
              file=sys.stderr, flush=True)
        self.clock.call_later(seconds, self._booted)

    def _booted(self) -> None:
        with suppress(Exception):
            self.dataplane.apply(self.ruleset())
        self.scripts.sync()

    def _restore(self) -> None:
        before, self.config = self.config, clone(self.saved)
        self._enforce(before)
        self.scripts.sync()

    def _stop_timer(self) -> None:
        if self._cancel_revert is not None:
            self._cancel_revert()
            self._cancel_revert = None

    def _enforce(self, before: Config) -> None:
        """Enforce the live configuration; if its policies changed, re-check established sessions."""
        ruleset = self.ruleset()
        self.dataplane.apply(ruleset)
        if ruleset == fcompile.ruleset(before, self.spec.interfaces):
            return
        try:
            self.flushed += recheck(self.dataplane.sessions, before, self.config, self.spec.interfaces,
                                    self.bound)
        except Exception as exc:  # the session table must never take the CLI down
            print(f"egressctl-emu: {self.spec.name}: session re-check failed: {type(exc).__name__}",
                  file=sys.stderr)


def create(spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> FortiDevice:
    """Personality factory (registered as ``fortinet`` in :mod:`egressctl_lab.emu.registry`)."""
    return FortiDevice(spec, clock, dataplane)
