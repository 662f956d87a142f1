"""Shell completion of site, stage, target and device names (egressctl.cli.complete).

Three levels: the callbacks called directly with a context; typer's completion machinery in-process (what
the shell protocol runs); and the bash protocol end to end in a subprocess (``_EGRESSCTL_COMPLETE``,
``COMP_WORDS``, ``COMP_CWORD``), which also shows that nothing but the values reaches the terminal.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer._completion_classes import BashComplete
from typer.main import get_command

from egressctl.cli import complete
from egressctl.cli.main import app

ROOT = Path(__file__).resolve().parents[3]
HOSPITAL = ROOT / "inventory" / "examples" / "hospital.yaml"
STAGES = ["ministry", "allowlist", "web"]
DEVICES = ["fgt-primary", "isr-backup", "pa-research"]


@pytest.fixture
def two_sites(tmp_path: Path) -> Path:
    """The hospital inventory with a second site, ``chn2``, that has only its first stage and device."""
    data: dict[str, Any] = yaml.safe_load(HOSPITAL.read_text())
    other = copy.deepcopy(data["sites"][0])
    other.update(name="chn2", description="second site", stages=other["stages"][:1],
                 devices=other["devices"][:1], vantage_points=other["vantage_points"][:1],
                 captures=other["captures"][:1])
    data["sites"].append(other)
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(autouse=True)
def _no_ambient_inventory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Completion reads $EGRESSCTL_INVENTORY and ./inventory/lab.yaml: keep the developer's out."""
    monkeypatch.delenv("EGRESSCTL_INVENTORY", raising=False)
    monkeypatch.chdir(tmp_path)


def _ctx(root_inventory: Path | None = None, **params: Any) -> typer.Context:
    """A command context under a root one (``-i root_inventory``), as click builds them while completing."""
    root = typer.Context(get_command(app), info_name="egressctl")
    root.params = {"inventory": root_inventory, "state_dir": None}
    sub = typer.Context(get_command(app), parent=root, info_name="cmd")
    sub.params = params
    return sub


def _values(items: list[tuple[str, str]]) -> list[str]:
    return [value for value, _ in items]


# --- the callbacks, called directly -------------------------------------------------------------------

def test_sites_come_from_the_inventory_given_with_i(two_sites: Path) -> None:
    assert _values(complete.sites(_ctx(two_sites), "")) == ["chn", "chn2"]
    assert _values(complete.sites(_ctx(two_sites), "chn2")) == ["chn2"]
    assert _values(complete.sites(_ctx(two_sites), "x")) == []
    assert complete.sites(_ctx(two_sites), "")[1] == ("chn2", "second site")  # help for zsh and fish


def test_sites_follow_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGRESSCTL_INVENTORY", str(HOSPITAL))
    assert _values(complete.sites(_ctx(), "")) == ["chn"]


def test_a_commands_own_inventory_option_wins(two_sites: Path) -> None:
    """``verify --inventory FILE`` and ``tui -i FILE`` name their own inventory."""
    ctx = _ctx(two_sites, inventory=HOSPITAL)
    assert _values(complete.sites(ctx, "")) == ["chn"]


def test_stages_and_devices_of_the_named_site(two_sites: Path) -> None:
    assert _values(complete.stages(_ctx(two_sites, site="chn"), "")) == STAGES
    assert _values(complete.stages(_ctx(two_sites, site="chn2"), "")) == ["ministry"]
    assert _values(complete.stages(_ctx(two_sites, site="chn"), "a")) == ["allowlist"]
    assert _values(complete.devices(_ctx(two_sites, site="chn"), "")) == DEVICES
    assert _values(complete.devices(_ctx(two_sites, site="chn2"), "")) == ["fgt-primary"]


def test_devices_already_given_are_not_offered_again() -> None:
    ctx = _ctx(HOSPITAL, site="chn", device=("isr-backup",))
    assert _values(complete.devices(ctx, "")) == ["fgt-primary", "pa-research"]


def test_targets_run_from_isolated_through_the_stages_to_normal() -> None:
    assert _values(complete.targets(_ctx(HOSPITAL, site="chn"), "")) == ["isolated", *STAGES, "normal"]
    assert _values(complete.targets(_ctx(HOSPITAL, site="chn"), "n")) == ["normal"]


def test_without_a_site_only_a_single_site_inventory_answers(two_sites: Path) -> None:
    assert _values(complete.stages(_ctx(HOSPITAL), "")) == STAGES
    assert complete.stages(_ctx(two_sites), "") == []
    assert complete.devices(_ctx(two_sites, site="nowhere"), "") == []
    assert complete.targets(_ctx(two_sites, site="nowhere"), "") == []


@pytest.mark.parametrize("content", [None, "version: 1\nsites: [\n", "version: 1\nsites: []\n", "\xff\xfe"])
def test_a_missing_or_broken_inventory_completes_nothing_silently(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None) -> None:
    path = tmp_path / "broken.yaml"
    if content is not None:
        path.write_text(content, encoding="latin-1")
    for callback in (complete.sites, complete.stages, complete.targets, complete.devices):
        assert callback(_ctx(path, site="chn"), "") == []
    assert capsys.readouterr() == ("", "")


def test_an_unexpected_error_or_stray_print_stays_off_the_terminal(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def noisy(path: object) -> None:
        print("chatty plugin")
        print("warning: something", file=sys.stderr)
        raise RuntimeError("a bug")

    monkeypatch.setattr("egressctl.inventory.loader.load_inventory", noisy)
    assert complete.sites(_ctx(HOSPITAL), "") == []
    assert capsys.readouterr() == ("", "")


# --- typer's completion machinery, in-process -------------------------------------------------------

def _complete(*words: str) -> list[str]:
    """What bash would be offered for the last word of ``egressctl WORDS...``."""
    completer = BashComplete(get_command(app), {}, "egressctl", "_EGRESSCTL_COMPLETE")
    return [item.value for item in completer.get_completions(list(words[:-1]), words[-1])]


@pytest.mark.parametrize("command", ["isolate", "restore", "plan", "status", "verify", "unlock", "history",
                                     "tui"])
def test_every_command_that_takes_a_site_completes_it(two_sites: Path, command: str) -> None:
    assert _complete("-i", str(two_sites), command, "") == ["chn", "chn2"]
    assert _complete("-i", str(two_sites), command, "chn2") == ["chn2"]


def test_options_complete_from_the_site_on_the_command_line(two_sites: Path) -> None:
    inv = ["-i", str(two_sites)]
    assert _complete(*inv, "restore", "chn", "--stage", "") == STAGES
    assert _complete(*inv, "restore", "chn2", "-s", "") == ["ministry"]
    assert _complete(*inv, "restore", "--yes", "chn2", "--stage", "") == ["ministry"]
    assert _complete(*inv, "isolate", "chn", "--device", "") == DEVICES
    assert _complete(*inv, "isolate", "chn", "-d", "fgt-primary", "--device", "") == DEVICES[1:]
    assert _complete(*inv, "restore", "chn", "--device", "pa") == ["pa-research"]
    assert _complete(*inv, "plan", "chn", "--device", "i") == ["isr-backup"]
    assert _complete(*inv, "plan", "chn", "--to", "") == ["isolated", *STAGES, "normal"]
    assert _complete(*inv, "verify", "chn2", "--stage", "") == ["isolated", "ministry", "normal"]
    assert _complete("verify", "--inventory", str(HOSPITAL), "chn", "--stage", "w") == ["web"]


# --- the bash protocol, end to end --------------------------------------------------------------------

def _bash(cwd: Path, *words: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``egressctl`` as bash's completion function does: COMP_WORDS, COMP_CWORD, complete_bash."""
    line = " ".join(["egressctl", *words])
    run_env = {k: v for k, v in os.environ.items() if k != "EGRESSCTL_INVENTORY"}
    run_env.update({"_EGRESSCTL_COMPLETE": "complete_bash", "COMP_WORDS": line,
                    "COMP_CWORD": str(len(words)), **(env or {})})
    code = "import sys; sys.argv[0] = 'egressctl'; from egressctl.cli.main import main; main()"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=run_env, capture_output=True,
                          text=True, timeout=60)


def test_bash_protocol_end_to_end(tmp_path: Path, two_sites: Path) -> None:
    done = _bash(tmp_path, "-i", str(two_sites), "restore", "chn", "--stage", "")
    assert (done.returncode, done.stdout.split(), done.stderr) == (0, STAGES, "")
    done = _bash(tmp_path, "isolate", "c", env={"EGRESSCTL_INVENTORY": str(two_sites)})
    assert (done.returncode, done.stdout.split(), done.stderr) == (0, ["chn", "chn2"], "")


def test_bash_protocol_with_a_broken_inventory_prints_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nsites:\n  - name: [unclosed\n")
    done = _bash(tmp_path, "-i", str(broken), "isolate", "")
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "", "")


def test_importing_the_helpers_loads_no_inventory_code() -> None:
    """The CLI imports this module at start-up: the inventory is read only when completion runs."""
    code = ("import sys; import egressctl.cli.complete; "
            "print(' '.join(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'yaml', 'rich') "
            "or m.startswith('egressctl.inventory')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "")
