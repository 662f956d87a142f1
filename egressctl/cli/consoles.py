"""The consoles egressctl prints on, and plain lines written without rich when that is byte-identical.

Consoles never interpret markup or emoji codes: everything printed is data from devices, inventories and
the journal, where ``[bold]`` is text and ``:100:`` is part of an IPv6 address. Styling is applied with
styles and :class:`rich.text.Text` spans instead.

Importing rich costs about 40 ms, a quarter of the start-up budget of ``verify --pcap`` (issue 13), and
when stdout is not a terminal rich writes a line of printable ASCII exactly as it is: no colour codes, no
wrapping (``soft_wrap``), nothing stripped. :func:`print_lines` writes such lines itself and hands every
other case (a terminal, a colour forced by the environment, any other character) to rich, unchanged.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from egressctl.cli import stdout

if TYPE_CHECKING:
    from rich.console import Console

#: Environment variables with which rich may treat a pipe as a terminal (colour codes, other widths).
RICH_TERMINAL_ENV = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
_PRINTABLE = frozenset(map(chr, range(0x20, 0x7F)))


def err_console() -> Console:
    """A stderr console (built when something is printed, on the ``sys.stderr`` of that moment)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def is_tty() -> bool:
    """True when stdout is an interactive terminal."""
    return sys.stdout.isatty()


def out_console() -> Console:
    """Stdout console: no hard wrapping, wide tables when piped (logs and CI read whole lines), no markup."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, width=None if is_tty() else 160, markup=False,
                   emoji=False)


def plain(text: str) -> bool:
    """True when :func:`out_console` would print ``text`` as exactly ``text`` and a newline.

    That is: stdout is no terminal (and no variable makes rich think otherwise), and every line is
    printable ASCII that does not end in a space (rich strips trailing spaces past the width).
    """
    if is_tty() or any(name in os.environ for name in RICH_TERMINAL_ENV):
        return False
    return all(set(line) <= _PRINTABLE and not line.endswith(" ") for line in text.split("\n"))


def print_lines(lines: Iterable[tuple[str, str | None]]) -> None:
    """Print each ``(text, style)`` as ``out_console().print(text, style=style)`` would."""
    console: Console | None = None
    for text, style in lines:
        if console is None and plain(text):
            stdout.write(text + "\n")
            continue
        console = console or out_console()
        console.print(text, style=style, markup=False, highlight=False)
