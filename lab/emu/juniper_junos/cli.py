"""One Junos CLI session: operational mode (``>``) and configuration mode (``#``) over the shared candidate.

Every line is parsed completely before the candidate changes, so a refused line changes nothing.
Errors print a caret under the offending word followed by Junos's message.
"""

from __future__ import annotations

import copy
import ipaddress
import re
import time
from typing import TYPE_CHECKING

from egressctl_lab.emu.base import Reply
from egressctl_lab.emu.juniper_junos import constants as c
from egressctl_lab.emu.juniper_junos import display, sessions, show, tree, validate
from egressctl_lab.emu.juniper_junos.tree import JunosError, Tok, match_keyword, tokenize

if TYPE_CHECKING:
    from egressctl_lab.emu.juniper_junos.device import JunosDevice

_OP = ["show", "set", "configure", "exit", "quit", "request", "ping", "traceroute", "file", "clear"]
_CONFIG = ["set", "delete", "insert", "show", "commit", "rollback", "exit", "quit", "top", "up", "run",
           "edit", "status"]


class JunosSession:
    """A CLI session of user ``username``."""

    def __init__(self, device: JunosDevice, username: str) -> None:
        self.device = device
        self.username = username
        self.mode = "op"
        self._asking_exit = False

    # -- Session protocol ---------------------------------------------------------------------------
    def banner(self) -> str:  # noqa: D102
        return c.BANNER

    def prompt(self) -> str:  # noqa: D102
        if self._asking_exit:
            return c.EXIT_QUESTION
        host = self.device.hostname
        if self.mode == "op":
            return c.OP_PROMPT.format(user=self.username, host=host)
        minutes = self.device.confirm_minutes_left()
        banner = c.CONFIRM_PENDING.format(minutes=minutes) if minutes is not None else ""
        return c.CONFIG_PROMPT.format(banner=banner, user=self.username, host=host)

    def interrupt(self) -> None:
        """Ctrl-C abandons the exit question."""
        self._asking_exit = False

    def handle(self, line: str) -> Reply:  # noqa: D102
        if self._asking_exit:
            self._asking_exit = False
            if line.strip().lower() in ("", "y", "yes"):
                return self._leave_config()
            return Reply()
        prompt_line = self.prompt().rsplit("\n", 1)[-1]
        if not line.strip():
            return Reply()
        try:
            if self.mode == "op":
                return self._operational(line)
            return self._configuration(line)
        except JunosError as err:
            caret = "" if err.pos is None else " " * (len(prompt_line) + err.pos) + "^\n"
            return Reply(text=f"{caret}{err.message}\n")

    # -- operational mode ---------------------------------------------------------------------------
    def _operational(self, line: str) -> Reply:
        body, pipes = _split_pipes(line)
        toks = tokenize(body)
        cmd = match_keyword(toks[0], _OP, c.UNKNOWN_COMMAND)
        rest = toks[1:]
        if cmd == "show":
            return Reply(text=show.apply_pipes(self._op_show(rest, len(body)), pipes, config=False))
        if pipes:
            raise JunosError(c.SYNTAX_ERROR, line.index("|"))
        if cmd in ("exit", "quit"):
            return Reply(close=True)
        if cmd == "set":
            return Reply(text=_set_cli(rest, len(body)))
        if cmd == "clear":
            _expect_words(rest, ["security", "flow", "session"], len(body))
            return Reply(text=sessions.clear(self.device, rest[3:], len(body)))
        if cmd == "configure":
            if rest:
                match_keyword(rest[0], ["private", "exclusive"])
            self.mode = "config"
            extra = c.CHANGED_NOT_COMMITTED + "\n" if self.device.dirty() else ""
            return Reply(text=f"{c.ENTERING}\n{extra}")
        raise JunosError(c.SYNTAX_EXPECTING.format(what="<command>"), toks[0].pos)

    def _op_show(self, toks: list[Tok], end: int) -> str:
        if not toks:
            raise JunosError(c.SYNTAX_EXPECTING.format(what="<command>"), end)
        what = match_keyword(toks[0], ["configuration", "system", "version", "security", "interfaces"],
                             c.SYNTAX_EXPECTING.format(what="<command>"))
        dev = self.device
        if what == "interfaces":
            return show.interfaces(dev, toks[1:], end)
        if what == "configuration":
            return show.configuration(dev, dev.active, tree.resolve(toks[1:], end, need_value=False), True)
        if what == "system":
            _expect(toks[1:], ["commit"], end)
            return show.system_commit(dev)
        if what == "security":
            if len(toks) > 2 and match_keyword(toks[1], ["policies", "flow"]) == "flow":
                _expect_words(toks[1:], ["flow", "session"], end)
                return sessions.show(dev, toks[3:], end)
            _expect(toks[1:], ["policies"], end)
            return show.security_policies(dev.active)
        return show.version(dev)

    # -- configuration mode -------------------------------------------------------------------------
    def _configuration(self, line: str) -> Reply:
        body, pipes = _split_pipes(line)
        toks = tokenize(body)
        cmd = match_keyword(toks[0], _CONFIG, c.UNKNOWN_COMMAND)
        rest, end = toks[1:], len(body.rstrip())
        dev = self.device
        if cmd == "show":
            if pipes and pipes[0].split()[0] == "compare":
                diff = display.compare(dev.active, dev.candidate)
                return Reply(text=show.apply_pipes(diff, pipes[1:], True))
            resolved = tree.resolve(rest, end, need_value=False)
            return Reply(text=show.apply_pipes(show.configuration(dev, dev.candidate, resolved, False),
                                               pipes, config=True))
        if cmd == "run":
            if not rest:
                raise JunosError(c.SYNTAX_EXPECTING.format(what="<command>"), end)
            reply = self._operational(line[line.index(rest[0].text, toks[0].pos + len(toks[0].text)):])
            return Reply(text=reply.text)
        if pipes:
            raise JunosError(c.SYNTAX_ERROR, line.index("|"))
        if cmd in ("set", "delete", "insert"):
            return Reply(text=self._edit(cmd, rest, end))
        if cmd == "commit":
            return self._commit(rest, end)
        if cmd == "rollback":
            return Reply(text=self._rollback(rest))
        if cmd in ("exit", "quit"):
            if rest:
                match_keyword(rest[0], ["configuration-mode"])
            if dev.dirty():
                self._asking_exit = True
                return Reply(text=c.CHANGED_NOT_COMMITTED + "\n")
            return self._leave_config()
        if cmd in ("top", "up"):
            return Reply()
        raise JunosError(c.SYNTAX_ERROR, toks[0].pos)

    def _edit(self, cmd: str, toks: list[Tok], end: int) -> str:
        if not toks:
            raise JunosError(c.SYNTAX_EXPECTING.format(what="<statement>"), end)
        cand = self.device.candidate
        if cmd == "insert":
            idx = next((i for i, t in enumerate(toks) if t.text.lower() in ("before", "after")), None)
            if idx is None or idx + 2 >= len(toks) or idx + 3 != len(toks):
                raise JunosError(c.SYNTAX_EXPECTING.format(what="'before' or 'after'"), end)
            resolved = tree.resolve(toks[:idx], toks[idx].pos, need_value=False)
            tree.apply_insert(cand, resolved, toks[idx].text.lower(), toks[idx + 1], toks[idx + 2])
            return ""
        if cmd == "delete":
            resolved = tree.resolve(toks, end, need_value=False)
            return "" if tree.apply_delete(cand, resolved) else c.NOT_FOUND + "\n"
        statements = tree.resolve_all(toks, end, need_value=True)
        for one in statements:
            _check_values(one)
        for one in statements:
            tree.apply_set(cand, one)
        return ""

    def _commit(self, toks: list[Tok], end: int) -> Reply:
        check = and_quit = False
        minutes: int | None = None
        comment = ""
        i = 0
        while i < len(toks):
            kw = match_keyword(toks[i], ["check", "confirmed", "comment", "and-quit", "synchronize"])
            i += 1
            if kw == "check":
                check = True
            elif kw == "and-quit":
                and_quit = True
            elif kw == "confirmed":
                minutes = c.DEFAULT_CONFIRM_MINUTES
                if i < len(toks) and toks[i].text.isdigit():
                    minutes = int(toks[i].text)
                    if not 1 <= minutes <= 65535:
                        raise JunosError(c.SYNTAX_ERROR, toks[i].pos)
                    i += 1
            elif kw == "comment":
                if i >= len(toks):
                    raise JunosError(c.SYNTAX_EXPECTING.format(what="<comment>"), end)
                comment = toks[i].text
                i += 1
        dev = self.device
        problems = validate.check(dev.candidate)
        if problems:
            return Reply(text=problems)
        if check:
            if dev.confirm is not None:  # commit check also confirms a pending commit confirmed
                dev.confirm.cancel()
                dev.confirm = None
            return Reply(text=c.CHECK_SUCCEEDS + "\n")
        dev.commit(self.username, comment, minutes)
        text = c.CONFIRMED.format(minutes=minutes) + "\n" if minutes is not None else ""
        text += c.COMMIT_COMPLETE + "\n"
        if and_quit:
            self.mode = "op"
            text += c.EXITING + "\n"
        return Reply(text=text)

    def _rollback(self, toks: list[Tok]) -> str:
        n = 0
        if toks:
            if not toks[0].text.isdigit() or len(toks) > 1:
                raise JunosError(c.SYNTAX_ERROR, toks[1 if toks[0].text.isdigit() else 0].pos)
            n = int(toks[0].text)
        if n >= len(self.device.history):
            return c.ROLLBACK_MISSING.format(n=n) + "\n"
        self.device.candidate = copy.deepcopy(self.device.history[n].config)
        return c.LOAD_COMPLETE + "\n"

    def _leave_config(self) -> Reply:
        self.mode = "op"
        return Reply(text=c.EXITING + "\n")


def _expect(toks: list[Tok], options: list[str], end: int) -> None:
    if not toks:
        raise JunosError(c.SYNTAX_EXPECTING.format(what="<command>"), end)
    match_keyword(toks[0], options, c.SYNTAX_EXPECTING.format(what="<command>"))
    if len(toks) > 1:
        raise JunosError(c.SYNTAX_ERROR, toks[1].pos)


def _expect_words(toks: list[Tok], words: list[str], end: int) -> None:
    """The next keywords must be ``words`` (abbreviations allowed), e.g. ``security flow session``."""
    for i, word in enumerate(words):
        if i >= len(toks):
            raise JunosError(c.SYNTAX_EXPECTING.format(what="<command>"), end)
        match_keyword(toks[i], [word], c.SYNTAX_EXPECTING.format(what="<command>"))


def _set_cli(toks: list[Tok], end: int) -> str:
    """``set cli screen-width|screen-length N`` and ``set cli complete-on-space on|off``."""
    if not toks:
        raise JunosError(c.SYNTAX_EXPECTING.format(what="<command>"), end)
    match_keyword(toks[0], ["cli", "date"], c.SYNTAX_EXPECTING.format(what="<command>"))
    if len(toks) < 3:
        raise JunosError(c.SYNTAX_EXPECTING.format(what="<command>"), end)
    what = match_keyword(toks[1], ["screen-width", "screen-length", "complete-on-space", "timestamp"])
    value = toks[2]
    if what == "complete-on-space":
        state = match_keyword(value, ["on", "off"])
        return (c.COMPLETE_OFF if state == "off" else c.COMPLETE_ON) + "\n"
    if what == "timestamp":
        return time.strftime("%b %d %H:%M:%S") + "\nEnabling timestamp\n"
    if not value.text.isdigit():
        raise JunosError(c.SYNTAX_ERROR, value.pos)
    template = c.SCREEN_WIDTH if what == "screen-width" else c.SCREEN_LENGTH
    return template.format(n=int(value.text)) + "\n"


def _check_values(r: tree.Resolved) -> None:
    """Value syntax Junos checks at ``set`` time (prefixes, ports)."""
    if r.positional is not None:
        try:
            ipaddress.ip_network(r.positional, strict=False)
        except ValueError:
            raise JunosError(c.SYNTAX_ERROR, r.positional_pos) from None
    last = r.steps[-1]
    if last.keyword in ("destination-port", "source-port") and r.values:
        value = r.values[0]
        parts = value.split("-")
        ok = len(parts) in (1, 2) and all(
            (p.isdigit() and 0 <= int(p) <= 65535) or p in c.PORT_NAMES for p in parts)
        if not ok:
            raise JunosError(c.SYNTAX_ERROR, None)


def _split_pipes(line: str) -> tuple[str, list[str]]:
    """``show x | display set | match y`` -> ("show x", ["display set", "match y"])."""
    parts = re.split(r"\s\|\s?|\|\s", " " + line + " ")
    return parts[0].strip(), [p.strip() for p in parts[1:] if p.strip()]
