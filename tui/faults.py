"""The Faults screen: the injected faults (what they hit, how many uses are left), add and clear."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.binding import Binding

from engine.records import FaultRecord
from tui.dialogs import FaultForm
from tui.format import clip, clock_time, seconds
from tui.live import Changes, Refresher
from tui.records_screen import RecordsScreen

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
KIND_STYLES = {"fail": "bold red", "delay": "bold yellow", "crash": "bold magenta"}


class FaultsScreen(RecordsScreen[FaultRecord]):
    KIND = "faults"
    HEADING = " Faults: injected failures, delays and crashes that step attempts will meet"
    EMPTY = " No fault injected. a: add one here, or i on a step in a workflow's detail."
    COLUMNS = COLUMNS
    BINDINGS = [
        Binding("a", "add_fault", "Add", tooltip="Add a fault: on a step of one workflow, or of all"),
        Binding("c", "clear_fault", "Clear", tooltip="Clear the selected fault"),
        Binding("C", "clear_faults", "Clear all", tooltip="Clear every fault (asks first)"),
    ]

    def on_mount(self) -> None:
        super().on_mount()
        self.refresher = Refresher(self, self.dash.control.faults, self.show)
        self.table.focus()
        self.refresher.request()

    def apply_changes(self, changes: Changes) -> None:
        if changes.everything or changes.faults:
            self.refresher.request()

    def key_of(self, record: FaultRecord) -> str:
        return str(record.fault_id)

    def cells(self, f: FaultRecord, now: datetime) -> list[object]:
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
        ids = [f.fault_id for f in self.records]
        if not ids:
            self.notify("no fault to clear", severity="warning")
            return
        ctl = self.dash.control
        self.confirm(
            "Clear all these faults?",
            [f"fault {f.fault_id}: {f.kind} on {f.step_name}" for f in self.records],
            "Step attempts stop meeting them at once.",
            lambda: ctl.clear_faults(ids),
            lambda n: f"{n} fault(s) cleared",
        )
