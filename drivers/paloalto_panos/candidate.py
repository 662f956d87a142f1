"""Whose is the shared PAN-OS candidate? Tell egressctl's own uncommitted changes from anyone else's.

PAN-OS has one candidate configuration for every administrator, and ``commit`` commits all of it. So a
candidate someone else left (an administrator's half-done edit in the web UI) must never ride along with
egressctl's commit, nor be thrown away by egressctl's rollback, and egressctl's stale snapshot must never be
committed over changes committed since it was saved. Both configurations are compared here as sets of
``set`` lines (``show config running`` / ``show config candidate`` in set form), which does not depend on
how a firmware prints ``show config diff``:

* a line that differs and does not belong to an object egressctl owns (``egressctl-*`` address, service or
  security rule) is someone else's change;
* the other security rules must keep their relative order (a ``move`` of a foreign rule is a change too);
* a candidate that differs only in egressctl's objects is egressctl's when it carries a stamp of its own
  (a render stamps every owned rule when anything changes) or removes every owned object (a restore to
  normal has nothing to stamp); owned objects edited under the running stamp are a hand edit: foreign.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from egressctl_drivers.common.state import parse_stamp
from egressctl_drivers.paloalto_panos import constants as C
from egressctl_drivers.paloalto_panos.parse import _tokens, parse_config

#: Changed lines quoted when a foreign candidate is named (journal, refusal message).
SHOWN = 4
_OWNED_SECTIONS = (("address",), ("service",), ("rulebase", "security", "rules"))


@dataclass(frozen=True)
class Candidate:
    """What the candidate holds beyond the running configuration."""

    changed: tuple[str, ...]
    """Every differing line, ``+set ...`` (candidate only) or ``-set ...`` (running only)."""
    outside: tuple[str, ...]
    """The differing lines outside egressctl's objects (and reordered foreign rules)."""
    foreign: tuple[str, ...]
    """What makes the candidate someone else's: ``outside``, or every line of a hand edit of owned objects."""
    ours: bool
    """Loaded by egressctl: only its objects differ and the candidate is stamped by a change of its own."""

    @property
    def empty(self) -> bool:
        """Nothing uncommitted."""
        return not self.changed

    def describe(self) -> str:
        """``an uncommitted candidate egressctl did not load: 3 changed lines (+set ...; ...)``."""
        lines = self.foreign or self.changed
        shown = "; ".join(lines[:SHOWN]) + (f"; ... {len(lines) - SHOWN} more" if len(lines) > SHOWN else "")
        return (f"an uncommitted candidate configuration egressctl did not load: {len(lines)} changed "
                f"line(s) ({shown}); commit or `revert config` it on the device (--take-over discards it)")


def set_lines(text: str) -> list[str]:
    """The ``set`` lines of a ``show config`` output, whitespace normalised."""
    return [" ".join(ln.split()) for ln in text.splitlines() if ln.strip().startswith("set ")]


def _owned(line: str) -> bool:
    words = _tokens(line.removeprefix("set "))
    for section in _OWNED_SECTIONS:
        n = len(section)
        if tuple(words[:n]) == section and len(words) > n and words[n].startswith(C.OWNED_PREFIX):
            return True
    return False


def _foreign_order(running: str, candidate: str) -> list[str]:
    """Foreign security rules (present in both) whose relative order the candidate changed."""
    before = [n for n in parse_config(running).rules if not n.startswith(C.OWNED_PREFIX)]
    after = [n for n in parse_config(candidate).rules if not n.startswith(C.OWNED_PREFIX)]
    common = set(before) & set(after)
    b, a = [n for n in before if n in common], [n for n in after if n in common]
    return [] if a == b else [f"~rule order: {' '.join(a[:6])}"]


def _stamp(text: str) -> str:
    """The op id of the stamp on egressctl's rules in a configuration (empty without one)."""
    owned = "\n".join(ln for ln in set_lines(text) if _owned(ln) and " description " in ln)
    return parse_stamp(owned)[0]


def compare(running: str, candidate: str) -> Candidate:
    """What ``candidate`` changes in ``running``, and whether egressctl loaded it."""
    run, cand = set_lines(running), set_lines(candidate)
    run_set, cand_set = set(run), set(cand)
    changed = tuple([f"-{ln}" for ln in run if ln not in cand_set]
                    + [f"+{ln}" for ln in cand if ln not in run_set])
    if not changed:
        if run == cand:
            return Candidate((), (), (), False)
        changed = ("~rule order",)  # only an order changed: nothing says who moved what
    outside = tuple(ln for ln in changed if not _owned(ln[1:])) + tuple(_foreign_order(running, candidate))
    stamp = _stamp(candidate)
    removes_all = not any(_owned(ln) for ln in cand)
    ours = not outside and ((bool(stamp) and stamp != _stamp(running)) or removes_all)
    # egressctl's objects edited without a stamp of egressctl's own are a hand edit: foreign too
    return Candidate(changed, outside, outside or (() if ours else changed), ours)
