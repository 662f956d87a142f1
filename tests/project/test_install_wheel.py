"""The wheel, installed the way a user installs it, used from outside the repository.

The wheel is built from a copy of the sources, then installed into fresh virtual environments without
system site packages, its dependencies at the constraints.txt pins:

* without the lab extra (``pip install egressctl``): ``--version``, ``--help``, ``python -m egressctl``
  and an offline ``plan`` work; asyncssh is absent and ``egressctl lab up`` says which extra it needs; with
  ``egressctl_lab`` deleted from site-packages, ``import egressctl``, ``--help`` and ``isolate --help`` still
  work (the product never needs the lab);
* with it (``pip install 'egressctl[lab]'``): ``egressctl lab up``/``status``/``down`` build the packaged lab
  site from a temporary directory, as root with the real default state directory
  (``~root/.local/state/egressctl``, where core-b's private /root once hid the lab's own files) and as an
  ordinary user (``nobody``, user-namespace mode) with the default state directory under its home, and
  with state directories under /run and /home, which the lab's private mounts once hid; each time a
  ``plan`` without ``-i`` reads every device of the running lab (its inventory comes through the registry).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import lab_available
from tests.support.lab_checks import namespaces_with, port_free, processes_mentioning  # the shared lab checks

ROOT = Path(__file__).resolve().parents[2]
VERSION = "0.1.0"
DEVICES = ("fw-a", "ce-a", "core-b", "fw-b", "ce-b")
#: What the build reads (setup.py etc. only when present: another change adds optional C extensions).
SOURCES = ("pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in", "README.md", "LICENSE",
           "egressctl", "drivers", "lab")
#: Variables that would move the state directory or the inventory away from their defaults.
NOT_DEFAULT = ("EGRESSCTL_STATE_DIR", "XDG_STATE_HOME", "EGRESSCTL_INVENTORY", "EGRESSCTL_LAB_MODE",
               "EGRESSCTL_LAB_PREFIX")

pytestmark = [pytest.mark.slow]


def run(argv: list[str], *, timeout: float = 180, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload,no-any-return]


def clean_env(bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_DEFAULT}
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """World-readable (nobody runs the lab venv), outside the repository."""
    path = Path(tempfile.mkdtemp(prefix="pk-install-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def wheel(workdir: Path) -> Path:
    src = workdir / "src"
    src.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "build", "*.egg-info")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=skip)
        elif (ROOT / name).is_file():
            shutil.copy2(ROOT / name, src / name)
    dist = workdir / "dist"
    out = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)],
              timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    (built,) = dist.glob("egressctl-*.whl")
    return built


def make_venv(path: Path, requirement: str) -> Path:
    """A fresh isolated venv with ``requirement`` installed at the pinned versions; returns its bin/."""
    made = run([sys.executable, "-m", "venv", str(path)], timeout=120)
    assert made.returncode == 0, made.stderr
    assert "include-system-site-packages = false" in (path / "pyvenv.cfg").read_text()
    out = run([str(path / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
               "-c", str(ROOT / "constraints.txt"), requirement], timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return path / "bin"


@pytest.fixture(scope="module")
def product(workdir: Path, wheel: Path) -> Path:
    """``pip install egressctl``: no lab extra."""
    return make_venv(workdir / "product", str(wheel))


@pytest.fixture(scope="module")
def with_lab(workdir: Path, wheel: Path) -> Path:
    """``pip install 'egressctl[lab]'``."""
    return make_venv(workdir / "lab", f"{wheel}[lab]")


def egressctl(bin_dir: Path, *args: str, cwd: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return run([str(bin_dir / "egressctl"), *args], cwd=cwd, env=clean_env(bin_dir), **kw)


# -- the product, without the lab extra ----------------------------------------------------------------


def test_wheel_carries_the_lab_site_as_a_file(wheel: Path) -> None:
    import zipfile

    with zipfile.ZipFile(wheel) as zf:
        info = zf.getinfo("egressctl_lab/site.yaml")
        assert info.file_size > 1000 and b"sites:" in zf.read(info)
        assert (info.external_attr >> 28) != 0o12  # a regular file, not a symlink entry
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in zf.namelist())


def test_version_and_help(product: Path, tmp_path: Path) -> None:
    helped = egressctl(product, "--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    for command in ("isolate", "restore", "plan", "verify", "status", "history"):
        assert command in helped.stdout
    version = egressctl(product, "--version", cwd=tmp_path)
    assert version.returncode == 0 and VERSION in version.stdout, version.stdout + version.stderr


def test_python_m_egressctl(product: Path, tmp_path: Path) -> None:
    out = run([str(product / "python"), "-m", "egressctl", "--help"], cwd=tmp_path, env=clean_env(product))
    assert out.returncode == 0 and "isolate" in out.stdout, out.stderr


def test_offline_plan_outside_the_repository(product: Path, tmp_path: Path) -> None:
    shutil.copy(ROOT / "inventory" / "lab.yaml", tmp_path / "site.yaml")
    out = egressctl(product, "-i", "site.yaml", "--state-dir", str(tmp_path / "state"), "plan", "lab",
                    "--to", "isolated", "--offline", cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    for device in DEVICES:
        assert device in out.stdout


def test_lab_without_its_extra_says_so(product: Path, tmp_path: Path) -> None:
    probe = run([str(product / "python"), "-c", "import importlib.util as u; print(u.find_spec('asyncssh'))"])
    assert probe.stdout.strip() == "None", "asyncssh must come with the lab extra only"
    out = egressctl(product, "--state-dir", str(tmp_path / "state"), "lab", "up", cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "egressctl[lab]" in out.stderr and "Traceback" not in out.stderr


def test_product_works_with_no_lab_at_all(product: Path, tmp_path: Path) -> None:
    """Issue 11: ``import egressctl`` and ``isolate --help`` work with no egressctl_lab and no asyncssh."""
    site = Path(run([str(product / "python"), "-c", "import egressctl_lab; print(egressctl_lab.__path__[0])"],
                    cwd=tmp_path).stdout.strip())
    aside = tmp_path / "egressctl_lab.aside"
    shutil.move(site, aside)
    try:
        code = ("import importlib.util as u, egressctl, egressctl.cli.main, egressctl.registry as r\n"
                "assert u.find_spec('egressctl_lab') is None and u.find_spec('asyncssh') is None\n"
                "assert r.netns_exec() is r.plain_netns_exec and r.default_inventory() is None\n"
                "print(egressctl.__version__)")
        imported = run([str(product / "python"), "-c", code], cwd=tmp_path, env=clean_env(product))
        assert imported.returncode == 0 and VERSION in imported.stdout, imported.stderr
        helped = egressctl(product, "--help", cwd=tmp_path)
        assert helped.returncode == 0 and " lab " not in helped.stdout, helped.stdout + helped.stderr
        isolate = egressctl(product, "isolate", "--help", cwd=tmp_path)
        assert isolate.returncode == 0 and "--dry-run" in isolate.stdout, isolate.stderr
    finally:
        shutil.move(aside, site)


# -- the lab from the installed wheel, with every default and wherever its state directory is ----------

Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


def _lab_is_up(state: Path) -> bool:
    try:
        doc = json.loads((state / "lab" / "lab.json").read_text())
    except (OSError, ValueError):
        return False
    pid = doc.get("keeper_pid")
    return isinstance(pid, int) and Path(f"/proc/{pid}").exists()


def _kill(described: list[str]) -> None:
    """SIGKILL processes a failed ``lab down`` left (``processes_mentioning`` lines: ``PID: cmdline``)."""
    for line in described:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(line.split(":", 1)[0]), 9)


@contextlib.contextmanager
def leaves_no_trace(state: Path) -> Iterator[None]:
    """Remove afterwards what the test created in ``state`` (the default directory is shared: only that)."""
    lab_created = not (state / "lab").exists()
    secret_created = not (state / "lab" / "secret").exists()
    journal_created = not (state / "journal.db").exists()
    state_created = not state.exists()
    try:
        yield
    finally:
        if lab_created:
            shutil.rmtree(state / "lab", ignore_errors=True)
        elif secret_created:
            (state / "lab" / "secret").unlink(missing_ok=True)
        for suffix in ("", "-wal", "-shm") if journal_created else ():
            (state / f"journal.db{suffix}").unlink(missing_ok=True)
        if state_created:
            with contextlib.suppress(OSError):  # kept when something else wrote there meanwhile
                state.rmdir()


def lab_cycle(runner: Runner, cli: list[str], prefix: str, ports: int, state: Path, mode: str) -> None:
    """``lab up``, ``lab status``, a ``plan`` without ``-i`` that reads every device, ``lab down`` (always).

    Whatever a failure leaves (processes, namespaces) is removed, then reported.
    """
    try:
        up = runner([*cli, "lab", "up", "--prefix", prefix, "--port-base", str(ports)])
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        status = runner([*cli, "lab", "status", "--json"])
        assert status.returncode == 0, status.stdout + status.stderr
        doc = json.loads(status.stdout)
        assert doc["up"] and doc["mode"] == mode and doc["state_dir"] == str(state), doc
        plan = runner([*cli, "plan", "lab", "--to", "isolated"])
        assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]
        assert all(device in plan.stdout for device in DEVICES), plan.stdout
    finally:
        down = runner([*cli, "lab", "down"])
        leftovers = processes_mentioning(str(state))
        _kill(leftovers)
        for name in namespaces_with(prefix):
            run(["ip", "netns", "del", name], timeout=30)
    assert down.returncode == 0, down.stdout + down.stderr
    assert leftovers == [] and namespaces_with(prefix) == []
    assert all(port_free(ports + i) for i in range(len(DEVICES)))


def as_root(env: dict[str, str], cwd: Path) -> Runner:
    return lambda argv: run(argv, cwd=cwd, env=env)


def as_ordinary_user(env: dict[str, str], home: Path) -> Runner:
    """Commands as ``nobody`` with ``home`` as HOME (runuser resets it to /nonexistent; a login sets it)."""
    from tests.lab.test_userns_lab import _usable, as_nobody

    reason = _usable()
    if reason:
        pytest.skip(reason)
    return lambda argv: as_nobody(["env", f"HOME={home}", *argv], env, cwd=home)


@pytest.fixture
def nobody_home() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="pk-home-", dir="/tmp"))
    home.chmod(0o755)
    os.chown(home, 65534, 65534)
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.mark.lab
def test_lab_as_root_with_the_default_state_directory(with_lab: Path, tmp_path: Path) -> None:
    if not lab_available():
        pytest.skip("needs root and network namespaces")
    home = pwd.getpwuid(0).pw_dir
    state = Path(home) / ".local" / "state" / "egressctl"
    if _lab_is_up(state):
        pytest.skip(f"a lab is up in the default state directory {state}; not touching it")
    with leaves_no_trace(state):
        lab_cycle(as_root({**clean_env(with_lab), "HOME": home}, tmp_path), [str(with_lab / "egressctl")],
                  "pka-", 23660, state, "root")


@pytest.mark.lab
def test_lab_as_an_ordinary_user_with_the_default_state_directory(with_lab: Path, nobody_home: Path) -> None:
    state = nobody_home / ".local" / "state" / "egressctl"
    runner = as_ordinary_user(clean_env(with_lab), nobody_home)
    lab_cycle(runner, [str(with_lab / "egressctl")], "pkb-", 23680, state, "userns")


@pytest.mark.lab
@pytest.mark.parametrize(("mode", "parent", "prefix", "ports"), [
    ("root", "/run", "pkc-", 23640),     # core-b's private tmpfs /run once hid it
    ("root", "/home", "pkd-", 23650),    # core-b's lab /home is bound over the host's
    ("userns", "/run", "pke-", 23690),   # the keeper's private tmpfs /run once hid it
])
def test_lab_whatever_the_state_directory(with_lab: Path, nobody_home: Path, mode: str, parent: str,
                                          prefix: str, ports: int) -> None:
    if mode == "root" and not lab_available():
        pytest.skip("needs root and network namespaces")
    base = Path(tempfile.mkdtemp(prefix="pk-state-", dir=parent))
    try:
        state = base / "state"
        env = {**clean_env(with_lab), "EGRESSCTL_STATE_DIR": str(state)}
        if mode == "userns":
            os.chown(base, 65534, 65534)
            runner = as_ordinary_user(env, nobody_home)
        else:
            runner = as_root(env, nobody_home)
        lab_cycle(runner, [str(with_lab / "egressctl")], prefix, ports, state, mode)
    finally:
        shutil.rmtree(base, ignore_errors=True)
