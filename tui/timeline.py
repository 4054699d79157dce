"""The timeline of a run: a waterfall with one lane per step on a shared time axis.

Each attempt is a segment (green when it succeeded, red when it failed, yellow while it runs), a backoff
between two attempts is a gap drawn `╌` with its length, a pending retry is a gap that ends in its
countdown, a durable sleep is drawn `░`, a `recv` or `get_event` wait `┄` (up to its timeout while it
waits), and a child workflow `▒` opens (`→`/space) into its own steps on the same axis. The axis spans the
run (up to now, or to the end of a pending wait) and picks its ticks from milliseconds to days. Everything
is a pure function of the records and the injected clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from engine.records import StepRecord, WorkflowRecord
from engine.states import StepKind, StepStatus
from tui.format import clip, duration, seconds
from tui.waits import until

TICKS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400]
NAME_WIDTH = 20
STATE_WIDTH = 8
TOOK_WIDTH = 6
NOTE_ROOM = 18
"""Cells kept right of the axis for the note that follows a bar (a countdown, an error type)."""
STATE_LABELS = {
    StepStatus.SUCCESS: ("ok", "green"),
    StepStatus.ERROR: ("failed", "red"),
    StepStatus.RUNNING: ("running", "yellow"),
    StepStatus.WAITING_RETRY: ("retrying", "bold #ff8700"),
    StepStatus.SLEEPING: ("sleeping", "cyan"),
    StepStatus.WAITING: ("waiting", "bold #5fafff"),
}
DRAW = {
    "ok": ("█", "green"),
    "failed": ("█", "red"),
    "running": ("█", "yellow"),
    "backoff": ("╌", "#ff8700"),
    "pending": ("╌", "bold #ff8700"),
    "sleep": ("░", "cyan"),
    "wait": ("┄", "#5fafff"),
    "child": ("▒", "#5f87ff"),
}


@dataclass(frozen=True)
class Lane:
    """One row of the timeline: a step of the workflow (depth 0) or of an opened child (depth 1+)."""

    workflow_id: str
    step: StepRecord
    depth: int = 0
    opened: bool = False

    @property
    def key(self) -> str:
        return f"{self.workflow_id}:{self.step.step_id}"

    @property
    def child(self) -> str | None:
        return self.step.child_workflow_id if self.step.kind == StepKind.CHILD else None


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime
    kind: str


def lanes_of(
    record: WorkflowRecord, children: dict[str, WorkflowRecord], opened: set[str], depth: int = 0
) -> list[Lane]:
    """The lanes of `record`, each opened child's steps right under its lane (its own children too)."""
    lanes: list[Lane] = []
    for step in record.steps:
        child = step.child_workflow_id if step.kind == StepKind.CHILD else None
        is_open = child is not None and child in opened and child in children
        lanes.append(Lane(record.workflow_id, step, depth, is_open))
        if is_open and child is not None:
            lanes.extend(lanes_of(children[child], children, opened, depth + 1))
    return lanes


def spans(step: StepRecord, now: datetime) -> list[Span]:
    """The segments of one lane: attempts, the backoffs between them, and the wait still to come."""
    if step.kind == StepKind.SLEEP:
        end = step.finished_at or step.next_attempt_at or now
        return [Span(step.started_at, max(end, step.started_at), "sleep")]
    if step.kind == StepKind.CHILD:
        return [Span(step.started_at, step.finished_at or now, "child")]
    if step.kind.waits:  # a recv or get_event: the wait, up to its timeout while it lasts
        end = step.finished_at or step.next_attempt_at or now
        return [Span(step.started_at, max(end, step.started_at), "wait")]
    out: list[Span] = []
    previous_end: datetime | None = None
    attempts = step.attempt_records
    for a in attempts:
        if previous_end is not None and a.started_at > previous_end:
            out.append(Span(previous_end, a.started_at, "backoff"))
        end = a.finished_at or now
        out.append(Span(a.started_at, end, "failed" if a.error_type else ("ok" if a.finished_at else "running")))
        previous_end = end
    if not attempts:
        kind = {StepStatus.SUCCESS: "ok", StepStatus.ERROR: "failed"}.get(step.status, "running")
        previous_end = step.finished_at or now
        out.append(Span(step.started_at, previous_end, kind))
    if step.status == StepStatus.WAITING_RETRY and step.next_attempt_at is not None and previous_end is not None:
        out.append(Span(previous_end, max(step.next_attempt_at, previous_end), "pending"))
    return out


def note(step: StepRecord, now: datetime) -> Text:
    """What follows the bar: the countdown of a pending wait, else the last error, else nothing."""
    if step.status == StepStatus.WAITING_RETRY and step.next_attempt_at is not None:
        tries, budget = step.attempts - step.attempt_base, step.max_attempts - step.attempt_base
        return Text(f"retry {tries + 1}/{budget} {until(step.next_attempt_at, now)}", style="bold #ff8700")
    if step.status == StepStatus.SLEEPING and step.next_attempt_at is not None:
        return Text(f"wakes {until(step.next_attempt_at, now)}", style="cyan")
    if step.status == StepStatus.WAITING and step.next_attempt_at is not None:
        return Text(f"timeout {until(step.next_attempt_at, now)}", style="#5fafff")
    if step.error:  # the cause (the last attempt's error) says more than MaxAttemptsExceeded
        cause = next((a.error_type for a in reversed(step.attempt_records) if a.error_type), None)
        return Text(str(cause or step.error.get("type", "Error")).rpartition(".")[2], style="red")
    failed = sum(1 for a in step.attempt_records if a.error_type)
    if failed:
        return Text(f"{failed} failed {'try' if failed == 1 else 'tries'}", style="dim red")
    return Text("")


@dataclass(frozen=True)
class Axis:
    """`start`..`end` over `width` cells."""

    start: datetime
    end: datetime
    width: int

    @property
    def span(self) -> float:
        return max((self.end - self.start).total_seconds(), 0.001)

    def x(self, t: datetime) -> float:
        return (t - self.start).total_seconds() / self.span * self.width

    def ticks(self) -> list[tuple[int, str]]:
        """Round tick values, at least 10 cells apart: `0s`, `5.0s`, … `2h00m`, … `3d00h`."""
        per_cell = self.span / max(self.width, 1)
        step = next((t for t in TICKS if t / per_cell >= 10), None)
        if step is None:
            step = 86400 * max(1, round(per_cell * 10 / 86400 + 0.5))
        out, value = [], 0.0
        while value <= self.span:
            out.append((round(value / per_cell), "0s" if value == 0 else seconds(value)))
            value += step
        return out


def axis_for(lanes: Sequence[Lane], start: datetime, now: datetime, live: bool, width: int) -> Axis:
    """From the run's start to its last moment: now while it runs, else the last end, and never before
    the end of a pending wait (so a countdown's bar is whole)."""
    end = now if live else start
    for lane in lanes:
        for span in spans(lane.step, now):
            end = max(end, span.end)
    return Axis(start, max(end, start + timedelta(milliseconds=1)), width)


def draw_bar(step: StepRecord, axis: Axis, now: datetime, room: int) -> Text:
    """The bar of one lane over `axis`, followed by its note, in `room` cells."""
    cells: list[tuple[str, str]] = [(" ", "")] * axis.width
    last = -1
    gaps_first = sorted(spans(step, now), key=lambda span: span.kind not in ("backoff", "pending"))
    for span in gaps_first:  # an attempt shorter than a cell still shows over the wait next to it
        lo = max(0, min(axis.width - 1, int(axis.x(span.start))))
        hi = max(lo + 1, min(axis.width, round(axis.x(span.end))))
        char, style = DRAW[span.kind]
        for i in range(lo, hi):
            cells[i] = (char, style)
        if span.kind == "backoff":
            label = seconds((span.end - span.start).total_seconds())
            if hi - lo >= len(label) + 2:
                at = lo + (hi - lo - len(label)) // 2
                for j, ch in enumerate(label):
                    cells[at + j] = (ch, "#ff8700")
        last = max(last, hi - 1)
    text = Text()
    for char, style in cells:
        text.append(char, style=style)
    tail = note(step, now)
    if tail.plain:
        start = last + 2
        text = text[: min(start, axis.width)] if start <= axis.width else text
        text.pad_right(max(0, start - text.cell_len))
        tail.truncate(max(0, room - text.cell_len), overflow="ellipsis")
        text.append_text(tail)
    text.truncate(room)
    return text


class Timeline(Widget, can_focus=True):
    """The lanes of a workflow, a cursor on one of them, scrolled to keep the cursor in view."""

    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "edge(0)", "First step", show=False),
        Binding("end,G", "edge(1)", "Last step", show=False),
        Binding("right,space", "open_child", "Open child", show=False, tooltip="Show a child workflow's steps"),
        Binding("left", "close_child", "Close child", show=False, tooltip="Hide a child workflow's steps"),
    ]

    class Highlighted(Message):
        """The cursor moved to another lane."""

    class Toggle(Message):
        """Open (or close) the child workflow of a lane: its steps must be read (or may be dropped)."""

        def __init__(self, child: str, opened: bool):
            super().__init__()
            self.child = child
            self.opened = opened

    def __init__(self, **kwargs: object):
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.lanes: list[Lane] = []
        self.cursor = 0
        self.top = 0
        self.start: datetime | None = None
        self.live = False
        self.now: datetime | None = None

    # data --------------------------------------------------------------------------------------

    def show(self, lanes: list[Lane], start: datetime, live: bool, now: datetime, keep: str | None) -> None:
        """New lanes; the cursor stays on the lane with key `keep` when it is still there."""
        before = self.lanes[self.cursor].key if self.lanes and keep is None else keep
        self.lanes, self.start, self.live, self.now = lanes, start, live, now
        keys = [lane.key for lane in lanes]
        self.cursor = keys.index(before) if before in keys else min(self.cursor, max(0, len(lanes) - 1))
        self._scroll()
        self.refresh()

    def tick(self, now: datetime) -> None:
        """Redraw with the new now: running bars grow, countdowns count (no query)."""
        self.now = now
        self.refresh()

    @property
    def selected(self) -> Lane | None:
        return self.lanes[self.cursor] if self.lanes else None

    def move_to(self, index: int) -> None:
        if not self.lanes:
            return
        index = max(0, min(index, len(self.lanes) - 1))
        if index != self.cursor:
            self.cursor = index
            self._scroll()
            self.refresh()
            self.post_message(self.Highlighted())

    def line_text(self, index: int) -> str:
        """Lane `index` as it is drawn now, in plain text (what a person reads; tests read it too)."""
        return self._lane_line(self.lanes[index], self._axis(), self._room(), False).plain

    # geometry and drawing ----------------------------------------------------------------------

    def _room(self) -> int:
        return max(10, (self.size.width or 80) - self.label_width())

    def _axis(self) -> Axis:
        now = self.now or datetime.now().astimezone()
        return axis_for(self.lanes, self.start or now, now, self.live, max(4, self._room() - NOTE_ROOM))

    @property
    def rows(self) -> int:
        """Lanes that fit under the axis line."""
        return max(1, (self.size.height or 10) - 1)

    def _scroll(self) -> None:
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + self.rows:
            self.top = self.cursor - self.rows + 1
        self.top = max(0, min(self.top, max(0, len(self.lanes) - self.rows)))

    def label_width(self) -> int:
        return 4 + NAME_WIDTH + 1 + STATE_WIDTH + 1 + TOOK_WIDTH + 1

    def render(self) -> Text:
        if not self.lanes or self.start is None or self.now is None:
            return Text(" no steps yet", style="dim")
        label, room, axis = self.label_width(), self._room(), self._axis()
        lines = [self._axis_line(axis, label, room)]
        for i in range(self.top, min(len(self.lanes), self.top + self.rows)):
            lines.append(self._lane_line(self.lanes[i], axis, room, i == self.cursor))
        return Text("\n").join(lines)

    def _axis_line(self, axis: Axis, label: int, room: int) -> Text:
        shown = f"{self.top + 1}–{min(len(self.lanes), self.top + self.rows)} of {len(self.lanes)}"
        head = f"  # {'step':<{NAME_WIDTH}} {'state':<{STATE_WIDTH}} {'took':>{TOOK_WIDTH}} "
        text = Text(head if len(self.lanes) <= self.rows else f"{head[: label - len(shown) - 1]}{shown} ", "bold")
        ruler = [" "] * (room + 1)
        for col, value in axis.ticks():
            if col + len(value) + 1 <= room:
                ruler[col] = "┆"
                for j, ch in enumerate(value):
                    ruler[col + 1 + j] = ch
        if self.live and self.now is not None:
            col = min(axis.width - 1, int(axis.x(self.now)))
            if ruler[col] in (" ", "┆"):  # never over a tick's label
                ruler[col] = "▼"
        text.append("".join(ruler[:room]), style="dim")
        return text

    def _lane_line(self, lane: Lane, axis: Axis, room: int, selected: bool) -> Text:
        step, now = lane.step, self.now or axis.end
        marker = ("▾ " if lane.opened else "▸ ") if lane.child else ""
        name = clip("  " * lane.depth + marker + step.name, NAME_WIDTH)
        state, style = STATE_LABELS.get(StepStatus(step.status), (step.status.lower(), ""))
        tries = step.attempts - step.attempt_base
        if tries > 1 and step.status != StepStatus.WAITING_RETRY:
            state = f"{state} ×{tries}"
        text = Text(f"{step.step_id:>3} ", style="dim")
        text.append(f"{name:<{NAME_WIDTH}} ", style="bold" if lane.depth == 0 else "")
        text.append(f"{clip(state, STATE_WIDTH):<{STATE_WIDTH}} ", style=style)
        text.append(f"{duration(step.started_at, step.finished_at, now):>{TOOK_WIDTH}} ", style="dim")
        text.append_text(draw_bar(step, axis, now, room))
        if selected:
            text.pad_right(max(0, (self.size.width or 80) - text.cell_len))
            text.stylize("on #1f3a5f")
        return text

    # keys and mouse ----------------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * self.rows)

    def action_edge(self, end: int) -> None:
        self.move_to(len(self.lanes) - 1 if end else 0)

    def action_open_child(self) -> None:
        lane = self.selected
        if lane is not None and lane.child and not lane.opened:
            self.post_message(self.Toggle(lane.child, True))

    def action_close_child(self) -> None:
        lane = self.selected
        if lane is None:
            return
        if lane.child and lane.opened:
            self.post_message(self.Toggle(lane.child, False))
            return
        if lane.depth > 0:  # on a child's step: close that child, the cursor back on its lane
            parent = next(i for i in range(self.cursor, -1, -1) if self.lanes[i].depth < lane.depth)
            self.move_to(parent)
            if self.lanes[parent].child:
                self.post_message(self.Toggle(self.lanes[parent].child or "", False))

    def on_resize(self) -> None:
        self._scroll()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.move_to(self.cursor + 3)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.move_to(self.cursor - 3)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.move_to(self.top + event.y - 1)
