"""Which moves put egressctl's rules first, in order, above the site's own rules.

FortiOS and PAN-OS both append new rules at the bottom and reorder with ``move``; the algorithm (walk the
desired order, move the first to the top and each next one right after its predecessor, only when it is
not already there, ignoring rules about to be deleted) is the same, only the command wording differs.
"""

from __future__ import annotations

from typing import Literal, NamedTuple


class Move(NamedTuple):
    """Put ``item`` first (above ``anchor``, the current first live rule) or right ``after`` ``anchor``."""

    kind: Literal["first", "after"]
    item: str
    anchor: str


def moves(order: list[str], desired: list[str], stale: set[str]) -> list[Move]:
    """The minimal moves, first to last, that make ``desired`` the top of ``order`` (``stale`` ignored)."""
    seq = list(order)
    out: list[Move] = []
    for i, item in enumerate(desired):
        live = [x for x in seq if x not in stale]
        if i == 0:
            if live[0] != item:
                out.append(Move("first", item, live[0]))
                seq.remove(item)
                seq.insert(seq.index(live[0]), item)
            continue
        prev = desired[i - 1]
        j = live.index(prev)
        if j + 1 >= len(live) or live[j + 1] != item:
            out.append(Move("after", item, prev))
            seq.remove(item)
            seq.insert(seq.index(prev) + 1, item)
    return out
