"""Console checks shared by every command: argument validation, v7 slash paths, the scripting words.

``validate`` refuses what RouterOS refuses before an item is added or changed (a filter rule without
``chain``, an unknown ``action``, ports without a port protocol, a bad scheduler ``interval``), so a refused
line changes nothing. ``expand`` turns v7's ``/ip/firewall/filter/add`` into the classic words, keeping
each word's column for the error text. ``scripting`` answers the few ``:`` commands scripts use.
"""

from __future__ import annotations

from egressctl_lab.emu.mikrotik_routeros import constants as c
from egressctl_lab.emu.mikrotik_routeros.device import duration
from egressctl_lab.emu.mikrotik_routeros.words import ConsoleError, Token, unquote


def validate(menu: str, props: dict[str, str]) -> None:
    """Raise the router's refusal when ``props`` cannot be an item of ``menu``."""
    if menu.endswith("firewall filter"):
        if not props.get("chain"):
            raise ConsoleError(c.NOT_SET.format(prop="chain"))
        if props.get("action", "accept") not in c.FILTER_ACTIONS:
            raise ConsoleError(c.BAD_VALUE.format(prop="action"))
        if props.get("action") == "jump" and not props.get("jump-target"):
            raise ConsoleError(c.NOT_SET.format(prop="jump-target"))
        if ("src-port" in props or "dst-port" in props) and props.get("protocol") not in (
                "tcp", "udp", "udp-lite", "dccp", "sctp"):
            raise ConsoleError(c.PORT_NEEDS_PROTO)
    if menu == "system scheduler" and "interval" in props:
        try:
            duration(props["interval"])
        except ValueError:
            raise ConsoleError(c.BAD_VALUE.format(prop="interval")) from None


def expand(toks: list[Token]) -> list[Token]:
    """v7's ``/ip/firewall/filter/add`` -> ``/ ip firewall filter add``."""
    if not toks:
        return [Token("", 1)]
    first = toks[0]
    if not first.text.startswith("/"):
        return toks
    out, pos = [Token("/", first.col)], 0
    for word in first.text.split("/"):
        if word:
            out.append(Token(word, first.col + pos))
        pos += len(word) + 1
    return [*out, *toks[1:]]


def scripting(toks: list[Token]) -> str:
    """``:put`` prints; ``:log``, ``:delay``, ``:local``, ``:global`` do nothing here."""
    word = toks[0].text
    if word == ":put":
        return " ".join(unquote(t.text) for t in toks[1:]) + "\n"
    if word in (":log", ":delay", ":local", ":global"):
        return ""
    raise ConsoleError(c.BAD_COMMAND.format(word=word, col=toks[0].col))
