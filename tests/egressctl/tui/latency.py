"""Test-side probes of the TUI's responsiveness: key-to-screen latency, frame cost and UI-loop stalls.

Issue 13 asks for "no repaint over 100 ms while an operation and the watch run". Three figures answer it
from different sides, all measured inside the app's own process without changing the app:

* key to screen: a cursor key sent as the terminal driver sends it, until the first frame produced after
  the cursor moved has been turned into terminal bytes (what the operator sees);
* frame: how long producing one frame took (compositor render of the dirty widgets plus its terminal
  bytes), in wall time and in the UI thread's own CPU time: a frame whose wall time is far above its CPU
  time was waiting for a CPU (other processes), not working;
* stall: how late a 5 ms timer on the UI loop fires, i.e. how long nothing could run on the loop.

The moment the cursor moved and the moment each frame was done are recorded by hooks (a reactive watcher,
a display hook), not by polling: a poll that notices the cursor after the frame showing it would wait for
the next unrelated frame and report its delay.

Tests print these; they never assert timings unless ``EGRESSCTL_TUI_ASSERT_MS`` is set.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from typing import Any

from textual.screen import Screen
from textual.widgets import DataTable

from egressctl.tui.app import EgressApp
from egressctl.tui.grid import Grid


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank below) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def figures(values: list[float], over: float = 100.0) -> str:
    """``p50 .., p95 .., p99 .., max .., N over 100 ms`` for one series of milliseconds."""
    if not values:
        return "no samples"
    return (
        f"p50 {statistics.median(values):.1f} ms, p95 {percentile(values, 0.95):.1f} ms, "
        f"p99 {percentile(values, 0.99):.1f} ms, max {max(values):.1f} ms, "
        f"{sum(v > over for v in values)} over {over:g} ms (n={len(values)})"
    )


def load_average() -> str:
    """The machine's 1/5/15-minute load (the machine is shared: every figure is printed with it)."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


class PaintProbe:
    """Records every frame the app produces: when it was done, its wall time and its UI-thread CPU time.

    Headless runs skip the terminal write, so the probe also renders the update's terminal bytes: a frame
    includes producing what a real terminal would be sent. Use as a context manager: the frame hook is on
    ``Screen`` (every screen the app pushes) and is removed on exit.
    """

    def __init__(self, app: EgressApp) -> None:
        self.app = app
        self.done: list[float] = []
        self.frames: list[float] = []
        self.frames_cpu: list[float] = []
        self.recording = False
        self._painted = False
        self._orig_display = app._display
        self._orig_refresh = Screen._compositor_refresh

    def __enter__(self) -> PaintProbe:
        probe, app = self, self.app

        def display(screen: Any, renderable: Any) -> None:
            self._orig_display(screen, renderable)
            if renderable is not None and hasattr(renderable, "render_segments"):
                renderable.render_segments(app.console)
                probe.done.append(time.perf_counter())
                probe._painted = True

        def refresh(screen: Screen[Any]) -> None:
            t0, c0 = time.perf_counter(), time.thread_time()
            probe._painted = False
            probe._orig_refresh(screen)
            if probe._painted and probe.recording:
                probe.frames.append((time.perf_counter() - t0) * 1000)
                probe.frames_cpu.append((time.thread_time() - c0) * 1000)

        app._display = display  # type: ignore[method-assign]
        Screen._compositor_refresh = refresh  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        Screen._compositor_refresh = self._orig_refresh  # type: ignore[method-assign]
        self.app._display = self._orig_display  # type: ignore[method-assign]

    def first_after(self, t: float) -> float | None:
        """When the first frame finished after ``t`` (None: none yet)."""
        i = bisect.bisect_right(self.done, t)
        return self.done[i] if i < len(self.done) else None


class LayoutProbe:
    """Full-screen layouts (``Screen._refresh_layout``: every widget measured, placed and repainted) while
    ``recording``, with their wall time: the frames that cost tens of milliseconds instead of one."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self.recording = False
        self._orig = Screen._refresh_layout

    def __enter__(self) -> LayoutProbe:
        probe, orig = self, self._orig

        def layout(screen: Screen[Any], *args: Any, **kw: Any) -> None:
            t0 = time.perf_counter()
            orig(screen, *args, **kw)
            if probe.recording:
                probe.durations.append((time.perf_counter() - t0) * 1000)

        Screen._refresh_layout = layout  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        Screen._refresh_layout = self._orig  # type: ignore[method-assign]

    def summary(self) -> str:
        """How many, their total and the longest."""
        d = self.durations
        return f"{len(d)}, total {sum(d):.0f} ms, max {max(d, default=0):.1f} ms"


class KeyProbe:
    """Sends cursor keys to a table (DataTable or Grid) as the terminal driver would; times them to screen."""

    def __init__(self, app: EgressApp, table: DataTable[Any] | Grid, paint: PaintProbe) -> None:
        self.app, self.table, self.paint = app, table, paint
        self.moves: list[float] = []
        cursor = "cursor_row" if isinstance(table, Grid) else "cursor_coordinate"
        app.watch(table, cursor, lambda: self.moves.append(time.perf_counter()), init=False)

    async def press(self) -> tuple[float, float]:
        """One key: ms until the cursor moved (handled) and until a frame showing it was done."""
        from textual import events

        seen = len(self.moves)
        t0 = time.perf_counter()
        assert self.app._driver is not None
        self.app._driver.send_message(events.Key("down" if self.table.cursor_row == 0 else "up", None))
        deadline = t0 + 10
        while len(self.moves) == seen and time.perf_counter() < deadline:
            await asyncio.sleep(0.001)
        if len(self.moves) == seen:  # say where the key went instead of only timing out
            print(f"key not handled in 10 s: focused {self.app.focused!r}, screen {self.app.screen!r}")
        handled = self.moves[-1] if len(self.moves) > seen else time.perf_counter()
        while (shown := self.paint.first_after(handled)) is None and time.perf_counter() < deadline:
            await asyncio.sleep(0.001)
        return (handled - t0) * 1000, ((shown or time.perf_counter()) - t0) * 1000


class CpuProbe:
    """CPU used by the whole process and by the UI thread (the caller's) between creation and stop()."""

    def __init__(self) -> None:
        self._wall, self._cpu, self._ui = time.perf_counter(), time.process_time(), time.thread_time()
        self.wall = self.cpu = self.ui = 0.0

    def stop(self) -> None:
        """Take the figures."""
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        self.ui = time.thread_time() - self._ui

    def summary(self) -> str:
        """``X s over Y s (Z %), UI thread W s``."""
        share = 100 * self.cpu / self.wall if self.wall else 0.0
        return f"{self.cpu:.2f} s over {self.wall:.1f} s ({share:.0f}% of a core), UI thread {self.ui:.2f} s"


class GcProbe:
    """Durations of the interpreter's garbage collections (any thread: a collection holds the GIL, so the
    UI thread waits for it whoever triggered it), by generation, while ``recording``."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.recording = False
        self._t0 = 0.0

    def __enter__(self) -> GcProbe:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        elif self.recording:
            self.pauses[info["generation"]].append((time.perf_counter() - self._t0) * 1000)

    def summary(self) -> str:
        """Count, total and longest pause per generation."""
        return ", ".join(
            f"gen{g}: {len(v)} x, total {sum(v):.0f} ms, max {max(v, default=0):.1f} ms"
            for g, v in self.pauses.items()
        )


class MachineProbe:
    """The same 5 ms sleep in a separate, idle process: how late *any* process on this machine wakes up.

    The machine is shared: when other work saturates the cores (or the kernel is busy creating network
    namespaces and processes), every process wakes late, the TUI included. Stalls seen here too are the
    machine's, not the TUI's (:func:`shared_stalls`).
    """

    SCRIPT = (
        "import json, signal, sys, time\n"
        "lags = []\n"
        "def done(*_):\n"
        "    print(json.dumps(lags), flush=True)\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, done)\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    t = time.monotonic()\n"
        "    time.sleep(0.005)\n"
        "    lags.append((round(t, 4), round((time.monotonic() - t - 0.005) * 1000, 2)))\n"
    )

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start sampling (returns once the sleeper runs)."""
        # its own session, so its own scheduling group (autogroup): like any other process on the machine,
        # whatever priority the TUI's session has
        self._proc = subprocess.Popen([sys.executable, "-c", self.SCRIPT], stdout=subprocess.PIPE, text=True,
                                      start_new_session=True)
        assert self._proc.stdout is not None
        self._proc.stdout.readline()

    def stop(self) -> None:
        """Stop sampling and collect what the sleeper saw."""
        if self._proc is None:
            return
        self._proc.terminate()
        out, _ = self._proc.communicate(timeout=10)
        self.samples = [(float(t), float(lag)) for t, lag in json.loads(out or "[]")]

    @property
    def lags(self) -> list[float]:
        """Every wake-up delay in ms."""
        return [lag for _, lag in self.samples]


Timed = list[tuple[float, float]]
"""(monotonic start, delay in ms) pairs."""


def shared_stalls(tui: Timed, machine: Timed, over: float = 100.0) -> str:
    """``K of N`` TUI loop stalls over ``over`` ms that overlap a machine stall over 50 ms (same clock)."""
    big = [(t, lag) for t, lag in tui if lag > over]
    busy = [(t, t + lag / 1000 + 0.005) for t, lag in machine if lag > 50]
    shared = sum(1 for t, lag in big if any(a < t + lag / 1000 + 0.005 and t < b for a, b in busy))
    return f"{shared} of {len(big)}"


class StallProbe:
    """How late a short sleep on the UI loop wakes up: the time the loop could not run (hence not paint)."""

    PERIOD = 0.005

    def __init__(self) -> None:
        self.stalls: list[float] = []
        self.timed: list[tuple[float, float]] = []
        self.recording = False
        self.stacks: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._beat = time.perf_counter()
        self._done = threading.Event()

    def start(self) -> None:
        """Run on the app's loop (call from a coroutine running there, e.g. a pilot test body).

        With ``EGRESSCTL_TUI_STALL_STACKS=1`` a watchdog thread also samples what the UI thread was doing
        whenever the loop is 30 ms late (a diagnosis aid: printed by :meth:`report`).
        """
        self._task = asyncio.get_running_loop().create_task(self._run())
        if os.environ.get("EGRESSCTL_TUI_STALL_STACKS"):
            threading.Thread(target=self._watchdog, args=(threading.get_ident(),), daemon=True).start()

    async def _run(self) -> None:
        while True:
            t0, m0 = time.perf_counter(), time.monotonic()
            self._beat = t0
            began = self.recording  # a sleep that began before recording (the test's own set-up) is not one
            await asyncio.sleep(self.PERIOD)
            if began and self.recording:
                lag = max(0.0, (time.perf_counter() - t0 - self.PERIOD) * 1000)
                self.stalls.append(lag)
                if lag > 50:
                    self.timed.append((m0, lag))

    def _watchdog(self, ui: int) -> None:
        while not self._done.wait(0.01):
            if self.recording and time.perf_counter() - self._beat > 0.03:
                frame = sys._current_frames().get(ui)
                if frame is not None:
                    key = "".join(traceback.format_stack(frame, limit=12))
                    self.stacks[key] = self.stacks.get(key, 0) + 1

    def report(self) -> str:
        """The UI thread's most frequent stacks during stalls (empty unless the watchdog ran)."""
        top = sorted(self.stacks.items(), key=lambda kv: -kv[1])[:8]
        return "\n".join(f"--- {n} samples\n{stack}" for stack, n in top)

    def stop(self) -> None:
        """Stop sampling."""
        self._done.set()
        if self._task is not None:
            self._task.cancel()


@contextlib.contextmanager
def ui_profile() -> Iterator[None]:
    """With ``EGRESSCTL_TUI_PROFILE=FILE``, cProfile the UI thread (only it) into FILE (pstats format).

    A diagnosis aid: ``python -m pstats FILE`` then ``sort cumtime`` / ``stats 30`` shows what the UI
    thread spent its time on while the body ran.
    """
    out = os.environ.get("EGRESSCTL_TUI_PROFILE")
    if not out:
        yield
        return
    import cProfile

    prof = cProfile.Profile()
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        prof.dump_stats(out)


def send_keys(app: EgressApp, *keys: str) -> None:
    """Queue key events exactly as the terminal driver does, without the pilot's idle wait."""
    from textual import events

    assert app._driver is not None
    for key in keys:
        app._driver.send_message(events.Key(key, key if len(key) == 1 else None))
