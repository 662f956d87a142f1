"""``egressctl verify SITE --pcap FILE`` without building the command line: a capture check that starts fast.

Why: scripts, CI jobs and the TUI check captures again and again, and before a packet was read the typer
application (options converted through pydantic), the inventory's YAML and models, the policy compilation
and rich cost about 0.3 s, against tcpdump's 0.004 s (issue 13: under 0.15 s). This module answers one
narrow command line itself: global ``-i/--inventory`` and ``--state-dir``, then ``verify SITE --pcap FILE``
with optional ``--stage NAME``, ``--json``, ``--junit FILE`` and ``--beacons-csv FILE``, each at most once,
in any order (and ``--version`` alone). Anything else (``--help``, another option, a value that looks like
an option, a completion request) goes to the full command line, and so does every case this module is not
sure about: :func:`run` returns None before it has printed or changed anything (a missing file, an
inventory that does not load, an unknown site or stage, a journal that cannot be read or whose state
cannot be verified against, a file that is no capture), and the full path runs as if this one had never
been tried. An error after output began (a JUnit file that cannot be written) is reported as the full
path's error handler reports it.

The site's compiled policies come from :mod:`egressctl.verify.capture.policy_cache`, keyed by the
inventory's bytes; on a miss the inventory is loaded and validated in full. Lines, documents, files and
exit codes are made by the same functions as on the full path (``tests/egressctl/cli/test_fastpath.py``
runs both paths over many command lines and compares them).
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from egressctl.exitcodes import ExitCode

if TYPE_CHECKING:
    from egressctl.inventory.models import Site
    from egressctl.verify.beacon import BeaconReport
    from egressctl.verify.capture.offline import CaptureReport
    from egressctl.verify.matcher import CompiledPolicy

    #: A site's compiled policy per target.
    Compiled = dict[str, CompiledPolicy]

_GLOBAL = {"-i": "inventory", "--inventory": "inventory", "--state-dir": "state_dir"}
_VERIFY = {"--pcap": "pcap", "--stage": "stage", "--junit": "junit", "--beacons-csv": "beacons_csv"}


@dataclass
class Request:
    """The command line this module answers (see the module docstring)."""

    site: str
    pcap: str
    inventory: str | None = None
    state_dir: str | None = None
    stage: str | None = None
    json: bool = False
    junit: str | None = None
    beacons_csv: str | None = None


def _value(token: str, following: list[str], names: dict[str, str]) -> tuple[str, str, int] | None:
    """``(field, value, tokens used)`` of an option that takes a value, or None when it is not one.

    Values must be non-empty and must not start with ``-`` (click would take them as values too, but an
    option's name mistaken for a value is an error the full path reports).
    """
    name, eq, inline = token.partition("=")
    if name not in names or (eq and not name.startswith("--")):
        return None
    value, used = (inline, 1) if eq else ((following[0], 2) if following else ("", 1))
    if not value or value.startswith("-"):
        return None
    return names[name], value, used


def parse(argv: list[str]) -> Request | None:
    """The request in ``argv`` (``sys.argv[1:]``), or None when the full command line must handle it."""
    fields: dict[str, str] = {}
    i = 0
    while i < len(argv) and argv[i] != "verify":
        got = _value(argv[i], argv[i + 1:i + 2], _GLOBAL)
        if got is None or got[0] in fields:
            return None
        fields[got[0]] = got[1]
        i += got[2]
    rest, positional, as_json = argv[i + 1:], [], False
    j = 0
    while j < len(rest):
        arg = rest[j]
        if arg == "--json" and not as_json:
            as_json, j = True, j + 1
        elif not arg.startswith("-"):
            positional.append(arg)
            j += 1
        elif (got := _value(arg, rest[j + 1:j + 2], _VERIFY)) is not None and got[0] not in fields:
            fields[got[0]] = got[1]
            j += got[2]
        else:
            return None
    if i >= len(argv) or len(positional) != 1 or not positional[0] or "pcap" not in fields:
        return None
    return Request(site=positional[0], json=as_json, **fields)


def _completing() -> bool:
    """Shell completion runs through the full command line (click reads ``_PROG_COMPLETE``)."""
    return any(k.startswith("_") and (k.endswith("_COMPLETE") or k.startswith("_TYPER_")) for k in os.environ)


def run(argv: list[str]) -> int | None:
    """Handle ``argv`` and return the exit code, or None (nothing done) for the full command line."""
    if _completing():
        return None
    if argv == ["--version"]:  # the root's eager --version, as app._version prints it
        from egressctl import __version__
        from egressctl.cli import stdout

        stdout.write(f"egressctl {__version__}\n")
        return int(ExitCode.OK)
    req = parse(argv)
    if req is None:
        return None
    try:
        rep = _Check(req).analyze()
        if rep is None:
            return None
        _report(rep, req)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")  # what the full path's error handler prints
        return int(ExitCode.INTERRUPTED)
    except _Printing as exc:
        return _failed(exc.__cause__ or exc)
    except Exception:
        return None  # before any output: the full path meets the same problem and reports it
    return int(ExitCode.OK if rep.ok else ExitCode.VERIFY_FAILED)


class _Printing(Exception):
    """An error raised while the report was being printed: too late to hand the command line over."""


def _failed(exc: BaseException) -> int:
    """What the full path's ``reported_errors`` does with ``exc`` (its modules are loaded only now)."""
    if os.environ.get("EGRESSCTL_DEBUG") == "1":
        raise exc
    from rich.text import Text

    from egressctl.cli.common import err_console, exit_code_for, problem_lines

    console = err_console()
    for line in problem_lines(exc):
        console.print(Text(line))
    return int(exit_code_for(exc))


def _readable_file(path: str) -> bool:
    """What click checks of ``--pcap`` (``exists=True, dir_okay=False, readable=True``)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return False
    return not stat.S_ISDIR(st.st_mode) and os.access(path, os.R_OK)


class _Check:
    """One ``verify --pcap`` run; each step returns None when the full path must take over."""

    def __init__(self, req: Request) -> None:
        self.req = req
        if req.state_dir is not None:
            self.state_dir = Path(req.state_dir)
        else:
            from egressctl.inventory.credentials import state_dir

            self.state_dir = state_dir()

    def inventory(self) -> Path | None:
        """``-i``, ``$EGRESSCTL_INVENTORY`` or ``./inventory/lab.yaml`` (a plugin's default: full path)."""
        if self.req.inventory is not None:
            return Path(self.req.inventory)
        env = os.environ.get("EGRESSCTL_INVENTORY")
        if env:
            return Path(env)
        local = Path("inventory/lab.yaml")
        return local if local.is_file() else None

    def policies(self, inventory: Path) -> Compiled | None:
        """The site's compiled policy per target: cached, else from a full load (then cached)."""
        from egressctl.verify.capture import policy_cache

        try:
            raw = inventory.read_bytes()
        except OSError:
            return None
        key = policy_cache.key(raw)
        found = policy_cache.load(self.state_dir, key, self.req.site)
        return found if found is not None else _load(raw, str(inventory), self.req.site, self.state_dir, key)

    def target(self, known: Compiled) -> str | None:
        """``--stage``, else the state the journal records (opened as the engine opens it)."""
        if self.req.stage is not None:
            return self.req.stage if self.req.stage in known else None
        if not (self.state_dir.is_dir() and os.access(self.state_dir, os.W_OK | os.X_OK)):
            return None  # the full path creates it, or says why it cannot
        state = _journal_state(self.state_dir, self.req.site)
        if state is None:
            return None
        target = state.removeprefix("stage:")
        verifiable = target in ("isolated", "normal") or state.startswith("stage:")
        return target if verifiable and target in known else None

    def analyze(self) -> CaptureReport | None:
        """The capture's report, or None when the full path must run (see the module docstring)."""
        inventory = self.inventory()
        if not _readable_file(self.req.pcap) or inventory is None:
            return None
        known = self.policies(inventory)
        target = self.target(known) if known is not None else None
        if known is None or target is None:
            return None
        from egressctl.verify.capture.offline import analyze_compiled

        return analyze_compiled(Path(self.req.pcap), known[target], self.req.site, target)


def _journal_state(state_dir: Path, site: str) -> str | None:
    """``Journal(state_dir).site_state(site)`` without importing the rest of the journal; None on error.

    The database is opened by the journal's own :class:`~egressctl.journal.db.Database` (schema, WAL,
    private files), exactly as the engine opens it.
    """
    from egressctl.journal.db import Database

    try:
        db = Database(state_dir / "journal.db")
    except Exception:
        return None
    try:
        rows = db.query("SELECT state FROM sites WHERE site=?", (site,))
    except Exception:
        return None
    finally:
        db.close()
    return str(rows[0]["state"]) if rows else "normal"


def _load(raw: bytes, filename: str, site: str, state_dir: Path, key: str) -> Compiled | None:
    """Load and validate the inventory in full, compile every site's targets, cache them; ``site``'s."""
    from egressctl.inventory.loader import decode, parse_inventory
    from egressctl.registry import BUILTIN
    from egressctl.verify.capture import policy_cache

    try:
        inventory = parse_inventory(decode(raw, filename), filename)
    except Exception:
        return None
    found = {s.name: _compile(s) for s in inventory.sites}
    compiled = {name: targets for name, targets in found.items() if targets is not None}
    if all(d.platform in BUILTIN for s in inventory.sites for d in s.devices):
        policy_cache.store(state_dir, key, compiled)
    return compiled.get(site)


def _compile(site: Site) -> Compiled | None:
    """Every target of ``site`` compiled, or None when one cannot be (its checks take the full path)."""
    from egressctl.verify.capture import policy_cache

    try:
        return policy_cache.compile_site(site)
    except Exception:
        return None


def _report(rep: CaptureReport, req: Request) -> None:
    """Write and print what ``verify_cmd`` does; an error is raised as :class:`_Printing`."""
    try:
        _publish(rep, req)
    except Exception as exc:
        raise _Printing from exc


def _publish(rep: CaptureReport, req: Request) -> None:
    """The beacons CSV, the report (``verify_cmd._pcap``'s lines or document), then the JUnit file."""
    from egressctl.verify.beacon import BeaconReport

    beacons = BeaconReport.from_capture(rep)
    if req.beacons_csv is not None:
        _beacons_csv(beacons, Path(req.beacons_csv))
    doc = rep.to_dict()
    if req.json:
        from egressctl.cli import jsonout

        jsonout.emit(jsonout.VERIFY_CAPTURE, doc, indent=None)
    else:
        from egressctl.cli.consoles import print_lines
        from egressctl.verify.capture.offline import report_lines

        lines = report_lines(doc)
        if rep.leak_flows:
            lines.append((beacons.text(), ""))
        print_lines(lines)
    if req.junit is not None:
        from egressctl.cli import junit

        junit.write(Path(req.junit), [junit.capture_suite(doc)])


def _beacons_csv(beacons: BeaconReport, path: Path) -> None:
    """``verify_cmd._beacons_csv``: the CSV, or the same usage error."""
    from egressctl.errors import InputError

    try:
        beacons.to_csv(path)
    except OSError as exc:
        raise InputError(f"--beacons-csv {path}: cannot write it: {exc.strerror or exc}") from exc
