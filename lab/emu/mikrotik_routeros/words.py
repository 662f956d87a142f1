r"""RouterOS console words: tokens (quoted strings and ``[...]`` kept whole), values and quoting.

A command line is ``[/]path... command arg=value ...``; values may be quoted (``comment="a b"``) with the
scripting escapes (``\\"``, ``\\\\``, ``\\n``, ``\\r``, ``\\t``, ``\\$``), and an argument may be a
bracketed command (``[find where chain=forward]``) whose result is used as the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ESC = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "$": "$", "?": "?", "_": " ", "a": "\a"}
_PLAIN = re.compile(r"^[A-Za-z0-9_.:/,!*+@-]+$")


class ConsoleError(Exception):
    """A line the console refuses; ``text`` is what it prints."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass(frozen=True)
class Token:
    """One word and the column (1-based) where it starts."""

    text: str
    col: int


def tokens(line: str) -> list[Token]:
    """Split ``line`` at blanks outside quotes and brackets."""
    out: list[Token] = []
    i, n = 0, len(line)
    while i < n:
        if line[i] in " \t":
            i += 1
            continue
        start, depth, quoted = i, 0, False
        while i < n and (quoted or depth or line[i] not in " \t"):
            ch = line[i]
            if quoted and ch == "\\":
                i += 2
                continue
            if ch == '"':
                quoted = not quoted
            elif not quoted and ch == "[":
                depth += 1
            elif not quoted and ch == "]":
                depth -= 1
            i += 1
        if quoted or depth > 0:
            raise ConsoleError(f"syntax error (line 1 column {start + 1})")
        out.append(Token(line[start:i], start + 1))
    return out


def unquote(text: str) -> str:
    """A value as typed -> its string (quotes removed, escapes applied)."""
    if not text.startswith('"'):
        return text
    body, out, i = text[1:-1] if text.endswith('"') and len(text) > 1 else text[1:], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(_ESC.get(body[i + 1], body[i + 1]))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def quote(value: str) -> str:
    """A value as ``print``/``export`` show it: bare when plain, else quoted with escapes."""
    if value and _PLAIN.match(value):
        return value
    esc = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    esc = esc.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return f'"{esc}"'


def split_arg(tok: Token) -> tuple[str, str | None]:
    """``key=value`` -> (key, raw value); a bare word -> (word, None)."""
    if tok.text.startswith("["):
        return tok.text, None
    key, eq, value = tok.text.partition("=")
    return (key, value) if eq else (key, None)


def condition(words: list[Token]) -> list[tuple[str, str, str]]:
    """``where`` conditions (key, op, value): ``k=v``, ``k!=v``, ``k~"re"``, bare flags; ``and`` skipped."""
    out: list[tuple[str, str, str]] = []
    for tok in words:
        text = tok.text
        if text in ("and", "where"):
            continue
        m = re.match(r"^(!?)([a-z0-9-]+)(!=|=|~)(.*)$", text, re.S)
        if m:
            out.append((m.group(2), ("!" + m.group(3)) if m.group(1) else m.group(3), unquote(m.group(4))))
        elif re.match(r"^!?[a-z-]+$", text):
            out.append((text.lstrip("!"), "!flag" if text.startswith("!") else "flag", ""))
        else:
            raise ConsoleError(f"syntax error (line 1 column {tok.col})")
    return out


def matches(props: dict[str, str], flags: set[str], conds: list[tuple[str, str, str]]) -> bool:
    """True when an item with ``props`` (and flags such as ``dynamic``) meets every condition."""
    for key, op, want in conds:
        have = props.get(key, "")
        if op == "flag":
            ok = key in flags or props.get(key) == "yes"
        elif op == "!flag":
            ok = key not in flags and props.get(key) != "yes"
        elif op.endswith("~"):
            ok = re.search(want, have) is not None
        else:
            ok = have == want
        if ok == op.startswith("!"):
            return False
    return True
