"""IOS configuration lines stored without interpretation: global lines, generic sub-modes, interface extras.

Split from :mod:`.config_mode` (which dispatches): these handlers check the first keyword against the
mode's list and keep the rest as typed (see :mod:`.generic` for identity, order and display). Secrets typed
in clear (``enable secret X``, ``username U secret X``) are shown as a placeholder hash, as IOS stores them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from egressctl_lab.emu.cisco_ios import constants as c
from egressctl_lab.emu.cisco_ios import generic
from egressctl_lab.emu.cisco_ios.model import Interface
from egressctl_lab.emu.cisco_ios.tokens import CliError, Cursor

if TYPE_CHECKING:
    from egressctl_lab.emu.cisco_ios.cli import IosSession


def ahead(cur: Cursor, *options: list[str]) -> bool:
    """Whether the next tokens abbreviate ``options`` in turn (nothing is consumed)."""
    for k, opts in enumerate(options):
        idx = cur.i + k
        if idx >= len(cur.tokens):
            return False
        low = cur.tokens[idx].text.lower()
        if not any(o.startswith(low) for o in opts):
            return False
    return True


def global_line(s: IosSession, cmd: str, cur: Cursor, negate: bool) -> str:
    """A valid global command the emulator does not interpret: store it (or remove it, for ``no``)."""
    cfg = s.device.running
    if not cur.more() and not negate and cmd not in ("control-plane", "redundancy"):
        raise CliError("incomplete")
    second = _second_keyword(cmd, cur)
    rest = cur.line[cur.tokens[cur.i].pos:].strip() if cur.more() else ""
    text = " ".join(w for w in (cmd, second, rest) if w)
    words = tuple(text.lower().split())
    if cmd == "enable":
        text = _enable_line(s, words, text, negate)
    elif cmd == "username":
        text = _hide_secret(text)
    if negate:
        generic.negate_global(cfg.extra, words, text)
        return ""
    block = generic.set_global(cfg.extra, text)
    sub = generic.submode_of(words)
    if sub is not None:
        s.mode, s.block = sub[0], block
    return ""


def _second_keyword(cmd: str, cur: Cursor) -> str:
    """The command's second keyword, checked and expanded as IOS does (``logg buff`` -> ``logging buffered``).

    Only for the commands of :data:`constants.SECOND_KEYWORDS`; an address where IOS takes one (``logging
    192.0.2.9``) is left to the rest of the line. ``line con 0`` keeps its word as typed (IOS prints ``con``).
    """
    options = c.SECOND_KEYWORDS.get(cmd)
    tok = cur.peek()
    if options is None or tok is None or tok.text[:1].isdigit():
        return ""
    word = cur.keyword(options)
    return tok.text if cmd == "line" else word


def _enable_line(s: IosSession, words: tuple[str, ...], text: str, negate: bool) -> str:
    """``enable secret|password [0] X``: remember X for the enable dialog; print a hash for secrets."""
    if len(words) < 2 or words[1] not in ("secret", "password"):
        return text
    cfg = s.device.running
    if negate:
        cfg.enable_secret = None
        return text
    parts = text.split()
    if len(parts) < 3:
        raise CliError("incomplete")
    plain = parts[-1] if len(parts) == 3 or parts[2] == "0" else None
    if plain is not None:
        cfg.enable_secret = plain
    return f"enable secret 9 {c.FAKE_SECRET_HASH}" if words[1] == "secret" else f"enable password {parts[-1]}"


def _hide_secret(text: str) -> str:
    """``username U ... secret PLAIN`` is shown hashed, as IOS stores it."""
    parts = text.split()
    low = [p.lower() for p in parts]
    if "secret" in low:
        i = low.index("secret")
        if i + 1 < len(parts) and not parts[i + 1].isdigit():
            parts[i + 1:] = ["9", c.FAKE_SECRET_HASH]
    return " ".join(parts)


def submode_line(s: IosSession, cur: Cursor) -> str:
    """A line inside a generic sub-mode (``line vty``, ``router ospf``...)."""
    sub = generic.submode_of(s.block.words())
    assert sub is not None
    cmd = cur.keyword(sub[1] + generic.SUBMODE_COMMON)
    if cmd in ("no", "default"):
        first = cur.keyword(sub[1] + ["description"])  # ``no ip cef`` here is a global line
        words = (first, *(w.text.lower() for w in cur.tokens[cur.i:]))
        generic.negate_line(s.block.children, words)
        return ""
    rest = cur.line[cur.tokens[cur.i].pos:].strip() if cur.more() else ""
    generic.set_line(s.block.children, f"{cmd} {rest}".strip())
    return ""


def interface_address(itf: Interface, cur: Cursor, negate: bool) -> str:
    """``[no] ip address A M [secondary]`` on an interface (shown; the lab's kernel address stays)."""
    cur.i += 1
    if negate:
        cur.rest() if cur.more() else None
        itf.address = None
        return ""
    addr, mask = cur.word(), cur.word()
    cur.optional_keyword(["secondary"])
    cur.end()
    for tok in (addr, mask):
        parts = tok.text.split(".")
        if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
            raise CliError("invalid", tok.pos)
    itf.address = (addr.text, mask.text)
    return ""
