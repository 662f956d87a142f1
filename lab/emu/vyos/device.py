"""The VyOS router's shared state: active and saved configurations, commit-confirm, reboots, conntrack.

Each ``configure`` session edits a working copy of its own (as on VyOS); ``commit`` makes it the active
configuration in one step (one nft transaction). ``commit-confirm N`` does the same and arms a timer: unless
``confirm`` comes within N minutes, the router reverts. How it reverts is the active configuration's
``system config-management commit-confirm action``:

* ``reboot`` (the default, and the only one before VyOS 1.5): the router **reboots** to its saved
  configuration (``/config/config.boot``): it forwards nothing and answers no login for ``boot_seconds``,
  every session (SSH and forwarded) is dropped, and it comes back with the saved configuration, which may be
  older than the commit before the change;
* ``reload`` (1.5 and later; refused as an invalid path on an older version): the configuration before the
  commit is loaded again in place, no reboot (it needs ``commit-revisions``, as VyOS says).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import suppress

from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec
from egressctl_lab.emu.vyos import constants as c
from egressctl_lab.emu.vyos import firewall
from egressctl_lab.emu.vyos.tree import Tree, clone, value
from egressctl_lab.emu.vyos.versions import version_tuple


def factory_config(spec: DeviceSpec) -> Tree:
    """The router's configuration at first boot: host name, login, ssh, interfaces, state policy."""
    tree: Tree = {
        "system": {"host-name": {spec.hostname: {}}, "login": {"user": {spec.username: {
            "authentication": {"plaintext-password": {"[redacted]": {}}}}}},
            "config-management": {"commit-revisions": {"100": {}}}},
        "service": {"ssh": {}},
        "interfaces": {"ethernet": {name: {"hw-id": {f"00:00:5e:00:53:{i:02x}": {}}}
                                    for i, name in enumerate(sorted(spec.interfaces))}},
        "firewall": {"global-options": {"state-policy": {
            "established": {"action": {"accept": {}}}, "related": {"action": {"accept": {}}},
            "invalid": {"action": {"drop": {}}}}}},
    }
    return tree


class VyosDevice:
    """State shared by every CLI session of one emulated VyOS router."""

    keyboard_interactive = False

    def __init__(self, spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> None:
        self.spec = spec
        self.clock = clock
        self.dataplane = dataplane
        self.version = spec.options.get("version", c.DEFAULT_VERSION)
        self.active = factory_config(spec)
        self.saved = clone(self.active)
        self.revisions: list[Tree] = []
        #: Files written by ``save FILE`` (``/config/config.boot`` is :attr:`saved`).
        self.files: dict[str, Tree] = {}
        #: The configuration a pending commit-confirm goes back to (reload), and the timer's cancel.
        self.before_confirm: Tree | None = None
        self.confirm_action = ""
        self._cancel: Callable[[], None] | None = None
        self.up_at = 0.0
        self.reboots = 0
        self.reloads = 0
        self._applied: str | None = None

    # -- Emulated device protocol ----------------------------------------------------------------------
    def new_session(self, username: str) -> object:  # noqa: D102
        from egressctl_lab.emu.vyos.cli import VyosSession

        return VyosSession(self, username)

    def ruleset(self) -> str:  # noqa: D102
        return firewall.ruleset(self.active, self.spec.interfaces)

    @property
    def supports_reload(self) -> bool:
        """VyOS 1.5 and later know ``commit-confirm action reload``."""
        return version_tuple(self.version) >= (1, 5)

    @property
    def booting(self) -> bool:
        """True while the router reboots: no forwarding, no login."""
        return self.clock.now() < self.up_at

    @property
    def confirm_pending(self) -> bool:
        """True while a commit-confirm waits for ``confirm``."""
        return self._cancel is not None

    def hostname(self) -> str:
        """The active ``system host-name``."""
        return value(self.active, ["system", "host-name"], self.spec.hostname)

    # -- commits ---------------------------------------------------------------------------------------
    def commit(self, new: Tree) -> None:
        """Make ``new`` the active configuration and enforce it."""
        self.revisions.insert(0, clone(self.active))
        del self.revisions[100:]
        self.active = clone(new)
        self.enforce()

    def arm(self, minutes: int, before: Tree, action: str) -> None:
        """Start the commit-confirm timer of the commit just made (``before`` = the one it replaced).

        ``action`` is the revert read from the active configuration when commit-confirm was typed.
        """
        self.before_confirm = clone(before)
        self.confirm_action = action
        self._cancel = self.clock.call_later(minutes * 60.0, self._expire)

    def action(self) -> str:
        """``reload`` or ``reboot``, as the active configuration says (reboot by default)."""
        found = value(self.active, ["system", "config-management", "commit-confirm", "action"], "reboot")
        return found if self.supports_reload else "reboot"

    def confirm(self) -> bool:
        """``confirm``: stop the timer; False when none was pending."""
        if self._cancel is None:
            return False
        self._cancel()
        self._cancel, self.before_confirm = None, None
        return True

    def _expire(self) -> None:
        self._cancel = None
        if self.confirm_action == "reload" and self.before_confirm is not None:
            self.reloads += 1
            print(f"egressctl-emu: {self.spec.name}: commit-confirm expired: reloading", file=sys.stderr)
            self.commit(self.before_confirm)
        else:
            self.reboot()
        self.before_confirm = None

    def reboot(self) -> None:
        """Go down (no forwarding, no login, sessions dropped); come back on the saved configuration."""
        self.reboots += 1
        seconds = float(self.spec.options.get("boot_seconds", c.BOOT_SECONDS))
        self.up_at = self.clock.now() + seconds
        self.active = clone(self.saved)
        print(f"egressctl-emu: {self.spec.name}: commit-confirm expired: rebooting ({seconds:g} s)",
              file=sys.stderr, flush=True)
        down: Tree = {"firewall": {"ipv4": {"forward": {"filter": {"default-action": {"drop": {}}}}},
                             "ipv6": {"forward": {"filter": {"default-action": {"drop": {}}}}}}}
        with suppress(Exception):  # the data plane must never take the emulator down
            self._applied = firewall.ruleset(down, self.spec.interfaces)
            self.dataplane.apply(self._applied)
            for flow in self.dataplane.sessions.flows():
                self.dataplane.sessions.delete(flow)
        self.clock.call_later(seconds, self.enforce)

    def enforce(self) -> None:
        """Apply the active configuration's ruleset when it differs from the last one applied."""
        if self.booting:
            return
        text = self.ruleset()
        if text == self._applied:
            return
        self._applied = text
        try:
            self.dataplane.apply(text)
        except Exception as exc:  # the data plane must never take the CLI down
            print(f"egressctl-emu: {self.spec.name}: apply failed: {type(exc).__name__}", file=sys.stderr)
