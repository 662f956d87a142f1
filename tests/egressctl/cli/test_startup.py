"""Start-up stays lazy (issue 13): which heavy modules each fast command path must not import.

Structural, never timed: a fresh interpreter runs the console entry point with the given arguments and
reports ``sys.modules``; each test names the modules that path must not have loaded. A module-level import
added to a command module (or to a module every command imports) shows up here as the module it dragged
in, which is the regression ``bench/startup_bench.py`` would only show as a slower median.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import egressctl
from egressctl import registry
from egressctl.cli.main import app

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "inventory" / "lab.yaml"

#: Run the console script's ``main`` in-process, then write the loaded module names to argv[1] as JSON.
#: argv[2] == "no-plugins" hides the registered command groups (the product's own modules only).
PROBE = """
import json, sys
out, plugins, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
if plugins == "no-plugins":
    import egressctl.registry
    egressctl.registry.command_names = lambda: []
from egressctl.cli.main import main
sys.argv = ["egressctl", *argv]
try:
    main()
except SystemExit:
    pass
with open(out, "w") as f:
    json.dump(sorted(sys.modules), f)
"""

#: Never needed to describe the command line: numbers, packets, SSH, the TUI, the inventory, the journal.
HEAVY = ("numpy", "scapy", "netmiko", "paramiko", "textual", "yaml", "sqlite3", "egressctl.engine",
         "egressctl.inventory.loader", "egressctl.inventory.models", "egressctl.journal", "egressctl.planner",
         "egressctl.executor", "egressctl.policy", "egressctl.verify", "egressctl.tui", "egressctl_drivers")
#: typer (0.29) coerces every option value of a command that runs through a pydantic TypeAdapter, so
#: pydantic is typer's own cost as soon as a sub-command runs (its ``--help`` included); the root's
#: ``--help`` and ``--version`` run no coercion and must not import it.
TYPER_RUNTIME = ("pydantic", "pydantic_core")
#: Device, probe and TUI stacks a capture check never uses (the engine, which reads the journal's state
#: when no ``--stage`` is given, imports its executor; it never imports a driver).
NOT_FOR_A_CAPTURE = ("scapy", "netmiko", "paramiko", "textual", "egressctl_drivers", "egressctl.tui",
                     "egressctl.verify.probe", "egressctl_lab")


def loaded(tmp_path: Path, *argv: str, plugins: bool = True) -> tuple[set[str], str]:
    """The modules a fresh ``egressctl ARGV`` process had loaded when it exited, and its stdout."""
    out = tmp_path / "modules.json"
    res = subprocess.run([sys.executable, "-c", PROBE, str(out), "plugins" if plugins else "no-plugins",
                          *argv], capture_output=True, text=True, check=False, cwd=tmp_path, timeout=60)
    assert out.is_file(), res.stderr
    return set(json.loads(out.read_text())), res.stdout


def present(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` (or a submodule of one) were imported."""
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


@pytest.fixture
def empty_pcap(tmp_path: Path) -> Path:
    """A capture with a pcap global header and no packets."""
    path = tmp_path / "empty.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    return path


def test_help_imports_no_heavy_module(tmp_path: Path) -> None:
    """Plugins' help lines load their apps (the lab's), which print with rich only when they run."""
    modules, out = loaded(tmp_path, "--help")
    assert present(modules, (*HEAVY, *TYPER_RUNTIME, "rich")) == []
    assert "isolate" in out and "Exit codes:" in out


def test_help_of_the_product_alone_needs_neither_rich_nor_metadata(tmp_path: Path) -> None:
    """Without plugins, ``--help`` is typer and the command modules' signatures, nothing else."""
    modules, _ = loaded(tmp_path, "--help", plugins=False)
    assert present(modules, (*HEAVY, *TYPER_RUNTIME, "rich", "importlib.metadata", "egressctl_lab")) == []


def test_version_loads_no_plugin_and_no_metadata(tmp_path: Path) -> None:
    modules, out = loaded(tmp_path, "--version")
    assert out == f"egressctl {egressctl.__version__}\n"
    assert present(modules, (*HEAVY, *TYPER_RUNTIME, "rich", "importlib.metadata", "egressctl_lab")) == []


@pytest.mark.parametrize("command", ["isolate", "verify", "status"])
def test_a_commands_help_loads_no_plugin(tmp_path: Path, command: str) -> None:
    """Not even to find the default inventory (no ``-i`` here, and no ./inventory/lab.yaml)."""
    modules, out = loaded(tmp_path, command, "--help")
    assert "Usage:" in out
    assert present(modules, (*HEAVY, "rich", "egressctl_lab")) == []


def test_capture_check_with_a_stage_needs_no_engine(tmp_path: Path, empty_pcap: Path) -> None:
    modules, _ = loaded(tmp_path, "-i", str(LAB), "--state-dir", str(tmp_path / "state"), "verify", "lab",
                        "--pcap", str(empty_pcap), "--stage", "isolated")
    assert "egressctl.verify.capture.offline" in modules  # it did run
    assert present(modules, (*NOT_FOR_A_CAPTURE, "egressctl.engine", "egressctl.journal",
                             "egressctl.executor")) == []


def test_capture_check_against_the_journal(tmp_path: Path, empty_pcap: Path) -> None:
    modules, _ = loaded(tmp_path, "-i", str(LAB), "--state-dir", str(tmp_path / "state"), "verify", "lab",
                        "--pcap", str(empty_pcap))
    assert {"egressctl.verify.capture.offline", "egressctl.journal"} <= modules
    assert present(modules, NOT_FOR_A_CAPTURE) == []


#: What a capture check never imports once the site's compiled policy is cached (the fast path, which is
#: what makes a 0-packet ``verify --pcap`` take well under 0.15 s): the CLI framework, the inventory's YAML
#: and models, the policy computation, rich (the output is a pipe here), numpy, the journal's store.
NOT_FOR_A_CACHED_CHECK = ("typer", "click", "pydantic", "rich", "yaml", "numpy", "importlib.metadata",
                          "egressctl.cli.app", "egressctl.cli.common", "egressctl.inventory.loader",
                          "egressctl.inventory.models", "egressctl.policy", "egressctl.engine",
                          "egressctl.journal.store", "egressctl.registry")


@pytest.mark.parametrize("extra", [[], ["--json"], ["--stage", "isolated"]])
def test_a_cached_capture_check_needs_no_framework(tmp_path: Path, empty_pcap: Path,
                                                   extra: list[str]) -> None:
    argv = ["-i", str(LAB), "--state-dir", str(tmp_path / "state"), "verify", "lab", "--pcap",
            str(empty_pcap)]
    loaded(tmp_path, *argv)  # the first run creates the state directory (the full path)
    # The next fills the cache. The key holds every module's size and time, so a module of the package
    # edited meanwhile (a shared working tree) makes a miss: a few tries.
    for _ in range(3):
        loaded(tmp_path, *argv)
        modules, out = loaded(tmp_path, *argv, *extra)
        if not present(modules, NOT_FOR_A_CACHED_CHECK):
            break
    assert "unverified" in out
    assert present(modules, NOT_FOR_A_CACHED_CHECK) == []


def test_version_is_the_installed_one() -> None:
    """``--version`` prints ``egressctl.__version__`` (no metadata read): it must be the package's."""
    assert egressctl.__version__ == version("egressctl")


# -- plugin command groups, loaded when named -----------------------------------------------------------

def _fake_groups(monkeypatch: pytest.MonkeyPatch, groups: dict[str, typer.Typer | None]) -> list[str]:
    """Register ``groups`` as the installed plugins (None: one that cannot be imported); log the loads."""
    loads: list[str] = []

    def command_group(name: str) -> typer.Typer | None:
        loads.append(name)
        return groups.get(name)

    monkeypatch.setattr(registry, "command_names", lambda: list(groups))
    monkeypatch.setattr(registry, "command_group", command_group)
    return loads


def _fake_app() -> typer.Typer:
    fake = typer.Typer(help="A fake plugin group.", no_args_is_help=True)

    @fake.command()
    def hello(name: str) -> None:
        """Say hello."""
        typer.echo(f"hello {name}")

    @fake.command()
    def bye() -> None:
        """Say bye."""

    return fake


def test_plugin_groups_are_listed_and_run(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = _fake_groups(monkeypatch, {"fake": _fake_app(), "broken": None, "plan": _fake_app()})
    res = CliRunner().invoke(app, ["fake", "hello", "you"])
    assert (res.exit_code, res.stdout) == (0, "hello you\n")
    helped = CliRunner().invoke(app, ["--help"]).stdout
    assert "fake" in helped and "A fake plugin group." in helped
    assert "broken" not in helped  # a plugin that cannot be imported is left out, as before
    assert "Show what reaching a target would send" in helped  # a plugin never hides a built-in
    assert "plan" not in loads


def test_a_built_in_command_loads_no_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = _fake_groups(monkeypatch, {"fake": _fake_app()})
    assert CliRunner().invoke(app, ["--version"]).exit_code == 0
    assert CliRunner().invoke(app, ["verify", "--help"]).exit_code == 0
    assert loads == []


def test_a_typo_suggests_plugin_groups_too(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_groups(monkeypatch, {"fake": _fake_app()})
    res = CliRunner().invoke(app, ["fak"])
    assert res.exit_code == 2 and "Did you mean 'fake'?" in res.output
