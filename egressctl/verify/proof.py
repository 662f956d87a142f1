"""The proof after a change: the probe matrix, the held-open sessions, and a watch while the probes run.

After an isolate or a restore the probe matrix says whether *new* connections behave; the held-open
sessions (:mod:`egressctl.verify.held`) say whether *established* ones do (denied ones dead, allowed ones
alive). After an isolate a short passive watch on every capture point runs *while* the matrix runs: the
allowed probes then cross each exit, so a capture point that sees none of them is on the wrong link or
the site's traffic does not cross it (*unverified*, :mod:`egressctl.verify.liveness`), and any leak
packet the probes did not notice is still caught. One verdict comes out of the three, in the probe
matrix's words (``cut-confirmed``, ``leak``, ``blocked-allowed``, ``error``) plus ``unverified``,
joined with ``+`` when several apply.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from egressctl.describe import describe
from egressctl.inventory.models import Site
from egressctl.policy import Policy
from egressctl.verify.probe import active as probe_active
from egressctl.verify.probe.active import ActiveReport

if TYPE_CHECKING:
    from egressctl.verify.held.session import HeldSessions
    from egressctl.verify.held.verdict import HeldReport
    from egressctl.verify.watch.report import WatchReport

ExecPrefix = Callable[[str], list[str]]
PROBLEMS = ("leak", "blocked-allowed", "unverified")
WATCH_WORDS = {"leak": "leak", "incomplete": "unverified", "unverified": "unverified"}
WATCH_START = 15.0  # seconds for every capture agent to open its ring before the probes go anyway


@dataclass
class Proof:
    """The three parts of one verification and their joint verdict."""

    active: ActiveReport
    held: HeldReport | None = None
    watch: WatchReport | None = None
    watch_error: str | None = None
    elapsed_s: float = 0.0

    @property
    def verdict(self) -> str:
        """The matrix's verdict when everything else agrees, else the problems found, ``+``-joined."""
        base = self.active.verdict
        if base == "error":
            return base
        words = set(base.split("+")) | set(self.held.problems if self.held else [])
        if self.watch is not None and self.watch.verdict in WATCH_WORDS:
            words.add(WATCH_WORDS[self.watch.verdict])
        if self.watch_error:
            words.add("unverified")
        return "+".join(w for w in PROBLEMS if w in words) or base

    @property
    def ok(self) -> bool:
        """True only when the matrix, every held session and the watch all prove the target."""
        return self.verdict in ("cut-confirmed", "normal-ok")

    @property
    def leaking_exits(self) -> list[str]:
        """Exits named by a leaking probe, a surviving session or a watched leak flow."""
        exits = [*self.active.leaking_exits, *(self.held.leaking_exits if self.held else [])]
        exits += [str(f["exit"]) for f in (self.watch.flows if self.watch else [])]
        return list(dict.fromkeys(exits))

    @property
    def summary(self) -> str:
        """The matrix's paragraph under the joint verdict, then the held sessions and the watch."""
        lines = self.active.summary.splitlines()
        lines[0] = self.verdict + lines[0].removeprefix(self.active.verdict)
        if self.held is not None:
            lines += self.held.summary_lines()
        if self.watch is not None:
            lines += ["  " + ln for ln in self.watch.summary.splitlines()]
        if self.watch_error:
            lines.append(f"  watch could not run: {self.watch_error}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The matrix's document with the joint verdict, the held sessions and the watch report."""
        doc = self.active.to_dict()
        doc.update(verdict=self.verdict, ok=self.ok, summary=self.summary, leaking_exits=self.leaking_exits,
                   elapsed_s=round(self.elapsed_s, 3))
        if self.held is not None:
            doc.update(self.held.details())
        if self.watch is not None:
            doc.update(watch=self.watch.to_dict(), watch_ok=self.watch.ok)
        elif self.watch_error:
            doc.update(watch_ok=False, watch_error=self.watch_error)
        return doc


@dataclass
class _Watch:
    """The watch in a thread; ``started`` once every capture point opened its ring (or failed)."""

    names: int
    seen: set[str] = field(default_factory=set)
    started: threading.Event = field(default_factory=threading.Event)
    report: WatchReport | None = None
    error: str | None = None

    def on_event(self, event: dict[str, Any]) -> None:
        if event.get("event") in ("start", "error"):
            self.seen.add(str(event.get("capture")))
            if len(self.seen) >= self.names:
                self.started.set()

    def run(self, site: Site, target: str, seconds: float, prefix: ExecPrefix | None) -> None:
        from egressctl.verify.watch.session import watch_site

        try:
            self.report = watch_site(site, target, seconds, exec_prefix=prefix, on_event=self.on_event)
        except Exception as exc:  # the watch's failure is a verdict (unverified), never a crash
            self.error = describe(exc)
        finally:
            self.started.set()


def prove(site: Site, policy: Policy, *, active: Callable[..., ActiveReport] | None = None,
          exec_prefix: ExecPrefix | None = None, held: HeldSessions | None = None,
          watch_seconds: float = 0.0, timeout: float = 1.0) -> Proof:
    """Prove ``policy`` on ``site`` right after a change (see the module docstring).

    ``active``: the probe matrix's runner (default ``verify_active``); ``held``: sessions opened before
    the change (marked now, judged after the matrix); ``watch_seconds``: the passive watch on every
    capture point (0: none).
    """
    t0 = time.monotonic()
    if held is not None:
        held.mark()
    watch: _Watch | None = None
    thread: threading.Thread | None = None
    if watch_seconds > 0 and site.captures:
        watch = _Watch(len(site.captures))
        thread = threading.Thread(target=watch.run, daemon=True,
                                  args=(site, policy.target, watch_seconds, exec_prefix))
        thread.start()
        watch.started.wait(WATCH_START)
    run = active or probe_active.verify_active
    matrix = run(site, policy.target, timeout=timeout, exec_prefix=exec_prefix, policy=policy)
    if thread is not None:
        thread.join(watch_seconds + 90)
    proof = Proof(matrix, held.collect() if held is not None else None,
                  watch.report if watch else None, watch.error if watch else None)
    if watch is not None and watch.report is None and watch.error is None:
        proof.watch_error = "the watch did not finish in time"
    proof.elapsed_s = time.monotonic() - t0
    return proof
