"""An emulated sample box for egressctl's lab core: a tiny line-based ACL CLI (never imports the driver).

``create(spec, clock, dataplane)`` is the personality factory the lab's SSH core serves (registered under
the ``egressctl_lab.emulators`` entry point). The box's CLI, as its (made-up) vendor documents it:

* any mode: ``show running-config``, ``show commit`` (``commit status: pending`` while a timer runs);
* exec mode (``NAME#``): ``configure`` (a private candidate, a copy of the running configuration),
  ``confirm`` (keep the pending commit), ``rollback`` (undo the last commit now), ``exit``;
* configuration mode (``NAME(config)#``): ``acl NAME`` (enter a list, ``NAME(config-acl)#``), ``no acl
  NAME``, ``show compare``, ``commit`` / ``commit confirmed SECONDS`` (apply; revert after SECONDS of device
  time unless confirmed), ``abort`` (drop the candidate), ``end``;
* in a list: `` remark TEXT`` and `` ACTION PROTOCOL SOURCE SOURCE-PORTS DESTINATION DESTINATION-PORTS
  NAME`` entries; anything else is refused with a ``% ...`` line and changes nothing.

The box enforces nothing on packets (its data-plane ruleset is an empty table): it exists for the driver's
SSH lifecycle tests. :class:`AclConfig` is its pure configuration model, also usable as the conformance
suite's read-back model.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from egressctl_lab.emu.base import Clock, DataPlane, DeviceSpec, Reply
from egressctl_lab.emu.dataplane import table

PORTS = r"(any|\d{1,5}(-\d{1,5})?)"
ENTRY_RE = re.compile(rf"^ (permit|deny) (any|tcp|udp|icmp) (\S+) {PORTS} (\S+) {PORTS} [A-Za-z][\w-]*$")
NAME_RE = re.compile(r"^[A-Za-z][\w-]{0,31}$")


class Refused(ValueError):
    """A line the box refuses (its text is the box's error message)."""


def check_entry(line: str) -> None:
    """Refuse an entry the box cannot hold: bad syntax, bad prefixes or mixed families."""
    m = ENTRY_RE.match(line)
    if m is None:
        raise Refused(f"% invalid entry: {line.strip()}")
    try:
        src, dst = ipaddress.ip_network(m[3], strict=True), ipaddress.ip_network(m[6], strict=True)
    except ValueError:
        raise Refused(f"% invalid prefix in: {line.strip()}") from None
    if src.version != dst.version:
        raise Refused(f"% mixed address families in: {line.strip()}")


@dataclass
class AclConfig:
    """The box's configuration: its hostname and named lists of entry lines (remarks included)."""

    hostname: str
    acls: dict[str, list[str]] = field(default_factory=dict)
    _current: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, raw: str) -> AclConfig:
        """Read a ``show running-config`` text back into a model."""
        found = re.search(r"^hostname (\S+)$", raw, re.M)
        model = cls(found[1] if found else "box")
        return model.apply(ln for ln in raw.splitlines() if not ln.startswith(("hostname ", "!")) and ln)

    def copy(self) -> AclConfig:
        """An independent copy (a candidate)."""
        return AclConfig(self.hostname, {k: list(v) for k, v in self.acls.items()})

    def apply(self, lines: Iterable[str]) -> AclConfig:
        """Apply configuration lines in order (``Refused`` at the first bad one); returns the model."""
        for line in lines:
            self.step(line)
        return self

    def step(self, line: str) -> None:
        """Apply one configuration line."""
        if line.startswith(" ") and self._current is not None:
            if not line.startswith(" remark "):
                check_entry(line)
            self.acls[self._current].append(line)
            return
        self._current = None
        words = line.split()
        if len(words) == 2 and words[0] == "acl" and NAME_RE.match(words[1]):
            self._current = words[1]
            self.acls.setdefault(words[1], [])
        elif len(words) == 3 and words[:2] == ["no", "acl"]:
            self.acls.pop(words[2], None)
        else:
            raise Refused(f"% unknown configuration line: {line.strip()}")

    def text(self) -> str:
        """The running configuration as ``show running-config`` prints it."""
        out = [f"hostname {self.hostname}", "!"]
        for name, lines in self.acls.items():
            out += [f"acl {name}", *lines, "!"]
        return "\n".join(out)


class SampleBox:
    """State shared by every session: running configuration, the one before the last commit, its timer."""

    keyboard_interactive = False

    def __init__(self, spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> None:
        self.spec = spec
        self.clock = clock
        self.running = AclConfig(spec.hostname)
        self.previous: AclConfig | None = None
        self.commits = 0
        self.reverts = 0
        self._cancel: Callable[[], None] | None = None

    def new_session(self, username: str) -> SampleSession:
        """A CLI session for an authenticated user."""
        return SampleSession(self)

    def ruleset(self) -> str:
        """The box filters nothing on packets: an empty emulator table."""
        return table("")

    def commit(self, candidate: AclConfig, confirm_in: float | None) -> str:
        """Make ``candidate`` the running configuration, arming the revert timer when asked."""
        if self._cancel is not None:
            raise Refused("% a commit is pending confirmation")
        self.previous, self.running = self.running, candidate
        self.commits += 1
        if confirm_in is None:
            return "commit complete"
        self._cancel = self.clock.call_later(confirm_in, self._revert)
        return f"commit complete; reverts in {confirm_in:g} s unless confirmed"

    def _revert(self) -> None:
        if self.previous is not None:
            self.running, self.previous = self.previous, None
        self._cancel = None
        self.reverts += 1

    def confirm(self) -> str:
        """Keep the pending commit."""
        if self._cancel is None:
            raise Refused("% no commit pending")
        self._cancel()
        self._cancel = None
        return "commit confirmed"

    def rollback(self) -> str:
        """Undo the last commit now (pending or not)."""
        if self.previous is None:
            raise Refused("% nothing to roll back")
        if self._cancel is not None:
            self._cancel()
            self._cancel = None
        self.running, self.previous = self.previous, None
        return "rolled back"

    def status(self) -> str:
        """``show commit``."""
        return "commit status: pending" if self._cancel is not None else "commit status: none"


class SampleSession:
    """One CLI session: its mode and its private candidate."""

    def __init__(self, box: SampleBox) -> None:
        self.box = box
        self.candidate: AclConfig | None = None

    def banner(self) -> str:
        """No banner."""
        return ""

    def prompt(self) -> str:
        """``NAME#``, ``NAME(config)#`` or ``NAME(config-acl)#``."""
        name = self.box.spec.hostname
        if self.candidate is None:
            return f"{name}#"
        return f"{name}(config-acl)#" if self.candidate._current is not None else f"{name}(config)#"

    def handle(self, line: str) -> Reply:
        """Answer one line; a refused line changes nothing."""
        try:
            return Reply(text=self._answer(line))
        except Refused as exc:
            return Reply(text=f"{exc}\n")

    def _answer(self, line: str) -> str:
        command = line.strip()
        if not command:
            return ""
        if command == "show running-config":
            return self.box.running.text() + "\n"
        if command == "show commit":
            return self.box.status() + "\n"
        if self.candidate is None:
            return self._exec(command)
        return self._config(line, command)

    def _exec(self, command: str) -> str:
        actions: dict[str, Callable[[], str]] = {"confirm": self.box.confirm, "rollback": self.box.rollback}
        if command == "configure":
            self.candidate = self.box.running.copy()
            return ""
        if command in actions:
            return actions[command]() + "\n"
        raise Refused(f"% unknown command: {command}")

    def _config(self, line: str, command: str) -> str:
        assert self.candidate is not None
        if command in ("abort", "end"):
            self.candidate = None
            return ""
        if command == "show compare":
            old, new = self.box.running.text().splitlines(), self.candidate.text().splitlines()
            diff = difflib.unified_diff(old, new, lineterm="", n=0)
            return "".join(f"{d}\n" for d in list(diff)[2:])
        if m := re.fullmatch(r"commit( confirmed (\d{1,6}))?", command):
            done = self.box.commit(self.candidate.copy(), float(m[2]) if m[2] else None)
            self.candidate = None
            return done + "\n"
        attempt = self.candidate.copy()
        attempt._current = self.candidate._current
        attempt.step(line)
        self.candidate = attempt
        return ""


def create(spec: DeviceSpec, clock: Clock, dataplane: DataPlane) -> SampleBox:
    """The personality factory the lab's SSH core calls."""
    return SampleBox(spec, clock, dataplane)
