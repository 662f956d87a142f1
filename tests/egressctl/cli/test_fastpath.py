"""The fast path of ``verify --pcap`` (issue 13) answers exactly as the full command line does.

Each command line runs in fresh interpreters: once through the typer application alone (what the console
script ran before the fast path existed) and twice through the console script's ``main`` (a cold policy
cache, then a warm one). stdout, stderr and the exit code must be identical, once the analysis's own timing
(``elapsed_s``, packets per second) is blanked. Every run has its own copy of the same files, named by the
same relative paths, so messages that name a file read the same. Each case also says which path must have
answered, so a fast path that silently stops applying (or applies where it must not) fails too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from egressctl.cli.fastpath import Request, _Check, parse
from egressctl.journal import Journal

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "inventory" / "lab.yaml"

RUN = """
import json, sys
out, mode, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.argv = ["egressctl", *argv]
code = 0
try:
    if mode == "fast":
        from egressctl.cli.main import main
        main()
    else:
        from egressctl.cli import stdout
        stdout.install()
        from egressctl.cli.app import app
        app()
except SystemExit as exc:
    code = exc.code
finally:
    with open(out, "w") as f:
        json.dump({"full": "egressctl.cli.app" in sys.modules}, f)
raise SystemExit(code)
"""


def frame(src: str, dst: str, sport: int, dport: int) -> bytes:
    """An Ethernet/IPv4/TCP frame."""
    ip = bytes([0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0]) + bytes(map(int, src.split("."))) + bytes(
        map(int, dst.split(".")))
    return b"\x02" * 12 + b"\x08\x00" + ip + struct.pack(">HH", sport, dport) + bytes(16)


def pcap(*frames: bytes) -> bytes:
    """A little-endian pcap file of ``frames``."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, f in enumerate(frames):
        out += struct.pack("<IIII", 1000 + i, 0, len(f), len(f)) + f
    return out


LEAK = frame("10.10.1.11", "192.0.2.80", 4321, 80)  # blocked when isolated
ALLOWED = frame("10.10.1.11", "203.0.113.10", 4322, 443)  # cert-vpn-tls: always allowed
FILES = {
    "empty.pcap": pcap(),
    "leak.pcap": pcap(ALLOWED, LEAK, LEAK, frame("10.10.1.12", "198.51.100.7", 999, 8443)),
    "clean.pcap": pcap(ALLOWED, ALLOWED),
    "capture-\u00e9t\u00e9.pcap": pcap(ALLOWED, LEAK),
    "tab\there.pcap": pcap(ALLOWED, LEAK),
    "truncated.pcap": pcap(ALLOWED, LEAK)[:-20],
    "garbage.pcap": b"this is not a capture file at all\n" * 4,
    "broken.yaml": b"sites:\n  - name: lab\n    inside: [10.0.0.0/8\n",
}


@dataclass
class Case:
    """One command line, the journal state it meets and whether the fast path must answer it."""

    argv: list[str]
    fast: bool
    state: str | None = "normal"  # None: no state directory; "file": a file where it should be
    env: dict[str, str] = field(default_factory=dict)


V = ["-i", "inv.yaml", "--state-dir", "state", "verify", "lab"]
CASES = {
    "journal-normal": Case([*V, "--pcap", "empty.pcap"], True),
    "json": Case([*V, "--pcap", "leak.pcap", "--json"], True),
    "stage": Case([*V, "--pcap", "empty.pcap", "--stage", "isolated"], True),
    "stage-json-leak": Case([*V, "--pcap", "leak.pcap", "--stage", "ministry", "--json"], True),
    "journal-isolated-leak": Case([*V, "--pcap", "leak.pcap"], True, "isolated"),
    "journal-isolated-clean": Case([*V, "--pcap", "clean.pcap"], True, "isolated"),
    "journal-stage": Case([*V, "--pcap", "leak.pcap"], True, "stage:ministry"),
    "truncated": Case([*V, "--pcap", "truncated.pcap", "--stage", "isolated"], True),
    "reordered": Case(["--state-dir", "state", "--inventory", "inv.yaml", "verify", "--pcap", "leak.pcap",
                       "--json", "lab", "--stage", "isolated"], True),
    "equals-forms": Case(["--inventory=inv.yaml", "--state-dir=state", "verify", "lab", "--pcap=leak.pcap",
                          "--stage=isolated"], True),
    "environment": Case(["verify", "lab", "--pcap", "leak.pcap"], True, "isolated",
                        {"EGRESSCTL_INVENTORY": "inv.yaml", "EGRESSCTL_STATE_DIR": "state"}),
    "default-inventory": Case(["verify", "lab", "--pcap", "leak.pcap"], True, "isolated",
                              {"EGRESSCTL_STATE_DIR": "state", "EGRESSCTL_INVENTORY": ""}),
    "forced-colour": Case([*V, "--pcap", "leak.pcap"], True, "isolated", {"FORCE_COLOR": "1"}),
    "non-ascii-name": Case([*V, "--pcap", "capture-\u00e9t\u00e9.pcap", "--stage", "isolated"], True),
    "tab-in-name": Case([*V, "--pcap", "tab\there.pcap", "--stage", "isolated"], True),
    "junit-and-csv": Case([*V, "--pcap", "leak.pcap", "--junit", "out.xml", "--beacons-csv", "b.csv"], True,
                          "isolated"),
    "junit-clean": Case([*V, "--pcap", "clean.pcap", "--stage", "isolated", "--junit", "out.xml"], True),
    "csv-unwritable": Case([*V, "--pcap", "leak.pcap", "--stage", "isolated", "--beacons-csv", "no/b.csv"],
                           True),
    # Errors after output began: too late to fall back, reported alike.
    "junit-unwritable": Case([*V, "--pcap", "leak.pcap", "--stage", "isolated", "--junit", "no/out.xml"],
                             True),
    "unencodable-name": Case([*V, "--pcap", "capture-\u00e9t\u00e9.pcap", "--stage", "isolated"], True,
                             env={"PYTHONIOENCODING": "ascii"}),
    "version": Case(["--version"], True),
    # Everything below is the full path's to answer: same output, same code.
    "missing-pcap": Case([*V, "--pcap", "nothing.pcap"], False),
    "pcap-is-a-directory": Case([*V, "--pcap", "state", "--stage", "isolated"], False),
    "unknown-site": Case([*V[:-1], "nosuch", "--pcap", "empty.pcap"], False),
    "unknown-stage": Case([*V, "--pcap", "empty.pcap", "--stage", "nosuch"], False),
    "empty-site": Case([*V[:-1], "", "--pcap", "empty.pcap"], False),
    "pcap-twice": Case([*V, "--pcap", "empty.pcap", "--pcap", "leak.pcap"], False),
    "json-twice": Case([*V, "--pcap", "empty.pcap", "--json", "--json"], False),
    "pcap-without-value": Case([*V, "--pcap"], False),
    "option-as-value": Case([*V, "--pcap", "--json"], False),
    "unknown-option": Case([*V, "--pcap", "empty.pcap", "--foo"], False),
    "watch-and-pcap": Case([*V, "--pcap", "empty.pcap", "--watch", "5"], False),
    "timeout": Case([*V, "--pcap", "empty.pcap", "--timeout", "2"], False),
    "extra-argument": Case([*V, "more", "--pcap", "empty.pcap"], False),
    "help": Case([*V, "--pcap", "empty.pcap", "--help"], False),
    "inventory-without-value": Case(["-i"], False),
    "version-and-more": Case(["--version", "verify"], False),
    "not-a-capture": Case([*V, "--pcap", "garbage.pcap", "--stage", "isolated"], False),
    "broken-inventory": Case(["-i", "broken.yaml", *V[2:], "--pcap", "empty.pcap"], False),
    "missing-inventory": Case(["-i", "none.yaml", *V[2:], "--pcap", "empty.pcap"], False),
    "state-dir-is-a-file": Case([*V, "--pcap", "empty.pcap"], False, "file"),
    "no-state-dir-yet": Case([*V, "--pcap", "empty.pcap"], False, None),
    "journal-mixed": Case([*V, "--pcap", "empty.pcap"], False, "mixed"),
    "completion": Case([*V, "--pcap", "empty.pcap"], False, "normal",
                       {"_EGRESSCTL_COMPLETE": "complete_bash", "COMP_WORDS": "egressctl verify l",
                        "COMP_CWORD": "2"}),
}


def prepare(folder: Path, case: Case) -> Path:
    """A working directory with the inventory, the captures and the case's state directory."""
    folder.mkdir()
    shutil.copy(LAB, folder / "inv.yaml")
    (folder / "inventory").mkdir()  # ./inventory/lab.yaml: the default inventory
    shutil.copy(LAB, folder / "inventory" / "lab.yaml")
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    if case.state == "file":
        (folder / "state").write_text("not a directory\n")
    elif case.state is not None:
        journal = Journal(folder / "state")
        if case.state != "normal":
            journal.set_site_state("lab", case.state, None)
        journal.close()
    return folder


def blank_timing(text: str) -> str:
    """The output without what differs between any two runs: the analysis's elapsed time and rate."""
    text = re.sub(r'"elapsed_s": [0-9.e-]+', '"elapsed_s": 0', text)
    text = re.sub(r'"packets_per_s": [0-9.e-]+', '"packets_per_s": 0', text)
    return re.sub(r"\(\d+/s, ", "(N/s, ", text)


@dataclass
class Outcome:
    """What a run printed and returned, and whether the full command line answered it."""

    stdout: str
    stderr: str
    code: int
    full: bool


def start(folder: Path, mode: str, case: Case) -> Callable[[], Outcome]:
    """Start one run; the returned function waits for it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EGRESSCTL_", "_", "COMP_"))}
    env.update(case.env, COLUMNS="80")
    marker = folder / f".{mode}.json"
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(marker), mode, *case.argv], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def wait() -> Outcome:
        out, err = proc.communicate(timeout=120)
        full = json.loads(marker.read_text())["full"]
        return Outcome(blank_timing(out.decode(errors="replace")), blank_timing(err.decode(errors="replace")),
                       proc.returncode, full)

    return wait


def prime(folder: Path) -> None:
    """Leave the policy cache an earlier fast run would have left (when the state directory exists)."""
    inventory = folder / "inv.yaml"
    _Check(Request("lab", "x", state_dir=str(folder / "state"))).policies(inventory)


def compare(tmp_path: Path, case: Case, *, warm: bool) -> Outcome:
    """Run ``case`` on both paths side by side, assert they answered alike, return the fast path's run."""
    full = start(prepare(tmp_path / "full", case), "full", case)
    folder = prepare(tmp_path / "fast", case)
    if warm:
        prime(folder)
    fast, reference = start(folder, "fast", case)(), full()
    assert reference.full
    assert (fast.stdout, fast.stderr, fast.code) == (reference.stdout, reference.stderr, reference.code)
    assert reference.code in (0, 2, 3, 5), reference.stderr
    assert fast.full is not case.fast
    for name in WRITTEN:
        assert blank_timing(_read(tmp_path / "fast" / name)) == blank_timing(_read(tmp_path / "full" / name))
    return fast


#: Files a command line may write (JUnit: timestamps and durations are blanked).
WRITTEN = ("out.xml", "b.csv")


def _read(path: Path) -> str:
    text = path.read_text() if path.exists() else "(none)"
    text = re.sub(r'timestamp="[^"]*"', 'timestamp=""', text)
    return re.sub(r'time="[0-9.]+"', 'time=""', text)


#: Cases run in the fast tier; the others are slow (each is two or three fresh interpreters).
QUICK = {"journal-normal", "json", "stage", "stage-json-leak", "journal-isolated-leak",
         "journal-isolated-clean", "journal-stage", "truncated", "reordered", "environment", "forced-colour",
         "non-ascii-name", "missing-pcap", "unknown-site", "unknown-stage", "not-a-capture", "journal-mixed",
         "no-state-dir-yet", "unencodable-name", "junit-and-csv", "junit-unwritable"}
NAMES = [n if n in QUICK else pytest.param(n, marks=pytest.mark.slow) for n in CASES]


@pytest.mark.parametrize("name", NAMES)
def test_fast_and_full_paths_answer_alike(tmp_path: Path, name: str) -> None:
    compare(tmp_path, CASES[name], warm=True)


@pytest.mark.parametrize("name", ["journal-normal", "stage-json-leak", "journal-isolated-leak"])
def test_a_cold_cache_answers_alike_and_fills_it(tmp_path: Path, name: str) -> None:
    compare(tmp_path, CASES[name], warm=False)
    cached = list((tmp_path / "fast" / "state" / "cache").iterdir())
    assert len(cached) == 1 and cached[0].stat().st_mode & 0o777 == 0o600


def test_the_cases_cover_every_outcome() -> None:
    """Clean, leak and usage-error exits are all compared, on both paths' ground."""
    assert {c.fast for c in CASES.values()} == {True, False}
    states = {c.state for c in CASES.values()}
    assert {"normal", "isolated", "stage:ministry", "mixed", "file", None} <= states


@pytest.mark.parametrize(("argv", "expected"), [
    (["verify", "lab", "--pcap", "x"], Request("lab", "x")),
    (["-i", "a.yaml", "--state-dir", "s", "verify", "--json", "--pcap", "x", "lab", "--stage", "isolated"],
     Request("lab", "x", inventory="a.yaml", state_dir="s", stage="isolated", json=True)),
    (["--inventory=a", "--state-dir=s", "verify", "lab", "--pcap=x"],
     Request("lab", "x", inventory="a", state_dir="s")),
    (["-i", "verify", "verify", "lab", "--pcap", "x"], Request("lab", "x", inventory="verify")),
    (["verify", "lab", "--junit", "j.xml", "--pcap", "x", "--beacons-csv=b.csv"],
     Request("lab", "x", junit="j.xml", beacons_csv="b.csv")),
])
def test_parse_takes_the_narrow_command_line(argv: list[str], expected: Request) -> None:
    assert parse(argv) == expected


@pytest.mark.parametrize("argv", [
    [], ["verify"], ["verify", "lab"], ["status"], ["--help"], ["verify", "lab", "--pcap", "x", "--help"],
    ["-ia.yaml", "verify", "lab", "--pcap", "x"], ["-i=a.yaml", "verify", "lab", "--pcap", "x"],
    ["-i", "a", "-i", "b", "verify", "lab", "--pcap", "x"], ["verify", "lab", "--pcap", "x", "-i", "a"],
    ["verify", "lab", "--pcap", "-"], ["verify", "lab", "--pcap="], ["verify", "lab", "--pcap", "x", "--"],
    ["verify", "--pcap", "x"], ["verify", "lab", "lab2", "--pcap", "x"], ["lab", "verify", "--pcap", "x"],
    ["verify", "lab", "--pcap", "x", "--stage"], ["verify", "lab", "--pcap", "x", "--watch", "3"],
    ["verify", "lab", "--pcap", "x", "--json=1"], ["--state-dir", "verify", "lab", "--pcap", "x"],
])
def test_parse_leaves_everything_else_to_the_full_path(argv: list[str]) -> None:
    assert parse(argv) is None
