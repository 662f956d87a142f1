"""One EOS CLI session: exec modes, ``configure terminal`` / ``configure session``, show commands.

A user with ``privilege 15`` (the lab's admin) logs in at ``#``, as on a real switch; ``enable`` is then a
no-op. Configuration lines live in :mod:`egressctl_lab.emu.arista_eos.config_mode`. Every handler parses
the whole line before touching state, so a refused line never changes anything.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from egressctl_lab.emu.arista_eos import config_mode, show
from egressctl_lab.emu.arista_eos import constants as c
from egressctl_lab.emu.arista_eos.acl import CliError, Cursor
from egressctl_lab.emu.arista_eos.device import ConfigSession
from egressctl_lab.emu.arista_eos.model import Config
from egressctl_lab.emu.base import Reply

if TYPE_CHECKING:
    from egressctl_lab.emu.arista_eos.device import EosDevice

_PIPES = ["include", "exclude", "begin", "section"]


def error_text(err: CliError) -> str:
    """What EOS prints for a refused line (no caret, unlike IOS) [M for the exact words]."""
    words = {"invalid": c.INVALID, "incomplete": c.INCOMPLETE, "ambiguous": c.AMBIGUOUS}
    return words.get(err.kind, err.message) + "\n"


class EosSession:
    """A vty session; ``mode`` is a key of ``constants.PROMPTS`` and ``arg`` its interface/ACL/block."""

    def __init__(self, device: EosDevice, username: str, vty: int) -> None:
        self.device = device
        self.username = username
        self.vty = vty
        privileged = device.spec.options.get("privilege", "15") == "15"
        self.mode = "enable" if privileged else "user"
        self.arg = ""
        self.interface = ""  # the interface being edited (config-if)
        self.generic = ""  # the header of the generic block being edited (config-generic)
        self.session: ConfigSession | None = None

    # -- Session protocol ---------------------------------------------------------------------------
    def banner(self) -> str:  # noqa: D102
        return "\n"

    def prompt(self) -> str:  # noqa: D102
        suffix = c.PROMPTS[self.mode].format(arg=self.arg)
        if self.session is not None and self.mode not in ("user", "enable"):
            suffix = suffix.replace("(config", f"(config-s-{self.session.name[: c.SESSION_PROMPT_CHARS]}", 1)
        return self.device.running.hostname + suffix

    def handle(self, line: str) -> Reply:  # noqa: D102
        if not line.strip() or line.lstrip().startswith("!"):
            return Reply()
        try:
            if self.mode in ("user", "enable"):
                return self.exec_command(line)
            return Reply(text=config_mode.handle(self, line))
        except CliError as err:
            return Reply(text=error_text(err))

    # -- what config lines change -------------------------------------------------------------------
    def cfg(self) -> Config:
        """The configuration this session edits: its config session's copy, or the running config."""
        return self.session.config if self.session is not None else self.device.running

    def changed(self) -> None:
        """A line changed the configuration: enforced at once outside a session, at commit inside one."""
        if self.session is None:
            self.device.changed()

    # -- exec ---------------------------------------------------------------------------------------
    def exec_command(self, line: str, via_config: bool = False) -> Reply:
        """A user/privileged exec command (``via_config``: ``do``/``show`` typed in configuration mode)."""
        body, pipe = _split_pipe(line)
        cur = Cursor(body)
        enabled = via_config or self.mode != "user"
        cmd = cur.keyword(c.EXEC_ENABLE if enabled else c.EXEC_USER)
        if cmd == "show":
            text = self.show(cur, enabled)
            return Reply(text=text if pipe is None else _filtered(text, pipe))
        if pipe is not None:
            raise CliError("invalid")
        if cmd in ("exit", "logout", "quit"):
            cur.end()
            self.device.gone(self)
            return Reply(close=True)
        if cmd in ("enable", "disable"):
            cur.end()
            self.mode = "enable" if cmd == "enable" else "user"
            return Reply()
        if cmd == "terminal":
            return Reply(text=_terminal(cur))
        if cmd == "configure":
            return Reply(text=self._configure(cur))
        if cmd in ("copy", "write"):
            if cmd == "copy":
                cur.keyword(["running-config"])
                cur.keyword(["startup-config"])
            else:
                cur.optional_keyword(["memory"])
            cur.end()
            self.device.startup = _copy(self.device.running)
            return Reply(text=c.COPY_OK + "\n")
        raise CliError("invalid")

    def _configure(self, cur: Cursor) -> str:
        what = cur.optional_keyword(["terminal", "session"]) or "terminal"
        if what == "terminal":
            cur.end()
            self.mode, self.session = "config", None
            return ""
        name = cur.word().text if cur.more() else f"session{self.vty}"
        action = cur.optional_keyword(["commit", "abort"])
        seconds = timer(cur) if action == "commit" and cur.optional_keyword(["timer"]) else None
        cur.end()
        dev = self.device
        if action is None:
            sess = dev.open_session(name, self.username)
            self.mode, self.session = "config", sess
            return ""
        sess_found = dev.sessions.get(name)
        if sess_found is None:
            return c.NO_SUCH_SESSION.format(name=name) + "\n"
        if action == "abort":
            dev.abort(sess_found)
            return ""
        err = dev.commit(sess_found, seconds)
        return err + "\n" if err else ""

    # -- show ---------------------------------------------------------------------------------------
    def show(self, cur: Cursor, enabled: bool) -> str:
        """Every ``show`` command this switch knows."""
        what = cur.keyword(c.SHOW)
        dev, cfg = self.device, self.device.running
        if what in ("running-config", "startup-config") and not enabled:
            raise CliError("message", message=c.PRIVILEGED)
        if what in ("ip", "ipv6"):
            cur.keyword(["access-lists"])
            name = cur.word().text if cur.more() else None
            cur.end()
            return show.access_lists(cfg, 4 if what == "ip" else 6, name)
        if what == "access-lists":
            cur.end()
            return show.access_lists(cfg, 4, None) + show.access_lists(cfg, 6, None)
        if what == "interfaces":
            cur.keyword(["status"])
        elif what == "configuration":
            cur.keyword(["sessions"])
            detail = cur.optional_keyword(["detail"]) is not None
            cur.end()
            return show.sessions(dev, detail)
        elif what == "session-config":
            return self._session_diffs(cur)
        cur.end()
        texts = {
            "running-config": lambda: show.running_config(cfg),
            "startup-config": lambda: show.running_config(dev.startup),
            "version": lambda: c.VERSION,
            "hostname": lambda: f"Hostname: {cfg.hostname}\nFQDN:     {cfg.hostname}\n",
            "clock": lambda: show.clock(dev.clock.now()),
            "interfaces": lambda: show.interfaces_status(cfg),
            "users": lambda: show.users(dev, self),
        }
        return texts[what]()

    def _session_diffs(self, cur: Cursor) -> str:
        sess = self.session
        if cur.optional_keyword(["named"]):
            name = cur.word().text
            sess = self.device.sessions.get(name)
            if sess is None:
                cur.keyword(["diffs"])
                return c.NO_SUCH_SESSION.format(name=name) + "\n"
        cur.keyword(["diffs"])
        cur.end()
        if sess is None:
            raise CliError("message", message=c.SESSION_NOT_PENDING.format(name="(none)"))
        base = sess.checkpoint if sess.checkpoint is not None else self.device.running
        return show.diffs(base, sess.config, sess.name)


def _split_pipe(line: str) -> tuple[str, tuple[str, str] | None]:
    if "|" not in line:
        return line, None
    body, _, tail = line.partition("|")
    parts = tail.strip().split(None, 1)
    if not parts:
        raise CliError("incomplete")
    return body.rstrip(), (parts[0], parts[1] if len(parts) > 1 else "")


def _filtered(text: str, pipe: tuple[str, str]) -> str:
    op = Cursor(pipe[0]).keyword(_PIPES)
    if not pipe[1]:
        raise CliError("incomplete")
    return show.apply_pipe(text, op, pipe[1])


def _terminal(cur: Cursor) -> str:
    what = cur.keyword(["length", "width", "monitor", "dont-ask"])
    if what in ("length", "width"):
        n = cur.number(0, 32767)
        cur.end()
        if what == "width":
            return c.WIDTH_SET.format(n=n) + "\n"
        return (c.PAGINATION_OFF if n == 0 else c.PAGINATION_SET.format(n=n)) + "\n"
    cur.end()
    return ""


def timer(cur: Cursor) -> int:
    """``hh:mm:ss`` -> seconds (1 s .. ``TIMER_MAX_SECONDS``)."""
    tok = cur.word()
    parts = tok.text.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise CliError("message", message=c.BAD_TIMER)
    h, m, s = (int(p) for p in parts)
    total = h * 3600 + m * 60 + s
    if m > 59 or s > 59 or not 0 < total <= c.TIMER_MAX_SECONDS:
        raise CliError("message", message=c.BAD_TIMER)
    return total


def _copy(cfg: Config) -> Config:
    return copy.deepcopy(cfg)
