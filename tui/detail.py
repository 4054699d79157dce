"""The Workflow detail screen: inputs, outcome, links, and the step timeline with every attempt's error.

A step waiting to retry shows a live countdown computed at each tick from its stored `next_attempt_at`
and the (database) clock. A change to this workflow, or to one of its children, reloads it: one read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static
from textual.widgets.data_table import CellDoesNotExist

from engine.errors import WorkflowNotFound
from engine.records import ExecutorRecord, StepRecord, WorkflowRecord
from engine.states import FINAL_STATUSES, WorkflowStatus
from tui.dialogs import FaultForm, PickScreen, ValueScreen
from tui.format import clip, clock_time, countdown, duration, pretty, preview, status_text
from tui.live import Changes, Refresher
from tui.widgets import set_rows
from tui.workflow_actions import WAITING_STEPS, WORKFLOW_BINDINGS, Target, WorkflowActions, worker_dead

STEP_COLUMNS = [
    ("id", "#", 4),
    ("name", "step", 22),
    ("status", "status", 13),
    ("attempts", "tries", 5),
    ("took", "took", 7),
    ("output", "output", 28),
    ("error", "error / wait", 48),
]
STEP_KEYS = [key for key, _, _ in STEP_COLUMNS]
KIND_LABELS = {"transaction": "txn"}


def error_line(error: dict[str, Any] | None) -> str:
    if not error:
        return ""
    kind = str(error.get("type", "Error")).rpartition(".")[2]
    return f"{kind}: {error.get('message', '')}"


def error_text(error: dict[str, Any] | None) -> str:
    if not error:
        return ""
    return error.get("traceback") or error_line(error)


class DetailScreen(WorkflowActions):
    BINDINGS = [
        Binding("escape,backspace", "back", "Back", tooltip="Back to the list"),
        *WORKFLOW_BINDINGS,
        Binding(
            "F",
            "fork_step",
            "Fork step",
            tooltip="Fork from the selected step: a new workflow re-runs from it, reusing the outcomes of the steps before it",
        ),
        Binding(
            "i",
            "inject_fault",
            "Fault on step",
            tooltip="Inject a fault on the selected step: fail N times, delay, or crash the worker",
        ),
        Binding("v", "view", "Values", tooltip="View the full inputs, output or error with its traceback"),
        Binding(
            "enter",
            "view_step",
            "Step values",
            show=False,
            tooltip="View the selected step's full output and every attempt's traceback",
        ),
        Binding("l", "links", "Links", tooltip="Open a linked workflow: parent, children, forks"),
    ]
    FOOTER_DROP = ("quit", "links", "view", "delete", "fork", "back")

    def __init__(self, workflow_id: str):
        super().__init__()
        self.workflow_id = workflow_id
        self.record: WorkflowRecord | None = None
        self.gone = False
        self.second = -1
        self.heartbeats: dict[str, datetime | None] = {}

    def compose_body(self) -> ComposeResult:
        yield Static(f" loading {self.workflow_id}…", id="summary")
        table: DataTable = DataTable(id="steps", cursor_type="row", zebra_stripes=True)
        for key, label, width in STEP_COLUMNS:
            table.add_column(label, width=width, key=key)
        yield table
        with VerticalScroll(id="step-pane"):
            yield Static("", id="step-detail")

    @property
    def steps(self) -> DataTable:
        return self.query_one("#steps", DataTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.refresher = Refresher(self, self._load, self._apply)
        self.workers_refresher = Refresher(self, self.dash.control.workers, self._apply_workers)
        self.steps.focus()
        self.refresher.request()
        self.workers_refresher.request()

    def apply_changes(self, changes: Changes) -> None:
        related = {self.workflow_id, *(self.record.children if self.record else [])}
        if changes.everything or changes.workflows & related:
            self.refresher.request()
        if changes.everything or changes.executors:
            self.workers_refresher.request()

    def _apply_workers(self, workers: list[ExecutorRecord]) -> None:
        """Heartbeats, to tell whether `r` can recover this workflow (PENDING on a dead worker)."""
        self.heartbeats = {w.executor_id: None if w.stopped_at else w.heartbeat_at for w in workers}
        self.sync_bindings()

    def _load(self) -> WorkflowRecord | None:
        try:
            return self.dash.control.get_workflow(self.workflow_id)
        except WorkflowNotFound:
            return None

    def _apply(self, record: WorkflowRecord | None) -> None:
        self.gone = record is None
        if record is None:
            self.query_one("#summary", Static).update(
                Text(f" workflow {self.workflow_id} no longer exists (deleted)", style="bold red")
            )
            self.steps.clear()
            self.record = None
            self.sync_bindings()
            return
        self.record = record
        now = self.dash.clock()
        self.query_one("#summary", Static).update(self._summary(record, now))
        rows: list[tuple[str, list[object]]] = []
        for step in record.steps:
            rows.append((f"s:{step.step_id}", self._step_cells(step, now)))
            for a in step.attempt_records:
                if a.error_type:
                    rows.append(
                        (
                            f"a:{step.step_id}:{a.attempt}",
                            [
                                "",
                                Text(f"  ↳ attempt {a.attempt}", style="dim"),
                                Text("failed", style="red"),
                                "",
                                duration(a.started_at, a.finished_at, now),
                                "",
                                Text(
                                    clip(f"{a.error_type.rpartition('.')[2]}: {a.error_message or ''}", 48), style="red"
                                ),
                            ],
                        )
                    )
        keep = (
            self.steps.coordinate_to_cell_key(self.steps.cursor_coordinate).row_key.value
            if self.steps.row_count
            else None
        )
        set_rows(self.steps, rows, STEP_KEYS, keep)
        self._show_step()
        self.sync_bindings()

    def _summary(self, r: WorkflowRecord, now: datetime) -> Text:
        t = Text()
        t.append(f" {r.workflow_id}", style="bold")
        t.append(f"  {r.name}  ")
        t.append_text(status_text(r.status))
        t.append(
            f"   executor {r.executor_id or '-'}  started {clock_time(r.started_at or r.created_at, now)}"
            f"  took {duration(r.started_at, r.finished_at if r.status in FINAL_STATUSES else None, now)}"
        )
        if r.recovery_count:
            t.append(f"  recovered {r.recovery_count}×", style="yellow")
        if r.wait_reason:
            t.append(f"\n waiting: {r.wait_reason}", style="italic yellow")
        links = []
        if r.parent_workflow_id:
            links.append(f"parent {r.parent_workflow_id} (step {r.parent_step_id})")
        if r.forked_from:
            links.append(f"forked from {r.forked_from} at step {r.forked_from_step}")
        if r.children:
            links.append(f"children: {', '.join(r.children[:3])}{' …' if len(r.children) > 3 else ''}")
        if r.forks:
            links.append(f"forks: {', '.join(r.forks[:3])}{' …' if len(r.forks) > 3 else ''}")
        if links:
            t.append("\n links: " + " · ".join(links) + "  (l: open)", style="cyan")
        t.append("\n inputs: ", style="bold")
        t.append(preview(r.inputs, 120))
        if r.status == "SUCCESS":
            t.append("\n output: ", style="bold green")
            t.append(preview(r.output, 120))
        elif r.error:
            t.append("\n error: ", style="bold red")
            t.append(clip(error_line(r.error), 120), style="red")
            t.append("  (v: traceback)", style="dim")
        return t

    def _step_cells(self, s: StepRecord, now: datetime) -> list[object]:
        tries = s.attempts - s.attempt_base
        budget = s.max_attempts - s.attempt_base
        wait = countdown(s.status, tries, budget, s.next_attempt_at, now)
        last_error = next((a for a in reversed(s.attempt_records) if a.error_type), None)
        if wait is not None:
            note: object = wait
            if last_error is not None:
                note = Text.assemble(wait, ("  " + clip(last_error.error_message or "", 30), "dim"))
        elif s.error:
            note = Text(clip(error_line(s.error), 48), style="red")
        else:
            note = ""
        label = s.name if s.kind == "step" else f"{s.name} ({KIND_LABELS.get(s.kind, s.kind)})"
        return [
            str(s.step_id),
            clip(label, 22),
            status_text(s.status),
            f"{tries}/{budget}" if budget > 1 else str(tries),
            duration(s.started_at, s.finished_at, now),
            preview(s.output, 28),
            note,
        ]

    def tick(self, now: datetime) -> None:
        """Countdowns every tick; the running durations (summary and unfinished steps) once a second."""
        if self.record is None:
            return
        new_second = int(now.timestamp()) != self.second
        self.second = int(now.timestamp())
        if new_second and self.record.status not in FINAL_STATUSES:
            self.query_one("#summary", Static).update(self._summary(self.record, now))
            self.sync_bindings()  # a lease running out makes `r` apply
        for s in self.record.steps:
            counting = s.next_attempt_at is not None and s.status not in FINAL_STATUSES
            running = new_second and s.finished_at is None and s.started_at is not None
            if not (counting or running):
                continue
            cells = dict(zip(STEP_KEYS, self._step_cells(s, now), strict=True))
            for column in ("error", "took"):
                try:
                    if self.steps.get_cell(f"s:{s.step_id}", column) != cells[column]:
                        self.steps.update_cell(f"s:{s.step_id}", column, cells[column])
                except CellDoesNotExist:
                    pass

    # selection -----------------------------------------------------------------------------------

    def selected(self) -> Target | None:
        r = self.record
        if r is None:
            return None
        dead = r.status == WorkflowStatus.PENDING and worker_dead(
            r.executor_id, self.heartbeats, self.dash.clock(), self.dash.control.lease_seconds
        )
        return Target(r.workflow_id, r.status, waiting=any(s.status in WAITING_STEPS for s in r.steps), orphaned=dead)

    def selected_step(self) -> StepRecord | None:
        if self.record is None or not self.steps.row_count:
            return None
        key = self.steps.coordinate_to_cell_key(self.steps.cursor_coordinate).row_key.value or ""
        step_id = int(key.split(":")[1])
        return next((s for s in self.record.steps if s.step_id == step_id), None)

    @on(DataTable.RowHighlighted, "#steps")
    def _show_step(self) -> None:
        step = self.selected_step()
        pane = self.query_one("#step-detail", Static)
        if step is None:
            pane.update(Text(" no steps yet", style="dim"))
            return
        now = self.dash.clock()
        t = Text()
        t.append(f" step {step.step_id} {step.name}", style="bold")
        t.append(f"  ({step.kind})  started {clock_time(step.started_at, now)}")
        if step.child_workflow_id:
            t.append(f"  child {step.child_workflow_id}", style="cyan")
        if step.output is not None:
            t.append("\n output: ", style="bold green")
            t.append(preview(step.output, 200))
        for a in step.attempt_records:
            t.append(f"\n attempt {a.attempt}  {clock_time(a.started_at, now)}  ")
            if a.error_type:
                t.append(f"{a.error_type}: {a.error_message or ''}", style="red")
            elif a.finished_at is not None:
                t.append("ok", style="green")
            else:
                t.append("running", style="yellow")
        t.append("\n (enter: full values and tracebacks)", style="dim")
        pane.update(t)

    @on(DataTable.RowSelected, "#steps")
    def _step_selected(self) -> None:
        self.action_view_step()

    # actions ---------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_view(self) -> None:
        r = self.record
        if r is None:
            return
        parts = [f"INPUTS\n{pretty(r.inputs)}"]
        if r.output is not None:
            parts.append(f"OUTPUT\n{pretty(r.output)}")
        if r.error:
            parts.append(f"ERROR\n{error_text(r.error)}")
        self.app.push_screen(ValueScreen(f"{r.workflow_id} ({r.name})", "\n\n".join(parts)))

    def action_view_step(self) -> None:
        step = self.selected_step()
        if step is None:
            return
        parts = [f"OUTPUT\n{pretty(step.output)}"] if step.output is not None else []
        if step.error:
            parts.append(f"ERROR\n{error_text(step.error)}")
        for a in step.attempt_records:
            if a.error_type:
                parts.append(f"ATTEMPT {a.attempt}: {a.error_type}: {a.error_message}\n{a.traceback or ''}")
        self.app.push_screen(
            ValueScreen(f"{self.workflow_id} step {step.step_id} ({step.name})", "\n\n".join(parts) or "(no value yet)")
        )

    def action_links(self) -> None:
        r = self.record
        if r is None:
            return
        options = []
        if r.parent_workflow_id:
            options.append((f"parent  {r.parent_workflow_id}", r.parent_workflow_id))
        if r.forked_from:
            options.append((f"forked from  {r.forked_from}", r.forked_from))
        options += [(f"child  {c}", c) for c in r.children]
        options += [(f"fork  {f}", f) for f in r.forks]
        if not options:
            self.notify("this workflow has no parent, children or forks")
            return

        def picked(wid: str | None) -> None:
            if wid:
                self.dash.open_workflow(wid)

        self.app.push_screen(PickScreen("Open a linked workflow", options), picked)

    def action_fork_step(self) -> None:
        step = self.selected_step()
        if step is None:
            self.notify("select a step first", severity="warning")
            return
        wid, sid = self.workflow_id, step.step_id
        self.fork(wid, sid, lambda new: f"forked {wid} from step {sid} as {new}")

    def action_inject_fault(self) -> None:
        step = self.selected_step()
        if step is None:
            self.notify("select a step first", severity="warning")
            return
        self.app.push_screen(FaultForm(self.dash.control, step.name, self.workflow_id))
