"""IOS-style line parsing: tokens with their columns, keyword abbreviation, and the parser's error forms.

IOS reports where parsing failed with a caret under the offending character, accepts any unique
abbreviation of a keyword, and refuses ambiguous ones. Handlers parse the whole line before changing
anything, so an error always leaves the configuration untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from egressctl_lab.emu.cisco_ios import constants as c

_TOKEN = re.compile(r"\S+")


class CliError(Exception):
    """A line IOS refuses: ``kind`` is invalid|incomplete|ambiguous|message; ``pos`` the caret column."""

    def __init__(self, kind: str, pos: int = 0, message: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.pos = pos
        self.message = message

    def render(self, prompt: str, line: str) -> str:
        """The text IOS prints for this error after the echoed line."""
        if self.kind == "invalid":
            return " " * (len(prompt) + self.pos) + "^\n" + c.INVALID + "\n\n"
        if self.kind == "incomplete":
            return c.INCOMPLETE + "\n\n"
        if self.kind == "ambiguous":
            return c.AMBIGUOUS.format(line=line.strip()) + "\n\n"
        return self.message + "\n"


@dataclass
class Token:
    """One word of the line and its column."""

    text: str
    pos: int


class Cursor:
    """Walks the tokens of one line."""

    def __init__(self, line: str) -> None:
        self.line = line
        self.tokens = [Token(m.group(), m.start()) for m in _TOKEN.finditer(line)]
        self.i = 0

    def more(self) -> bool:
        """Whether tokens remain."""
        return self.i < len(self.tokens)

    def peek(self) -> Token | None:
        """The next token without consuming it."""
        return self.tokens[self.i] if self.more() else None

    def word(self) -> Token:
        """Consume any word; a missing word is an incomplete command."""
        if not self.more():
            raise CliError("incomplete")
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def keyword(self, options: list[str]) -> str:
        """Consume a keyword from ``options`` (unique abbreviations allowed, case-insensitive)."""
        tok = self.word()
        return match_keyword(tok, options)

    def optional_keyword(self, options: list[str]) -> str | None:
        """Consume a keyword if the next token is one of ``options``; otherwise consume nothing."""
        tok = self.peek()
        if tok is None:
            return None
        try:
            kw = match_keyword(tok, options)
        except CliError:
            return None
        self.i += 1
        return kw

    def number(self, low: int, high: int) -> int:
        """Consume an integer within ``[low, high]``."""
        tok = self.word()
        if not tok.text.isdigit() or not low <= int(tok.text) <= high:
            raise CliError("invalid", tok.pos)
        return int(tok.text)

    def rest(self) -> str:
        """Everything after the current position, as typed (for remarks and descriptions)."""
        if not self.more():
            raise CliError("incomplete")
        start = self.tokens[self.i].pos
        self.i = len(self.tokens)
        return self.line[start:].rstrip()

    def end(self) -> None:
        """Refuse trailing words."""
        tok = self.peek()
        if tok is not None:
            raise CliError("invalid", tok.pos)

    def error_here(self) -> CliError:
        """An invalid-input error at the next token (or the end of the line)."""
        tok = self.peek()
        return CliError("invalid", tok.pos if tok else len(self.line.rstrip()))


def match_keyword(tok: Token, options: list[str]) -> str:
    """Resolve an abbreviation against ``options``; exact matches win over prefixes."""
    low = tok.text.lower()
    if low in options:
        return low
    found = sorted({o for o in options if o.startswith(low)})
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise CliError("ambiguous", tok.pos)
    raise CliError("invalid", tok.pos)
