"""The app's half that owns the live leak watch (the watch belongs to the app, not to its screen).

The operator leaves the watch to follow an operation (and comes back) without stopping the capture,
exactly as an operation outlives its screen. Totals arrive as :class:`WatchUpdate` messages, at most a few
a second (the backend paces them) and a newer one replaces one still waiting in the queue.
"""

from __future__ import annotations

from textual import work
from textual.app import App

from egressctl.tui.backend import Backend, Doc
from egressctl.tui.messages import WatchDone, WatchUpdate
from egressctl.tui.screens.watch import WatchScreen


class WatchingApp(App[None]):
    """Starts, shows and stops the site's leak watch; :class:`egressctl.tui.app.EgressApp` builds on it."""

    backend: Backend
    running_site: str | None
    running_target: str | None

    def __init__(self, watch_seconds: float) -> None:
        super().__init__()
        self.watch_seconds = watch_seconds
        self.watch_site: str | None = None
        self.watch_running = False
        self.watch_stats: Doc = {}

    def open_watch(self, site: str) -> None:
        """Show the live leak watch of ``site``, starting it unless it already runs there."""
        if not (self.watch_running and self.watch_site == site):
            self.start_watch(site)
        self.push_screen(WatchScreen(site))

    def start_watch(self, site: str) -> None:
        """Start the watch in a worker, against the running operation's target when there is one."""
        if self.watch_running:
            self.notify(f"A watch is already running on {self.watch_site}.", severity="warning")
            return
        target = self.running_target if self.running_site == site else None
        self.watch_site, self.watch_running, self.watch_stats = site, True, {}
        self._watch(site, target)

    @work(thread=True, exclusive=True, group="watch", exit_on_error=False)
    def _watch(self, site: str, target: str | None) -> None:
        def forward(stats: Doc) -> None:
            self.post_message(WatchUpdate(stats))

        try:
            report = self.backend.watch(site, self.watch_seconds, forward, target=target)
        except Exception as exc:
            report = {"error": str(exc)}
        self.post_message(WatchDone(report))

    def stop_watch(self) -> None:
        """Quitting stops the watch (its capture agents too) instead of leaving it to run out."""
        stop = getattr(self.backend, "stop_watch", None)
        if self.watch_running and stop is not None:
            stop()

    def _watch_screens(self) -> list[WatchScreen]:
        return [s for s in self.screen_stack if isinstance(s, WatchScreen) and s.site == self.watch_site]

    def on_watch_update(self, message: WatchUpdate) -> None:
        self.watch_stats = message.stats
        for screen in self._watch_screens():
            screen.show(message.stats, running=True)

    def on_watch_done(self, message: WatchDone) -> None:
        self.watch_running = False
        self.watch_stats = message.report
        for screen in self._watch_screens():
            screen.show(message.report, running=False)
