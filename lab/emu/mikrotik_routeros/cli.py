"""One RouterOS console: menu paths, ``add/set/remove/print/export``, ``[find]``, reboot, scripts.

A line is ``[/]menu... command args``: an absolute path starts with ``/`` (``/ip firewall filter add``,
also v7's ``/ip/firewall/filter/add``), otherwise it is relative to the menu the console is in; a path
with no command moves the console into that menu (the prompt shows it). Every handler reads the whole line
before touching state, so a refused line changes nothing. Connection items are the namespace's conntrack
entries, listed and removed through :mod:`egressctl_lab.emu.sessions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from egressctl_lab.emu.base import Reply
from egressctl_lab.emu.mikrotik_routeros import connections as conn
from egressctl_lab.emu.mikrotik_routeros import constants as c
from egressctl_lab.emu.mikrotik_routeros import model as m
from egressctl_lab.emu.mikrotik_routeros.checks import expand, scripting, validate
from egressctl_lab.emu.mikrotik_routeros.words import (
    ConsoleError,
    Token,
    condition,
    matches,
    split_arg,
    tokens,
    unquote,
)

if TYPE_CHECKING:
    from egressctl_lab.emu.mikrotik_routeros.device import RosDevice

_PREFIXES = {" ".join(k.split()[:n]) for k in c.MENUS for n in range(1, len(k.split()) + 1)}
_PRINT_WORDS = frozenset({"detail", "terse", "without-paging", "all", "brief", "value-list", "show-ids"})


class RosSession:
    """A console session (``script=True``: a script's own console, never prompted)."""

    def __init__(self, device: RosDevice, username: str, script: bool = False) -> None:
        self.device = device
        self.username = username
        self.script = script
        self.cwd: list[str] = []
        self.numbers: dict[str, list[int]] = {}
        self.asking_reboot = False
        self.failed = False
        self.boot = device.boot

    # -- Session protocol ---------------------------------------------------------------------------
    def banner(self) -> str:  # noqa: D102
        return c.BANNER.format(version=c.VERSION)

    def prompt(self) -> str:  # noqa: D102
        if self.asking_reboot:
            return c.REBOOT_ASK
        path = f"/{' '.join(self.cwd)}" if self.cwd else ""
        return c.PROMPT.format(user=self.username, identity=self.device.identity, path=path)

    def handle(self, line: str) -> Reply:  # noqa: D102
        if self.boot != self.device.boot:
            return Reply(close=True)  # the router rebooted under this session
        if self.asking_reboot:
            self.asking_reboot = False
            if line.strip().lower() == "y":
                self.device.clock.call_later(0.0, self.device.reboot)
                return Reply(text=c.REBOOT_SAID + "\n", close=True)
            return Reply()
        self.failed = False
        if not line.strip():
            return Reply()
        if line.strip() in ("quit", "/quit"):
            return Reply(text="interrupted\n", close=True)
        try:
            return Reply(text=self.execute(line))
        except ConsoleError as err:
            self.failed = True
            return Reply(text=err.text + "\n")

    # -- parsing ------------------------------------------------------------------------------------
    def execute(self, line: str) -> str:
        """Run one line and return its output."""
        toks = expand(tokens(line))
        if toks[0].text.startswith(":"):
            return scripting(toks)
        path = [] if toks[0].text == "/" else list(self.cwd)
        i = 1 if toks[0].text == "/" else 0
        while i < len(toks):
            word = toks[i].text
            if word == "..":
                path = path[:-1]
            elif " ".join([*path, word]) in _PREFIXES:
                path.append(word)
            else:
                break
            i += 1
        if i == len(toks):
            self.cwd = path
            return ""
        menu, cmd, args = " ".join(path), toks[i], toks[i + 1:]
        if menu == "system" and cmd.text == "reboot" and not self.script:
            self.asking_reboot = True
            return ""
        if cmd.text == "export" and c.MENUS.get(menu) not in ("conn", "ro"):
            return self.export(menu, args)
        kind = c.MENUS.get(menu)
        allowed = (*c.COMMANDS.get(kind or "", ()), *(("run",) if menu == "system script" else ()))
        if cmd.text not in allowed:
            raise ConsoleError(c.BAD_COMMAND.format(word=cmd.text, col=cmd.col))
        handler = getattr(self, "cmd_" + cmd.text.replace("-", "_"))
        return str(handler(menu, kind, args))

    def items(self, menu: str) -> list[m.Item]:
        """The items of ``menu`` now (connections: from the session table)."""
        if c.MENUS.get(menu) == "conn":
            return conn.items(self.device, 6 if menu.startswith("ipv6") else 4)
        return self.device.config.items(menu)

    def find(self, menu: str, text: str) -> list[m.Item]:
        """``[find ...]`` -> the matching items (``find`` with or without ``where``)."""
        inner = tokens(text[1:-1])
        if not inner or inner[0].text not in ("find", f"/{menu.replace(' ', '/')}/find"):
            raise ConsoleError(c.SYNTAX.format(col=inner[0].col if inner else 1))
        conds = condition(inner[1:])
        return [i for i in self.items(menu) if matches(i.props, i.flags(), conds)]

    def select(self, menu: str, toks: list[Token]) -> list[m.Item]:
        """The items named by ``[find ...]``, numbers of the last ``print``, ``*ID``s or names."""
        found: list[m.Item] = []
        items = self.items(menu)
        for tok in toks:
            if tok.text.startswith("["):
                found += self.find(menu, tok.text)
                continue
            for ref in unquote(tok.text).split(","):
                found.append(self._one(menu, items, ref))
        return found

    def _one(self, menu: str, items: list[m.Item], ref: str) -> m.Item:
        by_id = {i.id: i for i in items}
        if ref.isdigit():
            numbers = self.numbers.get(menu)
            ids = numbers if numbers is not None else [i.id for i in items]  # scripts: list position [M]
            n = int(ref)
            if n < len(ids) and ids[n] in by_id:
                return by_id[ids[n]]
        elif ref.startswith("*"):
            try:
                return by_id[int(ref[1:], 16)]
            except (ValueError, KeyError):
                pass
        else:
            named = [i for i in items if i.props.get("name") == ref]
            if named:
                return named[0]
        raise ConsoleError(c.NO_SUCH_ITEM)

    def props(self, menu: str, args: list[Token]) -> tuple[dict[str, str], list[Token]]:
        """``k=v`` arguments (values resolved) and the other words (item references)."""
        props: dict[str, str] = {}
        refs: list[Token] = []
        for tok in args:
            key, value = split_arg(tok)
            if value is None:
                refs.append(tok)
                continue
            if value.startswith("["):
                chosen = self.find(menu, value)
                value = chosen[0].ref if chosen else ""
            props[key] = unquote(value)
            if menu.endswith("firewall filter") and key not in c.FILTER_PROPS:
                raise ConsoleError(c.EXPECTED_END.format(col=tok.col))
        return props, refs

    # -- commands -----------------------------------------------------------------------------------
    def cmd_add(self, menu: str, kind: str, args: list[Token]) -> str:
        """``add k=v ... [place-before=ITEM]``: a new item (scheduler items start their timer)."""
        props, extra = self.props(menu, args)
        if extra:
            raise ConsoleError(c.EXPECTED_END.format(col=extra[0].col))
        before = self._position(menu, props.pop("place-before", None))
        validate(menu, props)
        if "name" in props and any(i.props.get("name") == props["name"] for i in self.items(menu)):
            raise ConsoleError(c.DUPLICATE)
        item = self.device.config.add(menu, props, before)
        if menu == "system scheduler":
            self.device.scheduled(item)
        self.device.changed()
        return ""

    def _position(self, menu: str, ref: str | None) -> int | None:
        if ref is None:
            return None
        items = self.items(menu)
        target = self._one(menu, items, ref)
        return items.index(target)

    def cmd_set(self, menu: str, kind: str, args: list[Token]) -> str:
        """``set ITEMS k=v``, or ``set k=v`` on a single menu."""
        props, refs = self.props(menu, args)
        if kind == "single":
            if refs:
                raise ConsoleError(c.EXPECTED_END.format(col=refs[0].col))
            self.device.config.singles.setdefault(menu, {}).update(props)
        else:
            if not refs:
                raise ConsoleError(c.NOT_SET.format(prop="numbers"))
            chosen = self.select(menu, refs)
            for item in chosen:
                validate(menu, {**item.props, **props})
            for item in chosen:
                item.props.update(props)
                if menu == "system scheduler":
                    self.device.scheduled(item)
        self.device.changed()
        return ""

    def cmd_enable(self, menu: str, kind: str, args: list[Token]) -> str:
        """``enable ITEMS``."""
        return self.cmd_set(menu, kind, [*args, Token("disabled=no", 0)])

    def cmd_disable(self, menu: str, kind: str, args: list[Token]) -> str:
        """``disable ITEMS``."""
        return self.cmd_set(menu, kind, [*args, Token("disabled=yes", 0)])

    def cmd_comment(self, menu: str, kind: str, args: list[Token]) -> str:
        """``comment ITEMS comment=TEXT``."""
        return self.cmd_set(menu, kind, args)

    def cmd_remove(self, menu: str, kind: str, args: list[Token]) -> str:
        """``remove ITEMS`` (connections: their conntrack entries)."""
        chosen = self.select(menu, args)
        if kind == "conn":
            conn.remove(self.device, chosen)
            return ""
        items = self.device.config.items(menu)
        for item in chosen:
            if item in items:
                items.remove(item)
                if menu == "system scheduler":
                    self.device.unscheduled(item)
        self.device.changed()
        return ""

    def cmd_find(self, menu: str, kind: str, args: list[Token]) -> str:
        """``find where ...`` typed on its own: the ids, ``;``-separated."""
        conds = condition(args)
        return ";".join(i.ref for i in self.items(menu) if matches(i.props, i.flags(), conds)) + "\n"

    def cmd_edit(self, menu: str, kind: str, args: list[Token]) -> str:
        """``edit`` opens a full-screen editor: refused on this console."""
        raise ConsoleError(c.BAD_COMMAND.format(word="edit", col=1))  # needs a full-screen editor

    def cmd_run(self, menu: str, kind: str, args: list[Token]) -> str:
        """``/system script run NAME``."""
        chosen = self.select(menu, args)
        return "".join(self.device.run_script(i.props.get("source", "")) for i in chosen)

    def cmd_print(self, menu: str, kind: str, args: list[Token]) -> str:
        """``print [detail|terse|without-paging] [where ...]``; remembers the numbers it showed."""
        words = [t for t in args if t.text in _PRINT_WORDS]
        rest = [t for t in args if t.text not in _PRINT_WORDS]
        if rest and rest[0].text != "where":
            raise ConsoleError(c.EXPECTED_END.format(col=rest[0].col))
        conds = condition(rest[1:]) if rest else []
        terse = any(t.text == "terse" for t in words)
        if kind == "single":
            return m.print_single(self.device.config.singles.get(menu, {}))
        if kind == "ro":
            return conn.read_only(self.device, menu, terse)
        items = self.items(menu)
        self.numbers[menu] = [i.id for i in items]
        shown = [(n, i) for n, i in enumerate(items) if matches(i.props, i.flags(), conds)]
        if kind == "conn":
            return conn.print_terse(shown)
        return m.print_list(menu, shown, terse)

    def export(self, menu: str, args: list[Token]) -> str:
        """``export [terse]`` of one menu, or of every menu below a path (``/export``)."""
        words = {t.text for t in args}
        if words - {"terse", "verbose", "compact", "show-sensitive"}:
            bad = next(t for t in args if t.text not in {"terse", "verbose", "compact", "show-sensitive"})
            raise ConsoleError(c.EXPECTED_END.format(col=bad.col))
        menus = [k for k, kind in c.MENUS.items() if kind in ("list", "single")
                 and (not menu or k == menu or k.startswith(menu + " "))]
        return m.export(self.device.config, menus, "terse" in words, self.device.clock.now())

