"""Every site in the inventory, its state and its last proof; type to filter, Enter to open."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from egressctl.tui.backend import Doc
from egressctl.tui.format import age, content, get, plain, state_text, verdict_text
from egressctl.tui.messages import Loaded


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
        yield Input(placeholder="filter sites (type to filter)", id="site-filter")
        yield DataTable(id="sites", cursor_type="row", zebra_stripes=True)
        yield Static("", id="sites-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "egressctl"
        self.sub_title = "sites"
        table = self.query_one("#sites", DataTable)
        table.add_columns("Site", "State", "Stage", "Last verification", "Age", "Lock")
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
        table = self.query_one("#sites", DataTable)
        table.clear()
        for s in self._sites:
            name = str(get(s, "name", "site", default="?"))
            if needle and needle not in name.lower() and needle not in str(get(s, "state", default="")):
                continue
            table.add_row(
                plain(name),
                state_text(get(s, "state")),
                plain(get(s, "target", "stage", default="-")),
                verdict_text(get(s, "last_verdict", "verdict")),
                age(get(s, "last_verified_at", "verified_at")),
                plain(get(s, "lock_owner", "lock", default="") or "-"),
                key=name,
            )
        shown = table.row_count
        self.query_one("#sites-hint", Static).update(
            f"{shown} of {len(self._sites)} site(s) - Enter opens a site, / filters, Ctrl+P for commands"
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
