"""Drive ``egressctl tui`` in a real terminal (tmux) on the lab and keep what the screen showed.

Not a pytest module (about two minutes, needs root and tmux). Run it as::

    python tests/egressctl/tui/tmux_drive.py [--out artifacts/tui] [--sizes 80x24,200x50]

For each size it brings the TUI up in a detached tmux session of exactly that size, types the keys an
operator would (``tmux send-keys``), and after each step saves ``tmux capture-pane -p`` (plain text, ``.txt``)
and ``-e`` (with colour escapes, ``.ansi``) into ``OUT/WxH/NN-step.*``: sites, site, plan modal, operation
running, operation done, watch, site isolated, history, restore modal (next stage), stage reached, full
restore (typed name, then the second question), normal again. The lab is its own (prefix ``tl-``, loopback
ports from 23900, a temporary state directory) and is torn down at the end, also on failure.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


class Term:
    """One detached tmux session running the TUI at a fixed size."""

    def __init__(self, name: str, width: int, height: int, command: str, out: Path) -> None:
        self.name, self.out, self.n = name, out, 0
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*"):
            old.unlink()
        self._tmux("kill-session", "-t", name, check=False)
        self._tmux("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), command)
        self._tmux("set-option", "-t", name, "remain-on-exit", "on")

    def _tmux(self, *args: str, check: bool = True) -> str:
        res = subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=20, check=False)
        if check and res.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {res.stderr.strip()}")
        return res.stdout

    def text(self, escapes: bool = False) -> str:
        return self._tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", self.name)

    def keys(self, *keys: str) -> None:
        for key in keys:  # one at a time, like fingers (and so a modal opening mid-burst loses nothing)
            self._tmux("send-keys", "-t", self.name, key)
            time.sleep(0.05)

    def wait(self, *needles: str, timeout: float = 90.0, gone: str | None = None) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.text()
            if all(n in screen for n in needles) and (gone is None or gone not in screen):
                return screen
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: waited {timeout}s for {needles}; screen:\n{screen}")
            time.sleep(0.2)

    def save(self, step: str) -> None:
        self.n += 1
        base = self.out / f"{self.n:02d}-{step}"
        base.with_suffix(".txt").write_text(self.text())
        base.with_suffix(".ansi").write_text(self.text(escapes=True))
        print(f"  saved {base.relative_to(ROOT) if base.is_relative_to(ROOT) else base}.txt")

    def pane_dead(self) -> bool:
        return self._tmux("display-message", "-p", "-t", self.name, "#{pane_dead}").strip() == "1"

    def close(self) -> None:
        self._tmux("kill-session", "-t", self.name, check=False)


def confirm(term: Term) -> None:
    """Type the site's name in the modal that just opened."""
    term.wait("Type the site name")
    term.keys("l", "a", "b", "Enter")


def drive(term: Term) -> None:
    """One operator session: isolate, watch, restore a stage, restore fully."""
    term.wait("lab", "site(s)")
    term.save("sites")
    term.keys("Enter")
    term.wait("Devices", "ce-b", " up ")
    time.sleep(1.0)
    term.save("site-normal")
    term.keys("i")
    term.wait("Type the site name", "Target: isolated")
    term.save("isolate-plan")
    term.keys("l", "a", "b", "Enter")
    term.wait("running")
    time.sleep(1.0)
    term.save("isolate-running")
    term.wait("state isolated", timeout=180)
    time.sleep(0.5)
    term.save("isolate-done")
    term.keys("w")
    term.wait("watch", "packets")
    time.sleep(2.0)
    term.save("watch")
    term.keys("Escape")
    term.keys("Escape")
    term.wait("site is isolated", "Devices")
    time.sleep(1.0)
    term.save("site-isolated")
    term.keys("h")
    term.wait("audit chain intact", "DeviceStep")
    term.save("history")
    term.keys("Escape")
    term.wait("Devices")
    term.keys("n")
    term.wait("Type the site name", "Target: ministry")
    term.save("restore-ministry-plan")
    term.keys("l", "a", "b", "Enter")
    term.wait("state stage:ministry", timeout=180)
    term.save("restore-ministry-done")
    term.keys("Escape")
    term.wait("stage:ministry", "Devices")
    time.sleep(1.0)
    term.save("site-ministry")
    term.keys("f")
    confirm(term)
    term.wait("Full restore of lab")
    term.save("full-restore-second-question")
    term.keys("y")
    term.wait("state normal", timeout=180)
    term.save("full-restore-done")
    term.keys("Escape")
    term.wait("normal", "Devices")
    time.sleep(1.0)
    term.save("site-normal-again")
    # quitting with the watch still running must not hang on it: the watch child and its agents stop
    term.keys("w")
    term.wait("watching")
    term.keys("Escape")
    term.wait("Devices")
    started = time.monotonic()
    term.keys("q")
    while term.pane_dead() is False:
        if time.monotonic() - started > 15:
            raise TimeoutError(f"{term.name}: the TUI did not exit within 15 s of q (watch running)")
        time.sleep(0.1)
    print(f"  quit with the watch running: exited in {time.monotonic() - started:.1f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "tui")
    ap.add_argument("--sizes", default="80x24,200x50")
    args = ap.parse_args()
    from egressctl_lab import Lab

    state = Path(tempfile.mkdtemp(prefix="tl-tmux-"))
    lab = Lab(ROOT / "inventory" / "lab.yaml", prefix="tl-", port_base=23900, state_dir=state)
    try:
        lab.up()
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.split("x"))
            command = " ".join(
                shlex.quote(a)
                for a in [
                    "env",
                    f"EGRESSCTL_STATE_DIR={state}",
                    "TERM=xterm-256color",
                    sys.executable,
                    "-m",
                    "egressctl.cli.main",
                    "-i",
                    str(lab.inventory_path),
                    "--state-dir",
                    str(state),
                    "tui",
                ]
            )
            print(f"{size}: {command}")
            term = Term(f"tl-tui-{size}", width, height, command, args.out / size)
            try:
                drive(term)
            finally:
                term.close()
    finally:
        lab.down()
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
