"""The FortiOS command processor: one instance per SSH session, over the shared :class:`FortiDevice`.

Context follows FortiOS: top level ``fw # ``, a table ``fw (policy) # ``, an entry ``fw (1) # ``. An
entry is edited on a private working copy; ``next``/``end`` make it live (validated first), ``abort``
throws it away. ``delete`` and ``move`` act at once. Any rejected line prints FortiOS's error and leaves
both the working copy and the live configuration untouched.

A quoted value may span lines (a script, a certificate): while a quote is open, Enter adds a line to the
value and no prompt is shown [M]. A session opened before the unit rebooted, or while it boots, is closed
at its next line: the connection is gone, as on a real unit.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from egressctl_lab.emu.base import Reply
from egressctl_lab.emu.fortinet import constants as C
from egressctl_lab.emu.fortinet import generic as G
from egressctl_lab.emu.fortinet import model as M
from egressctl_lab.emu.fortinet import sessions as fsessions
from egressctl_lab.emu.fortinet import showget
from egressctl_lab.emu.fortinet.gedit import GenericEditor
from egressctl_lab.emu.fortinet.grep import apply_pipes
from egressctl_lab.emu.fortinet.values import (
    CliError,
    RefContext,
    open_quote,
    parse_error,
    parse_value,
    tokenize,
    value_error,
)

if TYPE_CHECKING:
    from egressctl_lab.emu.fortinet.device import FortiDevice


def _missing_required(path: str, entry: M.Entry) -> str | None:
    """FortiOS refuses to close a policy without its mandatory attributes."""
    if path != "firewall policy":
        return None
    v4 = bool(entry.get("srcaddr") or entry.get("dstaddr"))
    v6 = bool(entry.get("srcaddr6") or entry.get("dstaddr6"))
    needed = ["srcintf", "dstintf"]
    needed += ["srcaddr", "dstaddr"] if v4 or not v6 else []
    needed += ["srcaddr6", "dstaddr6"] if v6 else []
    needed += ["schedule", "service"]
    return next((name for name in needed if not entry.get(name)), None)


def _references(config: M.Config, path: str, key: str) -> int:
    """How many entries refer to ``key`` of table ``path`` (a referenced object cannot be deleted)."""
    count = 0
    for other, table in config.items():
        if other not in M.SCHEMAS:  # generic tables refer to nothing egressctl deletes
            continue
        ref_fields = [n for n, f in M.SCHEMAS[other].fields.items() if f.kind == "ref" and path in f.refs]
        count += sum(1 for entry in table.values() if any(key in entry.get(n, ()) for n in ref_fields))
    return count


class FortiSession:
    """One FortiOS CLI session."""

    def __init__(self, device: FortiDevice) -> None:
        self.device = device
        self.path: str | None = None
        self.key: str | None = None
        self.work: M.Entry | None = None
        self.session_filters = fsessions.Filters()
        self.partial: str | None = None
        self.boot = device.reboots
        self.dead = device.booting
        self.generic = GenericEditor(device)

    # -- Session protocol ----------------------------------------------------------------------------
    def banner(self) -> str:
        """Nothing but the prompt follows login on FortiOS's SSH CLI."""
        return C.BANNER

    def prompt(self) -> str:
        """``fw-b # ``, ``fw-b (policy) # ``, ``fw-b (12) # ``."""
        host = self.device.hostname()
        if self.partial is not None or self.dead:
            return ""
        if self.generic.active:
            return C.CONTEXT_PROMPT.format(host=host, ctx=self.generic.context())
        if self.path is None:
            return C.PROMPT.format(host=host)
        ctx = self.key if self.key is not None else M.SCHEMAS[self.path].context
        return C.CONTEXT_PROMPT.format(host=host, ctx=ctx)

    def handle(self, line: str) -> Reply:
        """Process one line (or one more line of a quoted value still open)."""
        if self.dead or self.boot != self.device.reboots:
            self.dead = True
            return Reply(close=True)
        if self.partial is not None:
            line, self.partial = f"{self.partial}\n{line}", None
        if open_quote(line):
            self.partial = line
            return Reply()
        try:
            segments = tokenize(line)
            words, pipes = segments[0], segments[1:]
            if not words:
                return Reply("" if not pipes else C.UNKNOWN_ACTION + "\n")
            lines, close = self._dispatch(words)
            if pipes:
                lines = apply_pipes(lines, pipes)
        except CliError as exc:
            return Reply(exc.text + "\n")
        text = "\n".join(lines) + "\n" if lines else ""
        return Reply(text=text, close=close)

    # -- dispatch ------------------------------------------------------------------------------------
    def _dispatch(self, words: list[str]) -> tuple[list[str], bool]:
        verb, args = words[0], words[1:]
        if verb in ("exit", "quit") and self.path is None:
            return [], True
        if verb == "show":
            return self._show(args), False
        if verb == "get":
            return self._get(args), False
        if self.generic.active:
            return self.generic.handle(verb, args), False
        if self.path is None:
            return self._top(verb, args), False
        if verb in ("end", "abort", "next"):
            return self._leave(verb), False
        if self.key is not None or M.SCHEMAS[self.path].singleton:
            return self._entry_command(verb, args), False
        return self._table_command(verb, args), False

    def _top(self, verb: str, args: list[str]) -> list[str]:
        if verb == "config":
            path, rest = showget.find_path(args)
            flat, after = G.find(args)
            if path is None and flat is not None and not after:
                self.generic.open(flat)
                return []
            if path is None:
                raise parse_error(args[-1] if args else verb)
            if rest:
                raise parse_error(rest[0])
            self.path = path
            if M.SCHEMAS[path].singleton:
                self.key, self.work = None, copy.deepcopy(self.device.config[path][""])
            return []
        if verb == "execute":
            return self._execute(args)
        if verb in ("diagnose", "diag"):
            return fsessions.diagnose(self, args)
        if verb == "end":
            return []
        raise CliError(C.UNKNOWN_ACTION)

    def _execute(self, args: list[str]) -> list[str]:
        if args[:1] != ["cfg"] or len(args) != 2 or args[1] not in ("save", "reload"):
            raise parse_error(args[-1] if args else "execute")
        if args[1] == "save":
            self.device.cfg_save()
            return [C.CFG_SAVED] if C.CFG_SAVED else []
        self.device.cfg_reload()
        return [C.CFG_RELOADED]

    # -- show / get ----------------------------------------------------------------------------------
    def _show(self, args: list[str]) -> list[str]:
        return showget.show(self, args)

    def _get(self, args: list[str]) -> list[str]:
        return showget.get(self, args)

    # -- table context -------------------------------------------------------------------------------
    def _table_command(self, verb: str, args: list[str]) -> list[str]:
        assert self.path is not None
        schema = M.SCHEMAS[self.path]
        table = self.device.config[self.path]
        if verb == "edit" and len(args) == 1:
            key = args[0]
            if schema.numeric and not key.isdigit():
                raise value_error(key)
            self.key = key
            if key in table:
                self.work = copy.deepcopy(table[key])
                return []
            self.work = M.fresh_entry(self.path, key, len(table))
            return [f"new entry '{key}' added"]
        if verb == "delete" and len(args) == 1:
            return self._delete(args[0])
        if verb == "move" and schema.numeric and len(args) == 3 and args[1] in ("before", "after"):
            return self._move(args[0], args[1], args[2])
        raise parse_error(args[-1] if verb in ("edit", "delete", "move") and args else verb)

    def _delete(self, key: str) -> list[str]:
        assert self.path is not None
        config = self.device.config
        if key not in config[self.path]:
            raise CliError(C.NOT_FOUND)
        refs = _references(config, self.path, key)
        if refs:
            raise CliError(C.IN_USE.format(refs))
        new = M.clone(config)
        del new[self.path][key]
        self.device.commit(new)
        return []

    def _move(self, key: str, where: str, other: str) -> list[str]:
        assert self.path is not None
        table = self.device.config[self.path]
        if key not in table or other not in table:
            raise CliError(C.NOT_FOUND)
        if key == other:
            return []
        order = [k for k in table if k != key]
        at = order.index(other) + (1 if where == "after" else 0)
        order.insert(at, key)
        new = M.clone(self.device.config)
        new[self.path] = {k: new[self.path][k] for k in order}
        self.device.commit(new)
        return []

    # -- entry context -------------------------------------------------------------------------------
    def _entry_command(self, verb: str, args: list[str]) -> list[str]:
        assert self.path is not None and self.work is not None
        fields = M.SCHEMAS[self.path].fields
        if verb not in ("set", "unset", "append", "unselect"):
            raise parse_error(verb)
        if not args or args[0] not in fields:
            raise parse_error(args[0] if args else verb)
        name, values = args[0], args[1:]
        if verb == "unset":
            if values:
                raise parse_error(values[0])
            self.work.pop(name, None)
            return []
        ctx = RefContext(self.device.config, self.device.interfaces())
        parsed = parse_value(self.path, name, values, ctx)
        current = self.work.get(name, ())
        if verb == "set":
            self.work[name] = parsed
        elif not fields[name].multi:
            raise parse_error(verb)
        elif verb == "append":
            self.work[name] = tuple(dict.fromkeys((*current, *parsed)))
        else:
            remaining = tuple(v for v in current if v not in parsed)
            if remaining:
                self.work[name] = remaining
            else:
                self.work.pop(name, None)
        return []

    def _leave(self, verb: str) -> list[str]:
        """``next`` closes an edit, ``end`` closes everything, ``abort`` discards the open edit."""
        assert self.path is not None
        singleton = M.SCHEMAS[self.path].singleton
        if verb == "abort":
            self.path, self.key, self.work = None, None, None
            return []
        if verb == "next" and (singleton or self.key is None):
            return []
        if self.work is not None:
            self._close_edit()
        if verb == "end":
            self.path, self.key, self.work = None, None, None
        return []

    def _close_edit(self) -> None:
        assert self.path is not None and self.work is not None
        missing = _missing_required(self.path, self.work)
        if missing:
            raise CliError(C.MUST_BE_SET.format(missing))
        new = M.clone(self.device.config)
        table = new[self.path]
        key = "" if self.key is None else self.key
        if M.SCHEMAS[self.path].numeric and key == "0":
            key = str(max((int(k) for k in table), default=0) + 1)
        if table.get(key) != self.work:
            table[key] = copy.deepcopy(self.work)
            self.device.commit(new)
        if not M.SCHEMAS[self.path].singleton:
            self.key, self.work = None, None
