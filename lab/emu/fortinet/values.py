"""FortiOS command-line lexing and value parsing, with FortiOS's error texts.

Every rejected value raises :class:`CliError` carrying the exact text FortiOS prints, so the processor
prints it and changes nothing.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from egressctl_lab.emu.fortinet import constants as C
from egressctl_lab.emu.fortinet.model import INTERFACES, SCHEDULES, SCHEMAS, Config, Field


class CliError(Exception):
    """A rejected command; ``text`` is what the device prints."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def parse_error(token: str) -> CliError:
    """``command parse error before 'X'``: unknown command, field or keyword."""
    return CliError(C.PARSE_ERROR.format(token))


def value_error(token: str) -> CliError:
    """``value parse error before 'X'``: a malformed value."""
    return CliError(C.VALUE_ERROR.format(token))


def tokenize(line: str) -> list[list[str]]:
    """Split a line into words (FortiOS quoting: "..." and '...' with backslash escapes) per ``|`` segment."""
    segments: list[list[str]] = [[]]
    word: list[str] = []
    quote: str | None = None
    in_word = False
    chars = iter(line)
    for ch in chars:
        if quote:
            if ch == "\\":
                word.append(next(chars, ""))
            elif ch == quote:
                quote = None
            else:
                word.append(ch)
        elif ch in "\"'":
            quote, in_word = ch, True
        elif ch.isspace() or ch == "|":
            if in_word:
                segments[-1].append("".join(word))
                word, in_word = [], False
            if ch == "|":
                segments.append([])
        else:
            word.append(ch)
            in_word = True
    if quote:
        raise parse_error(line.strip().split()[-1] if line.strip() else line)
    if in_word:
        segments[-1].append("".join(word))
    return segments


def open_quote(line: str) -> bool:
    """True when ``line`` ends inside a quoted value (the CLI then reads the next line into it)."""
    quote: str | None = None
    chars = iter(line)
    for ch in chars:
        if quote and ch == "\\":
            next(chars, "")
        elif quote and ch == quote:
            quote = None
        elif not quote and ch in "\"'":
            quote = ch
    return quote is not None


@dataclass(frozen=True)
class RefContext:
    """What references may point at: the effective config and the device's interface names."""

    config: Config
    interfaces: tuple[str, ...]


def _exists(name: str, refs: Sequence[str], ctx: RefContext) -> bool:
    for ref in refs:
        if ref == INTERFACES and (name in ctx.interfaces or name == "any"):
            return True
        if ref == SCHEDULES and name in C.SCHEDULES:
            return True
        if name in ctx.config.get(ref, {}):
            return True
    return False


def _subnet(tokens: list[str]) -> tuple[str, ...]:
    try:
        if len(tokens) == 1 and "/" in tokens[0]:
            net = ipaddress.IPv4Network(tokens[0], strict=False)
            addr = tokens[0].split("/")[0]
            ipaddress.IPv4Address(addr)
            return (addr, str(net.netmask))
        if len(tokens) == 2:
            ipaddress.IPv4Address(tokens[0])
            ipaddress.IPv4Network(f"{tokens[0]}/{tokens[1]}", strict=False)
            return (tokens[0], tokens[1])
    except ValueError:
        pass
    bad = next((t for t in tokens if not _is_ipv4(t.split("/")[0])), tokens[-1] if tokens else "")
    raise value_error(bad)


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


_PORT = re.compile(r"^(\d+)(?:-(\d+))?(?::(\d+)(?:-(\d+))?)?$")


def parse_portrange(token: str) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """``DST[-DST][:SRC[-SRC]]`` -> ((lo, hi), source range or None)."""
    m = _PORT.match(token)
    if not m:
        raise value_error(token)
    lo = int(m.group(1))
    hi = int(m.group(2) or lo)
    src = None
    if m.group(3):
        slo = int(m.group(3))
        src = (slo, int(m.group(4) or slo))
    for a, b in [(lo, hi), *([src] if src else [])]:
        if not (0 <= a <= b <= 65535):
            raise value_error(token)
    return (lo, hi), src


def _single(tokens: list[str]) -> str:
    if len(tokens) != 1:
        raise parse_error(tokens[1] if len(tokens) > 1 else "")
    return tokens[0]


def parse_value(path: str, name: str, tokens: list[str], ctx: RefContext) -> tuple[str, ...]:
    """Validate ``set NAME TOKENS`` for table ``path``; returns the stored tokens."""
    spec: Field = SCHEMAS[path].fields[name]
    if not tokens:
        raise parse_error(name)
    if spec.kind == "subnet":
        return _subnet(tokens)
    if spec.kind == "ports":
        for token in tokens:
            parse_portrange(token)
        return tuple(tokens)
    if spec.kind == "ref":
        if not spec.multi:
            _single(tokens)
        for token in tokens:
            if not _exists(token, spec.refs, ctx):
                raise CliError(C.DATASOURCE_ERROR.format(token))
        return tuple(dict.fromkeys(tokens))
    value = _single(tokens)
    _check_scalar(spec, name, value)
    return (value,)


def _check_scalar(spec: Field, name: str, value: str) -> None:
    try:
        if spec.kind == "enum" and value not in spec.choices:
            raise parse_error(value)
        if spec.kind == "int":
            number = int(value)
            low = 10 if name == "cfg-revert-timeout" else 0
            if number < low or number > 4294967295:
                raise value_error(value)
        elif spec.kind == "ip":
            ipaddress.ip_address(value)
        elif spec.kind == "ip6":
            ipaddress.IPv6Network(value, strict=False)
        elif spec.kind == "uuid":
            uuid.UUID(value)
        elif spec.kind == "str" and len(value) > 1023:
            raise value_error(value)
    except ValueError as exc:
        raise value_error(value) from exc
