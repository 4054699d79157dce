"""The help screen: every key of every screen, read from the screens' own bindings (never out of date)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.detail import DetailScreen
from tui.faults import FaultsScreen
from tui.workers import WorkersScreen
from tui.workflows import WorkflowsScreen

NAVIGATION = [("↑ ↓ pgup pgdn", "move (the list pages through the database)"), ("home/g end/G", "first / last"),
              ("enter", "open / view"), ("ctrl+p", "command palette: every action by name")]


def _keys(bindings: list) -> list[tuple[str, str]]:
    rows = []
    for b in bindings:
        if isinstance(b, Binding) and b.description:
            rows.append((b.key.replace("slash", "/").replace("question_mark", "?"), b.description))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        from tui.app import DashboardApp

        sections = [("Everywhere", _keys(DashboardApp.BINDINGS) + NAVIGATION),
                    ("Workflows", _keys(WorkflowsScreen.BINDINGS)),
                    ("Workflow detail", _keys(DetailScreen.BINDINGS)),
                    ("Workers", _keys(WorkersScreen.BINDINGS)),
                    ("Faults", _keys(FaultsScreen.BINDINGS))]
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for title, rows in sections:
            table.add_row(Text(title, style="bold underline"), "")
            for key, description in rows:
                table.add_row(key, description)
            table.add_row("", "")
        if getattr(self.app, "read_only", False):
            table.add_row("", Text("read-only: actions are disabled", style="bold yellow"))
        with VerticalScroll(id="dialog", classes="help"):
            yield Static(table)
            yield Static("esc: close", classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)
