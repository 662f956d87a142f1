"""The estate: every site of the inventory, its state, its last proof and how old it is; type to filter.

At 3 a.m. with ten sites the question is "which ones are cut, which failed, which were never proven":
one row per site with its state, last verdict and its age, last operation (and its age), and who holds
its lock; the line under the table counts the states. The filter matches any of the words shown (site,
state, verdict, lock), so ``isolated`` or ``leak`` narrows the estate to what needs looking at.
"""

from __future__ import annotations

from collections import Counter

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from egressctl.tui.backend import Doc
from egressctl.tui.format import age, content, get, plain, state_text, verdict_text
from egressctl.tui.messages import Loaded
from egressctl.tui.tables import sync_rows


def _words(site: Doc) -> str:
    """What the filter matches for one site (lower case)."""
    fields = ("name", "site", "state", "last_verdict", "verdict", "last_operation", "lock_owner")
    never = "" if get(site, "last_verdict", "verdict") else " never verified"
    return (" ".join(str(site.get(k) or "") for k in fields) + never).lower()


def estate_counts(sites: list[Doc]) -> str:
    """``10 site(s): 7 normal, 2 isolated, 1 failed-partial; 2 never verified; locked: x``.

    The locked sites are named here too: at 80 columns the Lock column is off to the right.
    """
    states = Counter(str(get(s, "state", default="unknown")) for s in sites)
    parts = ", ".join(f"{n} {state}" for state, n in sorted(states.items(), key=lambda kv: (-kv[1], kv[0])))
    never = sum(1 for s in sites if not get(s, "last_verdict", "verdict"))
    locked = [str(get(s, "name", "site", default="?")) for s in sites if get(s, "lock_owner", "lock")]
    return (f"{len(sites)} site(s): {parts}" + (f"; {never} never verified" if never else "")
            + (f"; locked: {', '.join(locked)}" if locked else ""))


class SitesScreen(Screen[None]):
    """The landing screen."""

    BINDINGS = [
        Binding("enter", "open_site", "Open"),
        Binding("r", "refresh", "Refresh"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("escape", "clear_filter", "Clear", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._sites: list[Doc] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: site, state, verdict (type to filter)", id="site-filter")
        yield DataTable(id="sites", cursor_type="row", zebra_stripes=True)
        yield Static("", id="sites-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "egressctl"
        self.sub_title = "sites"
        table = self.query_one("#sites", DataTable)
        table.add_columns("Site", "State", "Last verification", "Age", "Last operation", "Lock")
        table.focus()
        self.action_refresh()

    @work(thread=True, exclusive=True, group="sites")
    def action_refresh(self) -> None:
        """Read the overview in a worker (it opens the journal) and hand it to the UI thread."""
        try:
            docs = self.app.backend.sites()  # type: ignore[attr-defined]
            self.post_message(Loaded("sites", {"sites": docs}))
        except Exception as exc:  # shown to the operator, never swallowed
            self.post_message(Loaded("error", {"error": str(exc)}))

    def on_loaded(self, message: Loaded) -> None:
        if message.what == "error":
            self.query_one("#sites-hint", Static).update(content((str(message.doc["error"]), "red")))
            return
        self._sites = list(message.doc.get("sites", []))
        self._fill()

    def _fill(self) -> None:
        needle = self.query_one("#site-filter", Input).value.strip().lower()
        shown = [s for s in self._sites if not needle or needle in _words(s)]
        sync_rows(self.query_one("#sites", DataTable), [(self._key(s), self._row(s)) for s in shown])
        filtered = f" ({len(shown)} shown)" if needle else ""
        self.query_one("#sites-hint", Static).update(content((estate_counts(self._sites), "b"), filtered))

    @staticmethod
    def _key(site: Doc) -> str:
        return str(get(site, "name", "site", default="?"))

    @staticmethod
    def _row(s: Doc) -> tuple[object, ...]:
        op = get(s, "last_operation", default=None)
        when = get(s, "last_operation_at", default=None)
        return (
            plain(get(s, "name", "site", default="?")),
            state_text(get(s, "state")),
            verdict_text(get(s, "last_verdict", "verdict")),
            plain(age(get(s, "last_verified_at", "verified_at"))),
            plain(f"{op} {age(when)}" if op and when else (op or "-")),
            plain(get(s, "lock_owner", "lock", default="") or "-"),
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "site-filter":
            self._fill()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#sites", DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.app.open_site(event.row_key.value)  # type: ignore[attr-defined]

    def action_open_site(self) -> None:
        table = self.query_one("#sites", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key:
                self.app.open_site(key)  # type: ignore[attr-defined]

    def action_focus_filter(self) -> None:
        self.query_one("#site-filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#site-filter", Input).value = ""
        self.query_one("#sites", DataTable).focus()
