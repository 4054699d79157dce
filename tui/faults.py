"""The Faults screen: the injected faults (what they hit, how many uses are left), add and clear."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from engine.records import FaultRecord
from tui.base import DashScreen
from tui.dialogs import FaultForm
from tui.format import clip, clock_time, seconds
from tui.live import Changes, Refresher
from tui.table import set_rows

COLUMNS = [
    ("id", "id", 5),
    ("kind", "kind", 6),
    ("step", "step", 22),
    ("workflow", "workflow", 24),
    ("left", "hits left", 9),
    ("delay", "delay", 7),
    ("phase", "phase", 6),
    ("message", "message", 26),
    ("expires", "expires", 8),
]
COLUMN_KEYS = [key for key, _, _ in COLUMNS]
KIND_STYLES = {"fail": "bold red", "delay": "bold yellow", "crash": "bold magenta"}


class FaultsScreen(DashScreen):
    BINDINGS = [
        Binding("a", "add_fault", "Add", tooltip="Add a fault: on a step of one workflow, or of all"),
        Binding("c", "clear_fault", "Clear", tooltip="Clear the selected fault"),
        Binding("C", "clear_faults", "Clear all", tooltip="Clear every fault (asks first)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.faults: list[FaultRecord] = []

    def compose_body(self) -> ComposeResult:
        yield Static(" Faults: injected failures, delays and crashes that step attempts will meet", id="faults-title")
        table: DataTable[Any] = DataTable(id="faults", cursor_type="row", zebra_stripes=True)
        for key, label, width in COLUMNS:
            table.add_column(label, width=width, key=key)
        yield table
        yield Static("", id="faults-empty")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#faults", DataTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.refresher = Refresher(self, self.dash.control.faults, self._apply)
        self.table.focus()
        self.refresher.request()

    def apply_changes(self, changes: Changes) -> None:
        if changes.everything or changes.faults:
            self.refresher.request()

    def _cells(self, f: FaultRecord, now: datetime) -> list[object]:
        return [
            str(f.fault_id),
            Text(f.kind, style=KIND_STYLES.get(f.kind, "")),
            clip(f.step_name, 22),
            clip(f.workflow_id or "any", 24),
            "every" if f.remaining is None else str(f.remaining),
            seconds(f.delay_seconds) if f.kind == "delay" else "",
            f.phase,
            clip(f.message, 26) if f.kind == "fail" else "",
            clock_time(f.expires_at, now) or "never",
        ]

    def _apply(self, faults: list[FaultRecord]) -> None:
        self.faults = faults
        now = self.dash.clock()
        keep = self.selected()
        set_rows(
            self.table,
            [(f.fault_id, self._cells(f, now)) for f in faults],
            COLUMN_KEYS,
            keep.fault_id if keep else None,
        )
        self.query_one("#faults-empty", Static).update(
            "" if faults else " No fault injected. a: add one here, or i on a step in a workflow's detail."
        )

    def selected(self) -> FaultRecord | None:
        if not self.faults or not self.table.row_count:
            return None
        return self.faults[min(self.table.cursor_row, len(self.faults) - 1)]

    def action_add_fault(self) -> None:
        self.app.push_screen(FaultForm(self.dash.control))

    def action_clear_fault(self) -> None:
        fault = self.selected()
        if fault is None:
            self.notify("no fault selected", severity="warning")
            return
        fid, ctl = fault.fault_id, self.dash.control
        self.perform(lambda: ctl.clear_faults([fid]), lambda n: f"fault {fid} cleared")

    def action_clear_faults(self) -> None:
        ids = [f.fault_id for f in self.faults]
        if not ids:
            self.notify("no fault to clear", severity="warning")
            return
        ctl = self.dash.control
        self.confirm(
            "Clear all these faults?",
            [f"fault {f.fault_id}: {f.kind} on {f.step_name}" for f in self.faults],
            "Step attempts stop meeting them at once.",
            lambda: ctl.clear_faults(ids),
            lambda n: f"{n} fault(s) cleared",
        )
