"""FortiOS's ``| grep [-i] [-v] [-c] [-f] [-A N] [-B N] PATTERN`` output filter.

``-f`` is what makes grep useful on configuration: it prints every ``edit`` block holding a match,
inside its ``config``/``end`` lines, so a script can read a whole policy found by its comment.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from egressctl_lab.emu.fortinet.values import CliError, parse_error


def _options(args: list[str]) -> tuple[dict[str, int], str]:
    opts: dict[str, int] = {}
    pattern: str | None = None
    it = iter(args)
    for arg in it:
        if arg in ("-i", "-v", "-c", "-f"):
            opts[arg] = 1
        elif arg in ("-A", "-B"):
            value = next(it, "")
            if not value.isdigit():
                raise parse_error(value or arg)
            opts[arg] = int(value)
        elif pattern is None:
            pattern = arg
        else:
            raise parse_error(arg)
    if pattern is None:
        raise parse_error("grep")
    return opts, pattern


def _matcher(pattern: str, ignore_case: bool) -> Callable[[str], bool]:
    flags = re.IGNORECASE if ignore_case else 0
    try:
        regex = re.compile(pattern, flags)
    except re.error:
        regex = re.compile(re.escape(pattern), flags)
    return lambda line: regex.search(line) is not None


def _blocks(lines: list[str], hit: Callable[[str], bool]) -> list[str]:
    """``-f``: matching ``edit`` blocks (or singleton ``set`` lines) with their ``config``/``end``.

    A block is everything from an ``edit`` (or a nested ``config``) one level inside a top-level
    ``config`` down to its ``next`` (or ``end``) at the same level, nested tables included.
    """
    out: list[str] = []
    header: str | None = None
    header_shown = False
    block: list[str] | None = None
    for line in lines:
        stripped, depth = line.strip(), len(line) - len(line.lstrip(" "))
        if depth == 0 and stripped.startswith("config "):
            header, header_shown = line, False
            continue
        if depth == 0 and stripped == "end":
            if header_shown:
                out.append(line)
            header = None
            continue
        if block is None and depth == 4 and stripped.split(" ")[0] in ("edit", "config"):
            block = [line]
            continue
        chunk = [line]
        if block is not None:
            block.append(line)
            if not (depth == 4 and stripped in ("next", "end")):
                continue
            chunk, block = block, None
        body = chunk[:-1] if len(chunk) > 1 else chunk
        if any(hit(x) for x in body):
            if header is not None and not header_shown:
                out.append(header)
                header_shown = True
            out += chunk
    return out


def grep(lines: list[str], args: list[str]) -> list[str]:
    """Filter ``lines`` as FortiOS's ``grep`` does."""
    opts, pattern = _options(args)
    match = _matcher(pattern, "-i" in opts)

    def hit(line: str) -> bool:
        return match(line) != ("-v" in opts)

    if "-f" in opts:
        return _blocks(lines, hit)
    if "-c" in opts:
        return [str(sum(1 for line in lines if hit(line)))]
    keep: set[int] = set()
    for i, line in enumerate(lines):
        if hit(line):
            keep.update(range(max(0, i - opts.get("-B", 0)), min(len(lines), i + opts.get("-A", 0) + 1)))
    return [lines[i] for i in sorted(keep)]


def apply_pipes(lines: list[str], pipes: list[list[str]]) -> list[str]:
    """Run each ``| grep ...`` segment in turn; anything but grep is a parse error."""
    for segment in pipes:
        if not segment or segment[0] != "grep":
            raise CliError(parse_error(segment[0] if segment else "|").text)
        lines = grep(lines, segment[1:])
    return lines
