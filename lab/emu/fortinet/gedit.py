"""Editing the generic FortiOS tables (:mod:`.generic`) in a session: nested ``config``/``edit`` contexts.

Changes are made on the session's draft of the configuration and go live the way FortiOS applies them: at
``next`` (closing an entry) or ``end`` (closing a context), through :meth:`FortiDevice.commit`, which
saves them or arms the ``cfg-save revert`` timer like any other change. ``abort`` throws the open edits
away and leaves every context. Only the tables this session touched are written back, so a change made by
another session meanwhile is not undone.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

from egressctl_lab.emu.fortinet import constants as C
from egressctl_lab.emu.fortinet import generic as G
from egressctl_lab.emu.fortinet.model import Config, Entry, clone
from egressctl_lab.emu.fortinet.values import CliError, parse_error, value_error

if TYPE_CHECKING:
    from egressctl_lab.emu.fortinet.device import FortiDevice


@dataclass
class Frame:
    """One open context: the table (flat path) and the entry being edited (None: the table itself)."""

    flat: str
    key: str | None = None


class GenericEditor:
    """The stack of generic contexts a session is in (empty: not in a generic table)."""

    def __init__(self, device: FortiDevice) -> None:
        self.device = device
        self.stack: list[Frame] = []
        self.draft: Config = {}
        self.dirty: set[str] = set()

    @property
    def active(self) -> bool:
        """True while the session is inside a generic table."""
        return bool(self.stack)

    def open(self, flat: str) -> None:
        """``config PATH`` at the top: start a draft of the live configuration."""
        self.draft, self.dirty = clone(self.device.config), set()
        self.stack = [Frame(flat)]

    def context(self) -> str:
        """The prompt's context word."""
        top = self.stack[-1]
        return G.context(top.flat, top.key)

    def _editing(self) -> bool:
        top = self.stack[-1]
        return top.key is not None or G.spec_of(top.flat).singleton

    def _entry(self) -> Entry:
        top = self.stack[-1]
        table = self.draft.setdefault(top.flat, {})
        self.dirty.add(top.flat)
        return table.setdefault(top.key or "", {})

    def handle(self, verb: str, args: list[str]) -> list[str]:
        """One line inside a generic context."""
        if verb in ("end", "next", "abort") and not args:
            return self._leave(verb)
        if self._editing():
            return self._entry_command(verb, args)
        return self._table_command(verb, args)

    def _table_command(self, verb: str, args: list[str]) -> list[str]:
        top = self.stack[-1]
        table = self.draft.setdefault(top.flat, {})
        if verb == "edit" and len(args) == 1:
            key = args[0]
            if G.spec_of(top.flat).numeric and not key.isdigit():
                raise value_error(key)
            if G.spec_of(top.flat).numeric and key == "0":  # the next free id, as FortiOS assigns it
                key = str(max((int(k) for k in table), default=0) + 1)
            top.key = key
            if key in table:
                return []
            table[key] = {}
            self.dirty.add(top.flat)
            return [f"new entry '{key}' added"]
        if verb == "delete" and len(args) == 1:
            if args[0] not in table:
                raise CliError(C.NOT_FOUND)
            del table[args[0]]
            G.drop_children(self.draft, top.flat, args[0])
            self.dirty.update(self._family(top.flat))
            self._commit()
            return []
        if verb == "purge" and not args:
            for key in list(table):
                G.drop_children(self.draft, top.flat, key)
            table.clear()
            self.dirty.update(self._family(top.flat))
            self._commit()
            return []
        raise parse_error(args[-1] if verb in ("edit", "delete") and args else verb)

    def _family(self, flat: str) -> list[str]:
        """``flat`` and every table nested below it (in the live configuration)."""
        return [n for n in self.device.config if n == flat or n.startswith(flat + G.SEP)]

    def _entry_command(self, verb: str, args: list[str]) -> list[str]:
        top = self.stack[-1]
        if verb == "config" and len(args) == 1:
            if args[0] not in G.spec_of(top.flat).children:
                raise parse_error(args[0])
            self.stack.append(Frame(G.child_flat(top.flat, top.key, args[0])))
            return []
        if verb not in ("set", "unset", "append", "unselect") or not args or not G.is_field(args[0]):
            raise parse_error(args[0] if verb in ("set", "unset", "append", "unselect") and args else verb)
        name, values = args[0], tuple(args[1:])
        entry = self._entry()
        if verb == "unset":
            if values:
                raise parse_error(values[0])
            entry.pop(name, None)
        elif not values:
            raise parse_error(name)
        elif verb == "set":
            entry[name] = values
        elif verb == "append":
            entry[name] = tuple(dict.fromkeys((*entry.get(name, ()), *values)))
        else:
            kept = tuple(v for v in entry.get(name, ()) if v not in values)
            if kept:
                entry[name] = kept
            else:
                entry.pop(name, None)
        return []

    def _leave(self, verb: str) -> list[str]:
        if verb == "abort":
            self.stack, self.draft, self.dirty = [], {}, set()
            return []
        top = self.stack[-1]
        if verb == "next":
            if top.key is not None:
                self._commit()
                top.key = None
            return []
        self._commit()
        self.stack.pop()
        return []

    def _commit(self) -> None:
        """Make the touched tables live (``next``/``end``), then draft on from the live configuration."""
        new = clone(self.device.config)
        for flat in self.dirty:
            if flat in self.draft:
                new[flat] = copy.deepcopy(self.draft[flat])
            else:
                new.pop(flat, None)
        if new != self.device.config:
            self.device.commit(new)
        self.draft, self.dirty = clone(self.device.config), set()

    def show(self) -> list[str]:
        """``show`` inside a generic context: the table, or the entry being edited."""
        top = self.stack[-1]
        return G.render(self.draft, top.flat, key=top.key)
