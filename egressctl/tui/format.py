"""Small, pure formatting helpers shared by the screens (kept apart so they are unit-testable).

Text that comes from devices, inventories or the journal is never handed to a widget as a markup string:
Textual (and Rich, for table cells) would read ``[bold]`` as markup and ``:100:`` (inside
``2001:100::1``) as an emoji code. :func:`plain` wraps such values in :class:`rich.text.Text` for table
cells and logs, :func:`content` builds Textual :class:`~textual.content.Content` for ``Static`` and
``Label``; both show the text verbatim and style it with spans.
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.content import Content

_STATE_STYLE = {
    "normal": "green",
    "isolated": "bold red",
    "isolating": "bold yellow",
    "restoring": "bold yellow",
    "failed-partial": "bold white on red",
    "mixed": "bold yellow",
    "failed": "bold white on red",
}
_VERDICT_STYLE = {
    "cut-confirmed": "bold green",
    "normal-ok": "green",
    "ok": "green",
    "leak": "bold white on red",
    "blocked-allowed": "bold yellow",
    "leak+blocked-allowed": "bold white on red",
    "error": "bold red",
}


def plain(value: Any, style: str = "") -> Text:
    """``value`` as text shown exactly as it is (no markup, no emoji codes), optionally styled."""
    return Text("" if value is None else str(value), style=style, end="")


def content(*parts: str | tuple[str, str]) -> Content:
    """``Static``/``Label`` content from plain and ``(text, style)`` parts; nothing in it is markup."""
    return Content.assemble(*parts)


def state_text(state: str | None) -> Text:
    """A site or device state, coloured so isolated and failed states stand out at a glance."""
    s = state or "unknown"
    style = _STATE_STYLE.get(s, "yellow" if s.startswith("stage") else "dim")
    return Text(s, style=style)


def verdict_style(verdict: str) -> str:
    """The style of a verdict: green only for the two that prove the target, loud for leaks."""
    if verdict in _VERDICT_STYLE:
        return _VERDICT_STYLE[verdict]
    return "bold white on red" if "leak" in verdict else "yellow"


def verdict_text(verdict: str | None) -> Text:
    """A verification verdict; a missing one is shown dim, never as clean."""
    if not verdict:
        return Text("never verified", style="dim")
    return Text(verdict, style=verdict_style(verdict))


def age(ts: float | str | None, now: float | None = None) -> str:
    """Human age of a UNIX timestamp ("42s", "5m", "3h", "2d"); "-" when unknown."""
    if ts in (None, ""):
        return "-"
    try:
        t = float(ts)
    except (TypeError, ValueError):
        return str(ts)
    d = max(0.0, (now or time.time()) - t)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if d >= size:
            return f"{int(d // size)}{unit}"
    return f"{int(d)}s"


def countdown(deadline: float | None, now: float | None = None) -> str:
    """Seconds left on a pending dead-man switch, or "-" when none is armed."""
    if not deadline:
        return "-"
    left = deadline - (now or time.time())
    return f"reverts in {int(left)}s" if left > 0 else "revert due"


def get(doc: dict[str, Any], *keys: str, default: Any = None) -> Any:
    """First present key of ``doc`` (engine documents may name a field one of several ways)."""
    for k in keys:
        if k in doc and doc[k] is not None:
            return doc[k]
    return default


def sessions_plan(dev: dict[str, Any]) -> str:
    """What an isolation does to a device's established sessions, in a few words for the plan summary."""
    if get(dev, "ends_sessions", default=False):
        return "ends sessions"
    return {"stateless": "stateless", "rechecked": "sessions rechecked", "kept": "SESSIONS SURVIVE"}.get(
        str(get(dev, "session_handling", default="unknown")), "sessions unknown"
    )


def plan_text(plan: dict[str, Any], target: str) -> str:
    """The plan as the confirmation modal shows it: one line per device first, then the commands.

    The summary comes first so that even at 80x24 every device, its safety net and how much it receives
    are on screen without scrolling. A device the plan could not read (lost session, refused login) is
    marked loudly: the operator must know before typing the site's name that it will most likely fail.
    For an isolation each line also says what happens to the device's established sessions (the
    warnings themselves are shown apart, above the name prompt).
    """
    devices = get(plan, "devices", default=[]) or []
    lines = [f"Target: {target}"]
    opens = get(plan, "opens", default=None)
    if opens:
        lines.append("Opens: " + ", ".join(str(o) for o in opens))
    for dev in devices:
        name = str(get(dev, "device", "name", default="?"))
        cmds = get(dev, "lines", "commands", default=[]) or []
        sessions = f"{sessions_plan(dev)}, " if target == "isolated" else ""
        if get(dev, "error", default=""):
            what = f"!! NOT REACHABLE: {get(dev, 'error')}"
        elif get(dev, "noop", default=False):
            what = f"already there, nothing sent{', ' + sessions_plan(dev) if sessions else ''}"
        else:
            what = f"{len(cmds)} lines, {sessions}{get(dev, 'safety_net', default='')}"
        lines.append(f"  {name:<8} {get(dev, 'platform', default=''):<15} {what}")
    if any(get(d, "error", default="") for d in devices):
        lines.append("!! unreachable devices will fail and be reported; the others proceed")
    for dev in devices:
        cmds = get(dev, "lines", "commands", default=[]) or []
        if cmds and not get(dev, "noop", default=False):
            lines.append(f"\n{get(dev, 'device', 'name', default='?')}:")
            lines += [f"    {c}" for c in cmds[:12]]
            if len(cmds) > 12:
                lines.append(f"    ... {len(cmds) - 12} more")
    return "\n".join(lines)
