"""The Workflow detail screen: inputs, outcome, links, the run's timeline, and the selected step's attempts.

The timeline (`tui/timeline.py`) redraws at each tick from the stored times and the (database) clock, so
running bars grow and countdowns count without a query. A change to this workflow, or to one of its
children, reloads it: one read, plus one per child workflow opened on the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from engine.communication import waiting_topic
from engine.errors import WorkflowNotFound
from engine.records import StepRecord, WorkflowRecord
from engine.states import FINAL_STATUSES, StepStatus, WorkflowStatus
from tui.dialogs import FaultForm, PickScreen, ValueScreen
from tui.fork_form import ForkForm
from tui.format import clip, clock_time, duration, pretty, preview, seconds, status_text
from tui.live import Changes, Refresher
from tui.messages_pane import Communication, MessagesPane, read_communication
from tui.timeline import Lane, Timeline, lanes_of
from tui.waits import waiting_for
from tui.workflow_actions import WAITING_STEPS, WORKFLOW_BINDINGS, Target, WorkflowActions, worker_dead


@dataclass
class Loaded:
    record: WorkflowRecord | None
    children: dict[str, WorkflowRecord]
    comms: Communication = field(default_factory=Communication)


def fork_changes_line(changes: dict[str, Any]) -> str:
    """What a fork changed of its original, in a line: `inputs → {...} · step 3 output → 42`."""
    parts = []
    if "inputs" in changes:
        parts.append(f"inputs → {preview(changes['inputs'], 60)}")
    for step_id, value in (changes.get("step_outputs") or {}).items():
        parts.append(f"step {step_id} output → {preview(value, 30)}")
    return " · ".join(parts)


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
            tooltip="Fork from the selected step (its inputs open for editing first), reusing the steps before it",
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
    FOOTER_DROP = ("send_message", "quit", "links", "view", "delete", "fork", "back")

    def __init__(self, workflow_id: str):
        super().__init__()
        self.workflow_id = workflow_id
        self.record: WorkflowRecord | None = None
        self.gone = False
        self.second = -1
        self.opened_children: dict[str, WorkflowRecord] = {}
        self.opened: set[str] = set()
        """Child workflows opened on the timeline: their steps are read with this workflow's."""

    def compose_body(self) -> ComposeResult:
        yield Static(f" loading {self.workflow_id}…", id="summary")
        yield Timeline(id="timeline")
        with VerticalScroll(id="step-pane"):
            yield Static("", id="step-detail")
        yield MessagesPane(id="comms")

    @property
    def timeline(self) -> Timeline:
        return self.query_one("#timeline", Timeline)

    def on_mount(self) -> None:
        super().on_mount()
        self.refresher = Refresher(self, self._load, self._apply)
        self.timeline.focus()
        self.refresher.request()

    def apply_changes(self, changes: Changes) -> None:
        related = {self.workflow_id, *(self.record.children if self.record else []), *self.opened_children}
        if changes.everything or changes.workflows & related:
            self.refresher.request()

    def executors_changed(self) -> None:
        """Whether a PENDING workflow's worker is dead decides if `r` can recover it."""
        self.sync_bindings()

    def _load(self) -> Loaded:
        """The workflow, and each opened child that is still reachable from it (opened children's own
        opened children too): one read each."""
        ctl = self.dash.control
        try:
            record = ctl.get_workflow(self.workflow_id)
        except WorkflowNotFound:
            return Loaded(None, {})
        children: dict[str, WorkflowRecord] = {}
        todo = [record]
        while todo:
            for step in todo.pop().steps:
                child = step.child_workflow_id
                if child in self.opened and child not in children:
                    try:
                        children[child] = ctl.get_workflow(child)
                    except WorkflowNotFound:
                        continue
                    todo.append(children[child])
        return Loaded(record, children, read_communication(ctl, self.workflow_id, record.steps))

    def _apply(self, loaded: Loaded) -> None:
        record = loaded.record
        self.gone = record is None
        if record is None:
            self.query_one("#summary", Static).update(
                Text(f" workflow {self.workflow_id} no longer exists (deleted)", style="bold red")
            )
            self.timeline.show([], datetime.now().astimezone(), False, self.dash.clock(), None)
            self.record = None
            self.sync_bindings()
            return
        self.record = record
        self.opened_children = loaded.children
        now = self.dash.clock()
        self.query_one("#summary", Static).update(self._summary(record, now))
        self.timeline.show(
            lanes_of(record, self.opened_children, self.opened),
            record.started_at or record.created_at,
            record.status not in FINAL_STATUSES,
            now,
            None,
        )
        self._show_step()
        self.query_one(MessagesPane).show(loaded.comms, now)
        self.sync_bindings()

    @on(Timeline.Toggle)
    def _toggle(self, message: Timeline.Toggle) -> None:
        """Open a child on the timeline (its steps are read) or close it."""
        if message.opened:
            self.opened.add(message.child)
        else:
            self.opened.discard(message.child)
        self.refresher.request()

    def _summary(self, r: WorkflowRecord, now: datetime) -> Text:
        t = Text()
        t.append(f" {r.workflow_id}", style="bold")
        t.append(f"  {r.name}  ")
        t.append_text(status_text(r.status))
        times = (
            f"  started {clock_time(r.started_at or r.created_at, now)}"
            f"  took {duration(r.started_at, r.finished_at if r.status in FINAL_STATUSES else None, now)}"
        )
        executor = f"   executor {r.executor_id or '-'}"
        if t.cell_len + len(executor) + len(times) > (self.size.width or self.app.size.width):
            executor = " "  # a narrow terminal: the times matter more (the executor is on the Workers screen)
        t.append(executor + times)
        if r.recovery_count:
            t.append(f"  recovered {r.recovery_count}×", style="yellow")
        if r.deadline_at is not None and r.status not in FINAL_STATUSES:
            t.append(f"  times out in {seconds((r.deadline_at - now).total_seconds())}", style="bold yellow")
        last = r.steps[-1] if r.steps else None
        if r.status == WorkflowStatus.PENDING and last is not None and last.status == StepStatus.WAITING:
            t.append("\n ")
            t.append_text(waiting_for(r.wait_reason, last.next_attempt_at or now, now))
        elif r.wait_reason:
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
        if r.fork_changes:
            t.append("\n fork changed: " + fork_changes_line(r.fork_changes), style="magenta")
        width = max(40, (self.size.width or self.app.size.width) - 10)  # each line fits: no wrapping
        t.append("\n inputs: ", style="bold")
        t.append(preview(r.inputs, width))
        if r.status == "SUCCESS":
            t.append("\n output: ", style="bold green")
            t.append(preview(r.output, width))
        elif r.error:
            t.append("\n error: ", style="bold red")
            t.append(clip(error_line(r.error), width - 16), style="red")
            t.append("  (v: traceback)", style="dim")
        return t

    def tick(self, now: datetime) -> None:
        """The timeline every tick (bars grow, countdowns count); the summary's durations once a second."""
        if self.record is None:
            return
        new_second = int(now.timestamp()) != self.second
        self.second = int(now.timestamp())
        if new_second and self.record.status not in FINAL_STATUSES:
            self.query_one("#summary", Static).update(self._summary(self.record, now))
            self.sync_bindings()  # a lease running out makes `r` apply
        live = self.record.status not in FINAL_STATUSES or any(
            c.status not in FINAL_STATUSES for c in self.opened_children.values()
        )
        if live:
            self.timeline.tick(now)

    # selection -----------------------------------------------------------------------------------

    def selected(self) -> Target | None:
        r = self.record
        if r is None:
            return None
        dead = r.status == WorkflowStatus.PENDING and worker_dead(
            r.executor_id, self.dash.heartbeats, self.dash.clock(), self.dash.control.lease_seconds
        )
        last = r.steps[-1] if r.steps else None
        topic = waiting_topic(last.name) if last is not None and last.status == StepStatus.WAITING else None
        waiting = any(s.status in WAITING_STEPS for s in r.steps)
        return Target(r.workflow_id, r.status, waiting=waiting, orphaned=dead, topic=topic)

    def selected_lane(self) -> Lane | None:
        return self.timeline.selected if self.record is not None else None

    def selected_step(self) -> StepRecord | None:
        lane = self.selected_lane()
        return lane.step if lane is not None else None

    @on(Timeline.Highlighted)
    def _show_step(self) -> None:
        lane = self.selected_lane()
        step = lane.step if lane is not None else None
        pane = self.query_one("#step-detail", Static)
        if step is None:
            pane.update(Text(" no steps yet", style="dim"))
            return
        now = self.dash.clock()
        t = Text()
        where = "" if lane is None or lane.workflow_id == self.workflow_id else f" of {lane.workflow_id}"
        t.append(f" step {step.step_id} {step.name}{where}", style="bold")
        t.append(f"  ({step.kind})  started {clock_time(step.started_at, now)}")
        if step.child_workflow_id:
            t.append(f"  child {step.child_workflow_id}", style="cyan")
        if step.policy:
            t.append(f"\n limits: {step.policy}", style="dim")
        if step.output is not None:
            t.append("\n output: ", style="bold green")
            t.append(preview(step.output, 200))
        for a in step.attempt_records:
            t.append(f"\n attempt {a.attempt}  {clock_time(a.started_at, now)}  ")
            if a.error_type:
                why = {"timeout": "timed out · ", "not_retryable": "not retryable · "}.get(a.end_reason or "", "")
                t.append(f"{why}{a.error_type}: {a.error_message or ''}", style="red")
            elif a.finished_at is not None:
                t.append("ok", style="green")
            else:
                t.append("running", style="yellow")
        t.append("\n (enter: full values and tracebacks)", style="dim")
        pane.update(t)

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
        lane = self.selected_lane()
        if lane is None:
            return
        step = lane.step
        parts = [f"OUTPUT\n{pretty(step.output)}"] if step.output is not None else []
        if step.error:
            parts.append(f"ERROR\n{error_text(step.error)}")
        for a in step.attempt_records:
            if a.error_type:
                parts.append(f"ATTEMPT {a.attempt}: {a.error_type}: {a.error_message}\n{a.traceback or ''}")
        self.app.push_screen(
            ValueScreen(f"{lane.workflow_id} step {step.step_id} ({step.name})", "\n\n".join(parts) or "(no value yet)")
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
        lane = self.selected_lane()
        if lane is None:
            self.notify("select a step first", severity="warning")
            return
        wid, sid = lane.workflow_id, lane.step.step_id
        inputs = self.inputs_of(wid)

        def forked(new_id: str | None) -> None:
            if new_id:
                self.dash.open_workflow(new_id)

        self.app.push_screen(ForkForm(self.dash.control, wid, sid, inputs), forked)

    def inputs_of(self, workflow_id: str) -> Any:
        """The inputs of the workflow shown, or of one of its children opened in the timeline."""
        if self.record is not None and self.record.workflow_id == workflow_id:
            return self.record.inputs
        child = self.opened_children.get(workflow_id)
        return child.inputs if child is not None else {"args": [], "kwargs": {}}

    def action_inject_fault(self) -> None:
        lane = self.selected_lane()
        if lane is None:
            self.notify("select a step first", severity="warning")
            return
        self.app.push_screen(FaultForm(self.dash.control, lane.step.name, lane.workflow_id))
