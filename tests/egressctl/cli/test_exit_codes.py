"""One exit-code table, used everywhere: each command and situation, and a closed stdout changes nothing.

Scripts act on these codes, so a usage or input problem (a bad --state-dir, a missing --pcap file, an
unresolvable credential) must never look like "verification failed" (3) or "needs attention" (5), and a
plan that could not read a device must not look like success.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from egressctl.cli.main import app
from egressctl.errors import CommitError, ConnectError
from egressctl.exitcodes import MEANING, ExitCode, help_text, markdown_table
from tests.egressctl.cli.test_harness import ROOT, Cli, leak_capture, make_cli

SSH_VANTAGE = """
    vantage_points:
      - name: ws2
        exit: primary
        ssh_host: 10.10.1.12
        ssh_user: probe
        credential: env:EGTEST_VP_UNSET
        addresses: [10.10.1.12]
"""


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return make_cli(tmp_path, monkeypatch)


def bad_state_dir(cli: Cli) -> None:
    blocker = cli.state.parent / "a-file"
    blocker.write_text("not a directory")
    cli.state = blocker / "state"


def no_device_password(cli: Cli) -> None:
    cli.env["EGTEST_PASSWORD"] = None


def unreadable_device(cli: Cli) -> None:
    cli.net.fail[("dev2", "open")] = ConnectError("dev2", "connection refused")


def ssh_vantage_point(cli: Cli) -> None:
    cli.inventory.write_text(cli.inventory.read_text() + SSH_VANTAGE)


def broken_inventory(cli: Cli) -> None:
    cli.inventory.write_text(cli.inventory.read_text().replace("port: 24001", "port: not-a-port"))


def missing_inventory(cli: Cli) -> None:
    cli.inventory = cli.inventory.parent / "nowhere.yaml"


def locked(cli: Cli) -> None:
    from egressctl.journal import Journal

    j = Journal(cli.state)
    j.acquire_lock("hq", f"{socket.gethostname()}:1", "someone")
    j.close()


def partial(cli: Cli) -> None:
    cli.net.fail[("dev2", "commit")] = CommitError("dev2", "refused")


def nothing(cli: Cli) -> None:
    return None


def not_a_capture(cli: Cli) -> None:
    (cli.state.parent / "junk.pcap").write_text("this is not a capture file\n" * 10)


def leak(cli: Cli) -> None:
    leak_capture(cli.state.parent / "leak.pcap")


TMP = "{tmp}"
CASES: list[tuple[str, Callable[[Cli], None], tuple[str, ...], ExitCode]] = [
    ("status ok", nothing, ("status", "hq"), ExitCode.OK),
    ("bad option value", nothing, ("isolate", "hq", "--revert-in", "1"), ExitCode.USAGE),
    ("unknown site", nothing, ("isolate", "nosuch", "--yes"), ExitCode.USAGE),
    ("unknown target", nothing, ("plan", "hq", "--to", "bogus"), ExitCode.USAGE),
    ("watch out of range", nothing, ("verify", "hq", "--watch", "0", "--stage", "isolated"), ExitCode.USAGE),
    ("state dir under a file: status", bad_state_dir, ("status", "hq"), ExitCode.USAGE),
    ("state dir under a file: isolate", bad_state_dir, ("isolate", "hq", "--yes"), ExitCode.USAGE),
    ("state dir under a file: history", bad_state_dir, ("history",), ExitCode.USAGE),
    ("missing --pcap file", nothing, ("verify", "hq", "--pcap", f"{TMP}/none.pcap", "--stage", "isolated"),
     ExitCode.USAGE),
    ("--pcap not a capture", not_a_capture, ("verify", "hq", "--pcap", f"{TMP}/junk.pcap", "--stage",
                                             "isolated"), ExitCode.USAGE),
    ("unwritable --junit", leak, ("verify", "hq", "--pcap", f"{TMP}/leak.pcap", "--stage", "isolated",
                                  "--junit", f"{TMP}/no/such/dir/r.xml"), ExitCode.USAGE),
    ("device credential: plan", no_device_password, ("plan", "hq", "--to", "isolated"), ExitCode.USAGE),
    ("device credential: isolate", no_device_password, ("isolate", "hq", "--yes"), ExitCode.USAGE),
    ("device credential: dry-run", no_device_password, ("isolate", "hq", "--dry-run"), ExitCode.USAGE),
    ("vantage credential: verify", ssh_vantage_point, ("verify", "hq"), ExitCode.USAGE),
    ("vantage credential: verify --stage", ssh_vantage_point, ("verify", "hq", "--stage", "isolated"),
     ExitCode.USAGE),
    ("malformed probe plan", nothing, ("probe", "--plan", f"{TMP}/none.json"), ExitCode.USAGE),
    ("inventory error", broken_inventory, ("plan", "hq", "--to", "isolated", "--offline"), ExitCode.USAGE),
    ("inventory missing", missing_inventory, ("status", "hq"), ExitCode.USAGE),
    ("offline plan needs no credential", no_device_password, ("plan", "hq", "--to", "isolated", "--offline"),
     ExitCode.OK),
    ("plan, a device unreadable", unreadable_device, ("plan", "hq", "--to", "isolated"),
     ExitCode.PLAN_INCOMPLETE),
    ("isolate --dry-run, a device unreadable", unreadable_device, ("isolate", "hq", "--dry-run"),
     ExitCode.PLAN_INCOMPLETE),
    ("restore --dry-run, a device unreadable", unreadable_device, ("restore", "hq", "--full", "--dry-run"),
     ExitCode.PLAN_INCOMPLETE),
    ("capture with a leak", leak, ("verify", "hq", "--pcap", f"{TMP}/leak.pcap", "--stage", "isolated"),
     ExitCode.VERIFY_FAILED),
    ("locked", locked, ("isolate", "hq", "--yes"), ExitCode.LOCKED),
    ("partial", partial, ("isolate", "hq", "--yes"), ExitCode.PARTIAL),
    ("check ok", nothing, ("check", "hq"), ExitCode.OK),
    ("check, a device unreachable", unreadable_device, ("check", "hq"), ExitCode.CHECK_FAILED),
    ("check, no device credential", no_device_password, ("check", "hq"), ExitCode.CHECK_FAILED),
    ("check, unknown site", nothing, ("check", "nosuch"), ExitCode.USAGE),
]


@pytest.mark.parametrize(("setup", "argv", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_exit_code(cli: Cli, tmp_path: Path, setup: Callable[[Cli], None], argv: tuple[str, ...],
                   code: ExitCode) -> None:
    setup(cli)
    res = cli(*(a.replace(TMP, str(tmp_path)) for a in argv))
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output and "error: KeyError" not in res.output
    assert "internal error" not in res.output
    if code in (ExitCode.USAGE, ExitCode.LOCKED):
        assert cli.net.mutations() == []


def test_credential_problems_are_named_together(cli: Cli) -> None:
    no_device_password(cli)
    res = cli("isolate", "hq", "--yes")
    assert res.stderr.splitlines()[0] == "error: credentials cannot be resolved:"
    assert sum("environment variable EGTEST_PASSWORD is not set" in ln for ln in res.stderr.splitlines()) == 4
    assert sum(cli.net.opens.values()) == 0


def test_interrupted_is_130(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def stop(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("egressctl.engine.Engine.plan", stop)
    res = cli("plan", "hq", "--to", "isolated")
    assert res.exit_code == ExitCode.INTERRUPTED and res.stderr.strip() == "interrupted"


def test_rolled_back_is_1(cli: Cli) -> None:
    assert cli("isolate", "hq", "--yes", "--no-verify").exit_code == ExitCode.OK
    cli.net.fail[("dev3", "confirm")] = CommitError("dev3", "refused")
    assert cli("restore", "hq", "--stage", "ministry", "--yes").exit_code == ExitCode.ROLLED_BACK


def test_one_table_everywhere() -> None:
    assert set(MEANING) == set(ExitCode)
    text = help_text()
    for code in ExitCode:
        assert f"  {code.value:<4} {MEANING[code]}" in text
        assert f"| {code.value} | {MEANING[code]} |" in markdown_table()
    for argv in (["--help"], ["isolate", "--help"], ["plan", "--help"], ["verify", "--help"]):
        out = CliRunner().invoke(app, argv).output
        assert all(f"{code.value:<4} {MEANING[code]}" in out for code in ExitCode), argv
    assert max(len(ln) for ln in text.splitlines()) <= 106  # fits the 110-column help unwrapped


def run_closed(argv: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m egressctl ARGV`` with stdout a pipe whose reader is gone before anything is written."""
    env = {**os.environ, "EGRESSCTL_STATE_DIR": str(tmp / "state")}
    proc = subprocess.Popen([sys.executable, "-m", "egressctl", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head -c0`: the reader is gone before the first write
    err = proc.stderr.read()
    return subprocess.CompletedProcess(argv, proc.wait(timeout=120), "", err)


@pytest.mark.parametrize(("extra", "code"), [([], 3), (["--json"], 3), (["--json", "--stage", "normal"], 0)])
def test_closed_stdout_keeps_the_exit_code(tmp_path: Path, extra: list[str], code: int) -> None:
    cli = Cli(make_inventory(tmp_path), tmp_path / "state")
    cap = leak_capture(tmp_path / "leak.pcap")
    stage = [] if "--stage" in extra else ["--stage", "isolated"]
    res = run_closed(["-i", str(cli.inventory), "verify", "hq", "--pcap", str(cap), *stage, *extra], tmp_path)
    assert res.returncode == code, res.stderr
    assert "Error" not in res.stderr and "Exception" not in res.stderr, res.stderr


def test_closed_stdout_on_a_long_listing(tmp_path: Path) -> None:
    inv = make_inventory(tmp_path)
    res = run_closed(["-i", str(inv), "plan", "hq", "--to", "isolated", "--offline"], tmp_path)
    assert res.returncode == 0 and not res.stderr, res.stderr


def make_inventory(tmp: Path) -> Path:
    from tests.egressctl.cli.test_harness import special_inventory

    return special_inventory(tmp)


def test_version_and_python_m(tmp_path: Path) -> None:
    expected = f"egressctl {version('egressctl')}\n"
    assert CliRunner().invoke(app, ["--version"]).stdout == expected
    out = subprocess.run([sys.executable, "-m", "egressctl", "--version"], capture_output=True, text=True,
                         check=False, cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, expected)
    helped = subprocess.run([sys.executable, "-m", "egressctl", "--help"], capture_output=True, text=True,
                            check=False, cwd=ROOT)
    assert helped.returncode == 0 and "Exit codes:" in helped.stdout and "isolate" in helped.stdout
    assert helped.stdout.startswith("Usage: python -m egressctl [OPTIONS] COMMAND")
    for cmd in ("isolate", "restore", "plan", "status", "history", "unlock", "verify", "probe", "tui"):
        assert f"  {cmd} " in helped.stdout


def test_malformed_probe_plan_is_a_usage_error(cli: Cli) -> None:
    res = cli("probe", "--json", input='{"version": 1, "probes": [{"id": 1}]}')
    assert res.exit_code == ExitCode.USAGE and res.stderr.startswith("error: --plan -: malformed probe plan")
