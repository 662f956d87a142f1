"""One ASA CLI session: exec modes (``>``/``#``), ``enable`` and ``login`` dialogs, show, write, clear conn.

SSH lands in user EXEC (``asa1>``) unless ``aaa authorization exec LOCAL auto-enable`` is configured; the
``enable`` password (here the login password) or ``login`` (the local user's own credentials, privilege
15) reach privileged EXEC. The ASA runs show, write and clear commands in configuration mode as well,
without ``do``. Configuration lines live in :mod:`egressctl_lab.emu.cisco_asa.config_mode`. Output filters:
``| include|exclude|begin|grep [-v]``.
"""

from __future__ import annotations

import hmac
import re
import time
from typing import TYPE_CHECKING

from egressctl_lab.emu.base import Reply
from egressctl_lab.emu.cisco_asa import config_mode, conn
from egressctl_lab.emu.cisco_asa import constants as c
from egressctl_lab.emu.cisco_ios.tokens import CliError, Cursor
from egressctl_lab.emu.sessions import crossings

if TYPE_CHECKING:
    from egressctl_lab.emu.cisco_asa.device import AsaDevice


def render_error(err: CliError, prompt: str, line: str) -> str:
    """The text the ASA prints for a refused line."""
    if err.kind == "invalid":
        return " " * (len(prompt) + err.pos) + "^\n" + c.INVALID + "\n"
    if err.kind == "incomplete":
        return c.INCOMPLETE + "\n"
    if err.kind == "ambiguous":
        return c.AMBIGUOUS.format(line=line.strip()) + "\n"
    return err.message + "\n"


def pipe(text: str, spec: str) -> str:
    """Apply ``| include|exclude|begin|grep [-v] REGEX`` to ``text``."""
    cur = Cursor(spec)
    kw = cur.keyword(["include", "exclude", "begin", "grep"])
    invert = kw == "exclude"
    if kw == "grep" and cur.peek() is not None and cur.tokens[cur.i].text == "-v":
        cur.i, invert = cur.i + 1, True
    rx = re.compile(cur.rest())
    lines = text.splitlines()
    if kw == "begin":
        start = next((i for i, ln in enumerate(lines) if rx.search(ln)), len(lines))
        return "".join(ln + "\n" for ln in lines[start:])
    return "".join(ln + "\n" for ln in lines if bool(rx.search(ln)) != invert)


class AsaSession:
    """A vty session; ``mode`` is a key of ``constants.PROMPTS`` (``config-generic`` uses ``sub``)."""

    def __init__(self, device: AsaDevice, username: str) -> None:
        self.device = device
        self.username = username
        self.mode = "user"
        self.sub = ""  # the generic sub-mode's name, or the interface / object-group being edited
        self.target: object = None  # what the current sub-mode edits
        self._dialog = ""  # "enable", "login-user", "login-password"
        self._login_user = ""

    # -- Session protocol ---------------------------------------------------------------------------
    def banner(self) -> str:  # noqa: D102
        return c.BANNER

    def prompt(self) -> str:  # noqa: D102
        if self._dialog in ("enable", "login-password"):
            return c.PASSWORD_PROMPT
        if self._dialog == "login-user":
            return "Username: "
        tail = c.PROMPTS[self.mode].format(sub=self.sub)
        return self.device.running.hostname + tail

    def interrupt(self) -> None:
        """Ctrl-C abandons a dialog."""
        self._dialog = ""

    def handle(self, line: str) -> Reply:  # noqa: D102
        if self._dialog:
            return self._dialog_line(line)
        prompt = self.prompt()
        if not line.strip() or line.lstrip().startswith((":", "!")):
            return Reply()
        body, bar, spec = line.partition(" | ")
        try:
            reply = self.dispatch(body if bar else line)
            if bar:
                reply.text = pipe(reply.text, spec)
            return reply
        except CliError as err:
            return Reply(text=render_error(err, prompt, line))

    def _dialog_line(self, line: str) -> Reply:
        kind, self._dialog = self._dialog, ""
        if kind == "login-user":
            self._login_user, self._dialog = line.strip(), "login-password"
            return Reply(echo_next=False)
        ok = hmac.compare_digest(line.encode(), self.device.spec.password.encode())
        if kind == "login-password":
            ok = ok and self._login_user == self.device.spec.username
        if ok:
            self.mode = "enable"
            return Reply()
        return Reply(text=c.BAD_PASSWORD + "\n" if kind == "enable" else "Login invalid\n")

    # -- dispatch -----------------------------------------------------------------------------------
    def dispatch(self, line: str) -> Reply:
        """Run ``line``: exec commands anywhere from privileged EXEC on, config lines in config modes."""
        cur = Cursor(line)
        first = cur.peek()
        assert first is not None
        word = first.text.lower()
        if self.mode == "user":
            return self.user_command(cur)
        clear_cfg = word == "clear" and len(cur.tokens) > 1 and cur.tokens[1].text.lower().startswith("conf")
        if word in ("show", "write", "clear", "copy", "reload", "ping") and not clear_cfg:
            return self.exec_command(cur)
        if self.mode == "enable":
            return self.exec_command(cur)
        return Reply(text=config_mode.handle(self, cur))

    def user_command(self, cur: Cursor) -> Reply:
        """User EXEC: enable, login, show curpriv/version, exit."""
        kw = cur.keyword(["enable", "login", "show", "exit", "quit", "logout", "terminal"])
        if kw == "enable":
            cur.end()
            self._dialog = "enable"
            return Reply(echo_next=False)
        if kw == "login":
            cur.end()
            self._dialog = "login-user"
            return Reply()
        if kw in ("exit", "quit", "logout"):
            return Reply(text="\nLogoff\n\n", close=True)
        if kw == "terminal":
            return Reply(text=self._terminal(cur))
        return Reply(text=self.show(cur))

    def exec_command(self, cur: Cursor) -> Reply:
        """Privileged EXEC (and exec commands typed in configuration mode)."""
        kw = cur.keyword(["show", "write", "clear", "configure", "enable", "disable", "exit", "quit",
                          "logout", "terminal", "copy", "reload", "login"])
        dev = self.device
        if kw == "show":
            return Reply(text=self.show(cur))
        if kw == "write":
            cur.keyword(["memory"])
            cur.end()
            size = dev.save()
            return Reply(text=c.WRITE_MEM.format(c1="8a3f2c11", c2="9b0d4e27", c3="c6a51f03", c4="77e2b9d4",
                                                 size=size))
        if kw == "clear":
            cur.keyword(["conn"])
            rest = cur.rest() if cur.more() else ""
            return Reply(text=conn.clear(dev.running, dev.dataplane.sessions, rest))
        if kw == "copy":  # only the save form; the ASA's source/destination questions skipped [M]
            cur.optional_keyword(["/noconfirm"])
            cur.keyword(["running-config"])
            cur.keyword(["startup-config"])
            cur.end()
            size = dev.save()
            return Reply(text=f"\n{size} bytes copied in 0.110 secs\n")
        if kw == "configure":
            cur.keyword(["terminal"])
            cur.end()
            self.mode = "config"
            return Reply()
        if kw == "reload":
            cur.keyword(["noconfirm"])
            dev.reload()
            return Reply(text="\n***\n*** --- START GRACEFUL SHUTDOWN ---\n", close=True)
        if kw == "disable":
            self.mode = "user"
            return Reply()
        if kw in ("exit", "quit", "logout"):
            return Reply(text="\nLogoff\n\n", close=True)
        if kw == "terminal":
            return Reply(text=self._terminal(cur))
        return Reply()  # enable / login at privilege 15: nothing changes

    def _terminal(self, cur: Cursor) -> str:
        kw = cur.keyword(["pager", "width"])
        if kw == "pager":
            cur.optional_keyword(["lines"])
        cur.number(0, 511)
        cur.end()
        return ""

    # -- show ---------------------------------------------------------------------------------------
    def show(self, cur: Cursor) -> str:
        """``show curpriv|version|running-config [SECTION]|startup-config|conn``."""
        kw = cur.keyword(["curpriv", "version", "running-config", "startup-config", "conn", "clock",
                          "interface"])
        dev = self.device
        if kw == "interface":
            cur.keyword(["ip"])
            cur.keyword(["brief"])
            cur.end()
            return self._ip_brief()
        if kw == "curpriv":
            level = 15 if self.mode != "user" else 1
            mode = "P_PRIV" if self.mode == "enable" else "P_CONF" if self.mode != "user" else "P_UNPR"
            return c.CURPRIV.format(user=self.username, level=level, mode=mode)
        if kw == "version":
            return self._version()
        if kw == "conn":
            rest = cur.rest() if cur.more() else ""
            table = dev.dataplane.sessions
            if rest:
                flt = conn.parse_filter(rest)
                rows = [conn.line(dev.running, x) for x in crossings(table)
                        if x.forwarded and flt.matches(x)]
                return f"{len(rows)} in use\n\n" + "".join(r + "\n" for r in rows)
            return conn.show(dev.running, table)
        if kw == "clock":
            return time.strftime("%H:%M:%S.000 UTC %a %b %d %Y\n", time.gmtime(dev.clock.now()))
        cfg = dev.running if kw == "running-config" else dev.startup
        if cur.more():
            what = cur.word().text.lower()
            kind = cur.keyword(["network", "service"]) if what == "object-group" and cur.more() else ""
            return "".join(ln + "\n" for ln in cfg.section(what, kind))
        head = [": Saved", ":", ": Serial Number: 9A5KLEGR1VT", ": Hardware:   ASAv, 2048 MB RAM", ":"]
        return "".join(ln + "\n" for ln in [*head, *cfg.running()])

    def _ip_brief(self) -> str:
        """``show interface ip brief``; the status comes from the configuration, not the kernel link [M]."""
        rows = ["Interface                  IP-Address      OK? Method Status                Protocol"]
        for itf in self.device.running.interfaces.values():
            addr = next((a.split()[2] for a in itf.addresses if a.startswith("ip address ")), "unassigned")
            method = "CONFIG" if addr != "unassigned" else "unset "
            status, proto = ("administratively down", "down") if itf.shutdown else ("up", "up")
            rows.append(f"{itf.name:<26} {addr:<15} YES {method} {status:<21} {proto}")
        return "".join(r + "\n" for r in rows)

    def _version(self) -> str:
        dev = self.device
        up = int(dev.clock.now() - dev.booted)
        uptime = (f"{up // 86400} days {up // 3600 % 24} hours" if up >= 86400
                  else f"{up // 3600} hours {up // 60 % 60} mins")
        itfs = "".join(f" {n}: Ext: {i.name:<20}: address is 5254.00{n:02d}.0001, irq {n + 10}\n"
                       for n, i in enumerate(dev.running.interfaces.values()))
        stamp = time.strftime("%H:%M:%S UTC %a %b %d %Y", time.gmtime(dev.clock.now()))
        return c.SHOW_VERSION.format(version=c.VERSION, hostname=dev.running.hostname, uptime=uptime,
                                     interfaces=itfs, user=dev.modified_by, modified=stamp)
