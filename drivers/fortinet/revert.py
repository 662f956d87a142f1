"""FortiOS's dead-man switch without a reboot: on-box auto-scripts that undo the change.

``cfg-save revert`` reverts by **rebooting** the unit (every HA member) when its timer fires: traffic stops
for minutes, on a hospital's firewall, in an incident. Where the unit can (FortiOS 6.2 and later: scripts
of up to 1023 characters), egressctl arms scripts on the unit instead, right after sending the change:

* the revert lines are rendered from the state read back after the change to the state before it, in
  the render's own safe order (no egressctl deny ever above the management permits);
* they are cut into ``config system auto-script`` entries of at most :data:`~.constants.SCRIPT_MAX`
  characters, each a whole number of edits of one ``config`` block, named
  ``egressctl-rv-<fingerprint of the change>-<n>``, starting by themselves (``set start auto``, ``set repeat
  1``) ``revert_in`` + 2n seconds later [M: when the first run of an auto-start script happens is not
  documented], each deleting itself as its last lines;
* the change and the scripts are saved (``execute cfg save``), which stops ``cfg-save revert``'s timer:
  from then on the scripts are the dead-man switch. ``cfg-save revert`` only covers the seconds between
  the change and the scripts being saved (a controller lost there reboots the unit, as before);
* the confirm deletes the scripts; a rollback runs their lines at once, then deletes them.

A change counts as pending while scripts for the fingerprint the unit holds exist: a second controller sees
that on the unit itself. Pure helpers here; the session work is the driver's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from egressctl_drivers.fortinet import constants as C

SCRIPT_NAME_RE = re.compile(r'^\s*edit "(?P<name>egressctl-rv-(?P<fp>[0-9a-f]{12})-(?P<n>\d+))"', re.M)
VERSION_RE = re.compile(r"^Version: \S+ v(\d+)\.(\d+)(?:\.(\d+))?", re.M)


def script_prefix(fingerprint: str) -> str:
    """Names of the scripts guarding a change whose read-back has ``fingerprint``."""
    return f"{C.SCRIPT_PREFIX}{fingerprint}-"


def version(status: str) -> tuple[int, int] | None:
    """(major, minor) from ``get system status``, None when it does not say."""
    m = VERSION_RE.search(status)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _units(lines: Iterable[str]) -> Iterator[tuple[str, list[str]]]:
    """(``config`` line, statements) pieces: each statement a whole ``edit ... next`` or a single line."""
    block, unit = "", list[str]()
    for line in lines:
        if line.startswith("config "):
            block = line
        elif line == "end":
            block = ""
        elif unit or line.startswith("edit "):
            unit.append(line)
            if line == "next":
                yield block, unit
                unit = []
        else:
            yield block, [line]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _self_delete(name: str) -> list[str]:
    return [f"config {C.SEC_AUTOSCRIPT}", f"delete {_quote(name)}", "end"]


def _close(lines: list[str], block: str, name: str) -> list[str]:
    return [*lines, *(["end"] if block else []), *_self_delete(name)]


def chunks(lines: list[str], fingerprint: str, budget: int = C.SCRIPT_MAX) -> list[list[str]]:
    """``lines`` cut into scripts of at most ``budget`` characters (self-deletion included), in order.

    A script ends only between two statements of a block (never inside an ``edit``, which ``next`` makes
    live), and the next one opens the block again, so running them one after the other is the same as
    sending ``lines``. A statement longer than the budget still gets a script of its own (too long: the
    caller checks every script's length).
    """
    out: list[list[str]] = []
    current: list[str] = []
    block = ""
    for unit_block, unit in _units(lines):
        opening = [unit_block] if unit_block else []
        head = [] if unit_block == block else [*(["end"] if block else []), *opening]
        name = f"{script_prefix(fingerprint)}{len(out)}"
        if current and len("\n".join(_close([*current, *head, *unit], unit_block, name))) > budget:
            out.append(_close(current, block, name))
            current, block = [], ""
            head = opening
        current += [*head, *unit]
        block = unit_block
    if current:
        out.append(_close(current, block, f"{script_prefix(fingerprint)}{len(out)}"))
    return out


@dataclass(frozen=True)
class Armed:
    """Scripts found on the unit: their names and, per script, its lines (in run order)."""

    fingerprint: str
    scripts: tuple[tuple[str, tuple[str, ...]], ...]


def arm_lines(scripts: list[list[str]], fingerprint: str, delay: int) -> list[str]:
    """The CLI lines creating the scripts (each value one multi-line quoted string)."""
    out = [f"config {C.SEC_AUTOSCRIPT}"]
    for n, body in enumerate(scripts):
        text = _quote("\n".join(body)).split("\n")
        out += [f'edit "{script_prefix(fingerprint)}{n}"', f"set interval {delay + 2 * n}", "set repeat 1",
                "set start auto", f"set script {text[0]}", *text[1:], "next"]
    return [*out, "end"]


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.S)


def armed(show: str) -> list[Armed]:
    """Every set of egressctl scripts in ``show system auto-script`` output, grouped by fingerprint."""
    found: dict[str, list[tuple[int, str, tuple[str, ...]]]] = {}
    for m in SCRIPT_NAME_RE.finditer(show):
        body = re.search(r'set script "((?:[^"\\]|\\.)*)"', show[m.end():], re.S)
        lines = tuple(_unquote(body.group(1)).split("\n")) if body else ()
        found.setdefault(m.group("fp"), []).append((int(m.group("n")), m.group("name"), lines))
    return [Armed(fp, tuple((name, lines) for _, name, lines in sorted(items)))
            for fp, items in found.items()]
