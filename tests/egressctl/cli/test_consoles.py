"""Lines written without rich are the bytes rich would write (``verify --pcap``'s fast path, issue 13)."""

from __future__ import annotations

import io
import sys

import pytest

from egressctl.cli import consoles

LINES = [
    "capture /tmp/x.pcap at isolated: leak - 4 packets (0/s, c engine), 2 leak packets in 1 flows, "
    "0 unverified",
    "  LEAK 2001:db8::1:4321 -> 2001:100::1:443 tcp (2 packets)",
    "[bold]not markup[/bold] :100: :smile: **x** `y` <z> http://example.com 1.2.3.4 True None",
    "x" * 400,
    "a line that is exactly one hundred and sixty characters wide " + "=" * 99,
    "  leading spaces",
    "",
    "trailing space ",
    "tab\there",
    "caf\u00e9 \u2192 \u6f22\u5b57 \U0001f600",
    "bell\x07 backspace\x08 carriage\rreturn",
    "two\nlines",
    "ends with a newline\n",
    "escape \x1b[31m red",
]
STYLES = [None, "", "bold red", "bold green", "bold yellow"]


def rich_bytes(text: str, style: str | None) -> str:
    """What the full path prints: ``out_console().print`` on the current stdout."""
    consoles.out_console().print(text, style=style, markup=False, highlight=False)
    out = sys.stdout.getvalue()  # type: ignore[attr-defined]
    sys.stdout.truncate(0)
    sys.stdout.seek(0)
    return str(out)


def pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout is a pipe (no terminal), with no variable that makes rich treat it as one.

    Called in the test itself: pytest puts its own capture back on ``sys.stdout`` after fixtures run.
    """
    for name in consoles.RICH_TERMINAL_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("text", LINES)
def test_print_lines_writes_what_rich_writes(monkeypatch: pytest.MonkeyPatch, text: str,
                                             style: str | None) -> None:
    pipe(monkeypatch)
    expected = rich_bytes(text, style)
    consoles.print_lines([(text, style)])
    assert sys.stdout.getvalue() == expected  # type: ignore[attr-defined]
    if consoles.plain(text):
        assert expected == text + "\n"


def test_only_simple_lines_skip_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe(monkeypatch)
    simple = [True] * 7 + [False] * 4 + [True, True, False]
    assert [consoles.plain(t) for t in LINES] == simple


@pytest.mark.parametrize("name", consoles.RICH_TERMINAL_ENV)
def test_a_forced_terminal_goes_through_rich(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    pipe(monkeypatch)
    monkeypatch.setenv(name, "1")
    assert not consoles.plain("plain text")
    expected = rich_bytes("plain text", "bold red")
    consoles.print_lines([("plain text", "bold red")])
    assert sys.stdout.getvalue() == expected  # type: ignore[attr-defined]
