"""One IOS CLI session: exec modes (``>``/``#``), the enable dialog, show commands and the safety net.

Configuration-mode commands live in :mod:`egressctl_lab.emu.cisco_ios.config_mode`. Every handler parses
the whole line before touching state, so a refused line never changes anything.
"""

from __future__ import annotations

import copy
import hmac
import time
from typing import TYPE_CHECKING

from egressctl_lab.emu.base import Reply
from egressctl_lab.emu.cisco_ios import config_mode, render, show, switch
from egressctl_lab.emu.cisco_ios import constants as c
from egressctl_lab.emu.cisco_ios.generic import Block
from egressctl_lab.emu.cisco_ios.model import Config
from egressctl_lab.emu.cisco_ios.tokens import CliError, Cursor

if TYPE_CHECKING:
    from egressctl_lab.emu.cisco_ios.device import IosDevice

_PIPES = ["include", "exclude", "begin", "section"]


class IosSession:
    """A vty session; ``mode`` is one of the keys of ``constants.PROMPTS``."""

    def __init__(self, device: IosDevice, username: str) -> None:
        self.device = device
        self.username = username
        # ``login local`` on the vty: a privilege-15 user starts in privileged EXEC, as on the router.
        self.mode = "enable" if device.privilege(username) >= 15 else "user"
        self.acl: str = ""  # the ACL being edited (config-ext-nacl / config-ipv6-acl)
        self.interface: str = ""  # the interface being edited (config-if)
        self.block = Block("")  # the stored global line a generic sub-mode (config-line...) edits
        self._dialog: str | None = None  # "enable" (secret), "copy" (destination) or "banner" (text)
        self._tries = 0
        self._banner: tuple[str, str, list[str]] = ("", "", [])  # kind, delimiter, lines so far

    # -- Session protocol ---------------------------------------------------------------------------
    def banner(self) -> str:  # noqa: D102
        return c.BANNER

    def prompt(self) -> str:  # noqa: D102
        if self._dialog == "enable":
            return c.PASSWORD_PROMPT
        if self._dialog == "copy":
            return c.COPY_DEST
        if self._dialog == "banner":
            return ""
        return self.device.running.hostname + c.PROMPTS.get(self.mode, f"({self.mode})#")

    def interrupt(self) -> None:
        """Ctrl-C abandons a dialog."""
        self._dialog = None

    def handle(self, line: str) -> Reply:  # noqa: D102
        if self._dialog == "enable":
            return self._enable_secret(line)
        if self._dialog == "copy":
            self._dialog = None
            return Reply(text=self._save())
        if self._dialog == "banner":
            return self._banner_line(line)
        prompt = self.prompt()
        if not line.strip() or line.lstrip().startswith("!"):
            return Reply()
        try:
            return self.dispatch(line)
        except CliError as err:
            return Reply(text=err.render(prompt, line))

    # -- dispatch -----------------------------------------------------------------------------------
    def dispatch(self, line: str) -> Reply:
        """Run ``line`` in the current mode."""
        if self.mode in ("user", "enable"):
            return self.exec_command(line)
        return Reply(text=config_mode.handle(self, line))

    def exec_command(self, line: str, via_do: bool = False) -> Reply:
        """A user/privileged exec command (``via_do``: from config mode, with privilege)."""
        body, pipe = _split_pipe(line)
        cur = Cursor(body)
        enabled = via_do or self.mode != "user"
        cmd = cur.keyword(c.EXEC_ENABLE if enabled else c.EXEC_USER)
        if cmd == "show":
            return Reply(text=self._filtered(self._show(cur, enabled), pipe, body))
        if pipe is not None:
            raise CliError("invalid", len(body))
        if cmd in ("exit", "logout", "quit"):
            cur.end()
            return Reply(close=True)
        if cmd == "enable":
            cur.end()
            if self.mode == "user":
                if self.device.running.enable_secret is None:
                    return Reply(text=c.NO_PASSWORD_SET + "\n")
                self._dialog, self._tries = "enable", 0
                return Reply(echo_next=False)
            return Reply()
        if cmd == "disable":
            cur.end()
            self.mode = "user"
            return Reply()
        if cmd == "terminal":
            _terminal(cur)
            return Reply()
        if cmd == "configure":
            return Reply(text=self._configure(cur))
        if cmd == "write":
            cur.optional_keyword(["memory"])
            cur.end()
            return Reply(text=self._save())
        if cmd == "copy":
            cur.keyword(["running-config"])
            cur.keyword(["startup-config"])
            cur.end()
            self._dialog = "copy"
            return Reply()
        raise CliError("invalid", cur.tokens[0].pos)

    # -- enable / save ------------------------------------------------------------------------------
    def _enable_secret(self, secret: str) -> Reply:
        expected = self.device.running.enable_secret or ""
        if expected and hmac.compare_digest(secret.encode(), expected.encode()):
            self._dialog = None
            self.mode = "enable"
            return Reply()
        self._tries += 1
        if self._tries >= 3:
            self._dialog = None
            return Reply(text=c.BAD_SECRETS + "\n\n")
        return Reply(echo_next=False)

    # -- banner mode ------------------------------------------------------------------------------
    def start_banner(self, cur: Cursor, negate: bool) -> str:
        """``banner [KIND] D text D``; without the closing delimiter, the text follows line by line."""
        kind = cur.optional_keyword(c.BANNER_KINDS) or "motd"
        banners = self.device.running.banners
        if negate:
            cur.rest() if cur.more() else None
            banners.pop(kind, None)
            return ""
        first = cur.word()
        delim = first.text[0]
        after = cur.line[first.pos + 1:]
        if delim in after:
            banners[kind] = after.split(delim, 1)[0].strip()
            return ""
        self._dialog = "banner"
        self._banner = (kind, delim, [after.strip()] if after.strip() else [])
        return c.BANNER_ENTER.format(delim=delim) + "\n"

    def _banner_line(self, line: str) -> Reply:
        kind, delim, lines = self._banner
        if delim not in line:
            lines.append(line)
            return Reply()
        head = line.split(delim, 1)[0]
        if head:
            lines.append(head)
        self.device.running.banners[kind] = "\n".join(lines)
        self._dialog = None
        return Reply()

    def _save(self) -> str:
        self.device.startup = _copy(self.device.running)
        return f"{c.BUILDING}\n{c.OK}\n"

    # -- configure ----------------------------------------------------------------------------------
    def _configure(self, cur: Cursor) -> str:
        what = cur.keyword(["terminal", "confirm", "revert"])
        dev = self.device
        if what == "terminal":
            minutes = None
            if cur.optional_keyword(["revert"]):
                cur.keyword(["timer"])
                minutes = cur.number(1, 120)
            cur.end()
            if minutes is not None:
                if dev.running.archive_path is None:
                    return c.ARCHIVE_NEEDED + "\n"
                dev.start_revert(minutes)
            self.mode = "config"
            return c.ENTER_CONFIG + "\n"
        if what == "confirm":
            cur.end()
            return "" if dev.confirm() else c.NO_ROLLBACK_PENDING + "\n"
        action = cur.keyword(["now", "timer"])
        if action == "now":
            cur.end()
            if dev.pending is None:
                return c.NO_ROLLBACK_PENDING + "\n"
            path = dev.pending.archive_file
            dev.revert_now()
            return c.ROLLING_BACK.format(path=path) + "\n"
        tok = cur.peek()
        if tok is not None and tok.text.lower() == "cancel":
            cur.word()
            cur.end()
            return "" if dev.confirm() else c.NO_ROLLBACK_PENDING + "\n"
        minutes = cur.number(1, 120)
        cur.end()
        if dev.pending is None:
            return c.NO_ROLLBACK_PENDING + "\n"
        dev.start_revert(minutes)
        return ""

    # -- show ---------------------------------------------------------------------------------------
    def _show(self, cur: Cursor, enabled: bool) -> str:
        options = ["access-lists", "ip", "ipv6", "version", "clock", "archive", "interfaces"]
        if enabled:
            options += ["running-config", "startup-config"]
        is_switch = switch.enabled(self.device.spec)
        if is_switch:
            options.append("vlan")
        what = cur.keyword(options)
        cfg = self.device.running
        if what == "vlan":
            brief = cur.optional_keyword(["brief"])
            cur.end()
            return switch.show_vlan_brief(cfg) if brief else switch.show_vlan(cfg)
        if what == "interfaces" and is_switch and cur.more() and switch.status_asked(cur):
            return switch.show_interfaces_status(cfg, show.carrier(cfg))
        if what == "running-config":
            cur.end()
            return render.running_config(cfg)
        if what == "startup-config":
            cur.end()
            return render.running_config(self.device.startup).replace("Current configuration", "Using")
        if what == "access-lists":
            name = cur.word().text if cur.more() else None
            cur.end()
            return render.show_access_lists(cfg, name)
        if what == "ip":
            sub = cur.keyword(["interface", "access-lists"])
            if sub == "access-lists":
                name = cur.word().text if cur.more() else None
                cur.end()
                return render.show_access_lists(_only(cfg, 4), name)
            cur.keyword(["brief"])
            cur.end()
            return render.show_ip_interface_brief(cfg)
        if what == "ipv6":
            cur.keyword(["access-list"])
            name = cur.word().text if cur.more() else None
            cur.end()
            return render.show_access_lists(_only(cfg, 6), name)
        if what == "archive":
            return self._show_archive(cur)
        if what == "interfaces":
            return show.interfaces(cfg, cur)
        cur.end()
        if what == "clock":
            return time.strftime("*%H:%M:%S.000 UTC %a %b %d %Y", time.gmtime(self.device.clock.now())) + "\n"
        return show.version(self.device)

    def _show_archive(self, cur: Cursor) -> str:
        if not cur.more():
            return render.show_archive(self.device.running, self.device.archive_files)
        cur.keyword(["config"])
        cur.keyword(["rollback"])
        cur.keyword(["timer"])
        cur.end()
        pending = self.device.pending
        if pending is None:
            return c.NO_ROLLBACK_PENDING + "\n"
        left = max(0, int((pending.deadline - self.device.clock.now()) / 60 + 0.999))
        return (f"Schedule time: {time.ctime(pending.deadline)}\nUser: {self.username}\n"
                f"Timer type: Absolute\nTimer value: {pending.minutes} min\nTime left: {left} min\n")

    def _filtered(self, text: str, pipe: tuple[str, str] | None, body: str) -> str:
        if pipe is None:
            return text
        op_text, pattern = pipe
        op_cur = Cursor(op_text)
        op = op_cur.keyword(_PIPES)
        if not pattern:
            raise CliError("incomplete")
        return render.apply_pipe(text, op, pattern)


def _split_pipe(line: str) -> tuple[str, tuple[str, str] | None]:
    """``show X | include REGEX`` -> ("show X", ("include", "REGEX"))."""
    if "|" not in line:
        return line, None
    body, _, tail = line.partition("|")
    parts = tail.strip().split(None, 1)
    if not parts:
        raise CliError("incomplete")
    return body.rstrip(), (parts[0], parts[1] if len(parts) > 1 else "")


def _terminal(cur: Cursor) -> None:
    what = cur.keyword(["length", "width", "monitor", "no"])
    if what in ("length", "width"):
        cur.number(0, 512)
    elif what == "no":
        cur.keyword(["monitor"])
    cur.end()


def _only(cfg: Config, family: int) -> Config:
    view = Config(hostname=cfg.hostname)
    view.acls = {k: v for k, v in cfg.acls.items() if k[0] == family}
    return view


def _copy(cfg: Config) -> Config:
    return copy.deepcopy(cfg)
