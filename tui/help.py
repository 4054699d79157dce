"""The help screen: every key of every screen with its full description, read from the screens' own
bindings (never out of date)."""

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
from tui.keys import described
from tui.schedules import SchedulesScreen
from tui.workers import WorkersScreen
from tui.workflows import WorkflowsScreen

NAVIGATION = [
    ("↑ ↓ pgup pgdn", "Move (the list pages through the database)"),
    ("home/g end/G", "First / last"),
    ("ctrl+p", "Command palette: every action by name"),
    ("→/space ←", "Timeline (workflow detail): open / close a child workflow's steps under its lane"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        from tui.app import DashboardApp

        sections = [
            ("Everywhere", described(DashboardApp.BINDINGS) + NAVIGATION),
            ("Workflows", described(WorkflowsScreen.BINDINGS)),
            ("Workflow detail", described(DetailScreen.BINDINGS)),
            ("Workers", described(WorkersScreen.BINDINGS)),
            ("Faults", described(FaultsScreen.BINDINGS)),
            ("Schedules", described(SchedulesScreen.BINDINGS)),
        ]
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
