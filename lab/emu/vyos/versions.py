"""VyOS version numbers as the emulator compares them (``show version`` and the spec's ``version``)."""

from __future__ import annotations


def version_tuple(text: str) -> tuple[int, int]:
    """``1.4.0`` -> (1, 4); ``1.5-rolling-...`` -> (1, 5); a rolling date ``2025.01...`` -> (1, 5)."""
    head = text.split("-")[0].split(".")
    if head[0].isdigit() and int(head[0]) > 1000:
        return (1, 5)
    return (int(head[0]), int(head[1]) if len(head) > 1 and head[1].isdigit() else 0)
