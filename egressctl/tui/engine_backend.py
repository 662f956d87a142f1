"""The TUI's backend over the real engine: the same calls the CLI makes, shaped for the screens.

Every method here blocks (journal, SSH, packets) and is only ever called from a thread worker.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from egressctl.engine import Engine
from egressctl.policy import opened_by, targets
from egressctl.tui.backend import Doc, EventCallback
from egressctl.tui.child import EngineProcess
from egressctl.tui.proof import verification_rows
from egressctl.tui.watch_totals import WatchTotals


def _target_of(state: str) -> str:
    """The target a site state stands for (``stage:x`` -> ``x``)."""
    return state.removeprefix("stage:")


class EngineBackend:
    """Adapts :class:`egressctl.engine.Engine` to :class:`egressctl.tui.backend.Backend`."""

    def __init__(
        self, inventory: Path | str | None, *, state_dir: Path | None = None, revert_in: int = 120
    ) -> None:
        path = inventory or os.environ.get("EGRESSCTL_INVENTORY") or "inventory/lab.yaml"
        self.engine = Engine(path, state_dir=state_dir)
        self.revert_in = revert_in
        self.child = EngineProcess(Path(path), state_dir)
        self.watcher = EngineProcess(Path(path), state_dir)
        self._lock = threading.Lock()  # one journal connection, shared by workers

    def sites(self) -> list[Doc]:
        """The estate: every site of the inventory, its state, last verdict and last operation."""
        with self._lock:
            out = []
            for ov in self.engine.sites_overview():
                st = self.engine.status(ov.site)
                ver, op = st.verification or {}, st.operation
                out.append(
                    {
                        "name": ov.site,
                        "state": ov.state,
                        "target": _target_of(ov.state),
                        "devices": ov.devices,
                        "last_verdict": ver.get("verdict"),
                        "last_verified_at": ver.get("at"),
                        "last_operation": f"{op.kind} {op.outcome or op.status}" if op else None,
                        "last_operation_at": op.started if op else None,
                        "lock_owner": ov.locked_by,
                    }
                )
            return out

    def site(self, name: str) -> Doc:
        """Status plus a read-only plan against the current target (device reachability and state)."""
        with self._lock:
            st = self.engine.status(name)
            site = self.engine.site(name)
            entries = [self._entry(e.to_dict()) for e in self.engine.history(name, limit=80)]
        settled = st.state in ("normal", "isolated") or st.state.startswith("stage:")
        # mid-operation or after a partial failure, what the site was being taken to
        target = _target_of(st.state) if settled else (st.operation.target if st.operation else "isolated")
        devices = self._devices(name, target, site)
        ver = dict(st.verification or {})
        details = ver.get("details") or {}
        if isinstance(details, str):
            import json

            try:
                details = json.loads(details)
            except ValueError:
                details = {}
        # probes, held-open sessions and capture liveness, all as rows of the "Last verification" table
        ver["matrix"] = verification_rows(details if isinstance(details, dict) else {})
        return {
            "name": name,
            "state": st.state,
            "target": target,
            "explanation": st.hint,
            "lock_owner": st.lock.owner if st.lock else None,
            "stages": [{"name": s.name, "description": s.description} for s in site.stages],
            "devices": devices,
            "verification": ver,
            "journal": entries,
        }

    def _devices(self, name: str, target: str, site: Any) -> list[Doc]:
        if self.child.running():
            # an operation (or a verification) is running: reading every device here (SSH in this
            # process) would take the interpreter lock from the screen for seconds, and they are busy
            return [{"name": d.name, "platform": d.platform, "exit": d.exit, "safety_net": "",
                     "reachable": None, "error": "", "target": "not read: egressctl busy", "pending": False}
                    for d in site.devices]
        try:
            plan = self.engine.plan(name, target)
            by_name = {d.device: d for d in plan.devices}
        except Exception:  # unreachable devices still get a row
            by_name = {}
        rows = []
        for dev in site.devices:
            p = by_name.get(dev.name)
            rows.append(
                {
                    "name": dev.name,
                    "platform": dev.platform,
                    "exit": dev.exit,
                    "safety_net": p.safety_net if p else "",
                    "reachable": bool(p and not p.error),
                    "error": (p.error or "") if p else "state not read",
                    "target": (p.current_target if p else None) or "unknown",
                    "pending": bool(p and p.pending_commit),
                }
            )
        return rows

    @staticmethod
    def _entry(e: Doc) -> Doc:
        payload = e.get("payload") or {}
        detail = " ".join(
            str(payload[k])
            for k in ("step", "status", "detail", "outcome", "verdict", "target")
            if payload.get(k)
        )
        if payload.get("to"):  # site-state rows
            detail = f"{payload.get('from', '?')} -> {payload['to']}"
        return {
            "at": e.get("at"),
            "op_id": e.get("op_id"),
            "event": e.get("kind"),
            "device": payload.get("device"),
            "status": payload.get("status"),
            "detail": detail,
        }

    def _settled_target(self, name: str) -> str:
        """The target a site stands at; mid-operation or after a partial failure, the operation's target."""
        with self._lock:
            st = self.engine.status(name)
        if st.state in ("normal", "isolated") or st.state.startswith("stage:"):
            return _target_of(st.state)
        if st.operation is not None:
            return st.operation.target
        return "isolated"  # fail-closed: judge an unexplained state against the cut

    def targets(self, name: str) -> list[str]:
        """Targets from most closed to fully open."""
        return targets(self.engine.site(name))

    def plan(self, name: str, target: str) -> Doc:
        """The plan, plus what the change opens compared with the current state."""
        with self._lock:
            current = _target_of(self.engine.status(name).state)
        doc = self.engine.plan(name, target).to_dict()
        site = self.engine.site(name)
        if current in targets(site) and target != "isolated":
            doc["opens"] = [r.name for r in opened_by(site, current, target)]
        return doc

    def apply(self, name: str, target: str, on_event: EventCallback) -> Doc:
        """Run the operation in a child ``egressctl`` (see :mod:`egressctl.tui.child`), streaming events."""
        if target == "isolated":
            args = ["isolate", name]
        elif target == "normal":
            args = ["restore", name, "--full"]
        else:
            args = ["restore", name, "--stage", target]
        result: Doc = {}

        def on_doc(doc: Doc) -> None:
            if doc.get("event") == "result":
                result.update({k: v for k, v in doc.items() if k != "event"})
            else:
                on_event(doc)

        code, err = self.child.run([*args, "--yes", "--json", "--revert-in", str(self.revert_in)], on_doc)
        if result:
            return result
        with self._lock:
            state = self.engine.journal_state(name)
        return {
            "outcome": "failed",
            "state": state,
            "exit_code": code,
            "message": err or f"the engine process exited {code} without a result",
        }

    def interrupt(self) -> bool:
        """Stop the running operation before its next commit (what Ctrl-C does in the CLI)."""
        return self.child.interrupt()

    def check(self, name: str) -> Doc:
        """The preflight document (``egressctl check --json``'s), read-only, in this worker thread."""
        return self.engine.check(name).to_dict()

    def verify(self, name: str) -> Doc:
        """Active verification of the current state (in a child, like an operation)."""
        docs: list[Doc] = []
        code, err = self.child.run(["verify", name, "--json"], docs.append)
        if not docs:
            raise RuntimeError(err or f"verification exited {code} without a result")
        return docs[-1]

    def history(self, name: str) -> list[Doc]:
        """Journal entries of the site."""
        with self._lock:
            return [self._entry(e.to_dict()) for e in self.engine.history(name)]

    def verify_history(self) -> Doc:
        """Audit chain check."""
        with self._lock:
            chk = self.engine.verify_history()
        return {"ok": chk.ok, "message": chk.message or f"{chk.rows} entries"}

    def watch(self, name: str, seconds: float, on_update: EventCallback, target: str | None = None) -> Doc:
        """Live leak watch with running totals across capture points, paced (see :mod:`watch_totals`)."""
        totals = WatchTotals(target or self._settled_target(name), on_update)
        # in a child of its own (``egressctl verify --watch --json``): off the UI's interpreter lock, and
        # stoppable with its capture agents when the operator quits (see stop_watch)
        args = ["verify", name, "--watch", f"{seconds:g}", "--stage", totals.target, "--json"]
        code, err = self.watcher.run(args, totals.on_event)
        if not totals.report:
            raise RuntimeError(err or f"the watch exited {code} without a report")
        return totals.final()

    def stop_watch(self) -> bool:
        """Stop a running watch and its capture agents (when the operator quits)."""
        return self.watcher.stop()
