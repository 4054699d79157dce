"""The Workflows screen: counts per status, filters, id search, sort, and one SQL-paged window of rows.

Only the rows on screen are ever read (`summaries(limit=page, offset=...)`), so 100,000 workflows cost
the same as 40. A flush of changes reloads the window (one query); the counts (two more) at most every
0.25 s, with a trailing reload so a burst always ends on exact figures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from engine.communication import waiting_topic
from engine.errors import InvalidInput
from engine.records import WorkflowSummary
from engine.states import FINAL_STATUSES, StepStatus, WorkflowStatus
from engine.validation import check_filter
from tui.columns import Column, Placed, fit, middle
from tui.dialogs import PickScreen
from tui.format import STATUS_STYLES, clip, clock_time, duration, status_text
from tui.linetable import LineTable, TableColumn
from tui.live import Changes, Refresher
from tui.waits import live_wait
from tui.widgets import WindowTable
from tui.workflow_actions import WAITING_STEPS, WORKFLOW_BINDINGS, Target, WorkflowActions, worker_dead

COLUMNS = [
    Column("id", "id", 12, 18, 30, essential=True),
    Column("name", "name", 12, 18, 24),
    Column("status", "status", 9, 9, 9, essential=True),
    Column("step", "step", 14, 18, 28, essential=True),
    Column("info", "wait", 24, 30, 44, essential=True),
    Column("started", "started", 8, 8, 11),
    Column("duration", "took", 7, 7, 7),
    Column("executor", "executor", 10, 14, 20),
]
"""In the order shown; optional columns give way right to left (executor first, then started, took, name)."""
OPTIONAL_ORDER = ["name", "duration", "started", "executor"]
LOOK_AROUND = 200
"""Rows read past the window while a workflow is held: how far it may be pushed by arrivals between reads."""
SORTS = ["created", "updated", "name", "status", "id"]
SORT_LABELS = {"created": "newest first", "updated": "recently changed", "name": "name", "status": "status", "id": "id"}
COUNTS_EVERY = 0.25
CAPTURE_PAGE = 5000
BULK = frozenset({"bulk_cancel", "bulk_resume", "bulk_delete"})
SPARK_CELLS = {80: 10, 120: 20, 160: 30}
SHORT_STATUS = {"ENQUEUED": "ENQ", "PENDING": "PEND", "SUCCESS": "OK", "ERROR": "ERR", "CANCELLED": "CANC"}

EMPTY_TEXT = """[b]No workflows in this database yet.[/b]

Start the demo in another terminal:

    [b]durable-tui demo[/b]

or run your own application with an Engine on this database.
Workflows appear here the moment they start: nothing to refresh."""
EMPTY = Text.from_markup(EMPTY_TEXT)
"""What the list says while the database has no workflow at all (one that the filter hides shows the header)."""


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    name: str | None = None
    id_prefix: str | None = None
    queue: str | None = None

    def query(self) -> dict[str, str | None]:
        """The filter as `Control.summaries` / `Control.count` take it."""
        return {"status": self.status, "name": self.name, "id_prefix": self.id_prefix, "queue": self.queue}

    def describe(self) -> str:
        parts = [
            f"status={self.status}" if self.status else "",
            f"name={self.name}" if self.name else "",
            f"id^={self.id_prefix}" if self.id_prefix else "",
            f"queue={self.queue}" if self.queue else "",
        ]
        return " ".join(p for p in parts if p) or "all workflows"


@dataclass
class Page:
    offset: int
    rows: list[WorkflowSummary]
    total: int | None
    counts: dict[str, int] | None
    held: str | None = None
    """The held workflow's id when it is in `rows` (the cursor goes there), else None (it was not found)."""


def layout(width: int) -> list[Placed]:
    """The list's columns at `width`: optional columns join in OPTIONAL_ORDER while they fit."""
    ordered = [c for c in COLUMNS if c.essential] + [c for k in OPTIONAL_ORDER for c in COLUMNS if c.key == k]
    shown = {p.key: p for p in fit(ordered, width)}
    return [shown[c.key] for c in COLUMNS if c.key in shown]


class WorkflowsScreen(WorkflowActions):
    BINDINGS = [
        Binding(
            "enter",
            "open",
            "Open",
            show=False,
            tooltip="Open the workflow: the timeline of its run, attempts, values, countdowns",
        ),
        *WORKFLOW_BINDINGS,
        Binding("slash", "search", "Search", tooltip="Search workflows by id prefix"),
        Binding("s", "cycle_status", "Status", tooltip="Filter by status (each press: the next status)"),
        Binding("t", "pick_name", "Name", tooltip="Filter by workflow name (pick from the list)"),
        Binding("u", "pick_queue", "Queue", show=False, tooltip="Filter by queue (pick from the list)"),
        Binding("o", "cycle_sort", "Sort", tooltip="Sort: newest, recently changed, name, status, id"),
        Binding(
            "K",
            "bulk_cancel",
            "Cancel all",
            tooltip="Cancel every PENDING/ENQUEUED workflow the filter shows (asks first)",
        ),
        Binding(
            "R",
            "bulk_resume",
            "Resume all",
            tooltip="Resume/recover every CANCELLED/ERROR/dead-PENDING workflow the filter shows (asks first)",
        ),
        Binding(
            "D", "bulk_delete", "Delete all", tooltip="Delete every finished workflow the filter shows (asks first)"
        ),
    ]
    FOOTER_DROP = (
        "send_message",
        "bulk_delete",
        "bulk_resume",
        "bulk_cancel",
        "quit",
        "cycle_sort",
        "fork",
        "delete",
        "pick_name",
        "cycle_status",
        "search",
        "retry_now",
    )

    def __init__(self) -> None:
        super().__init__()
        self.filters = Filters()
        self.sort = "created"
        self.page: list[WorkflowSummary] = []
        self.counts: dict[str, int] = {}
        self.total = 0
        self.loaded = False
        self.cursor_hint: str | int | None = None
        self.held: str | None = None
        """The workflow the user chose (by id): the cursor stays on it through arrivals, sorts and filters.
        None: nothing chosen yet (or `g`), the cursor stays at the top of the list, on the newest."""
        self.hold_after_move = False
        self.columns: list[Placed] = []
        self.counts_due = True
        self.counts_at = 0.0
        self.counts_timer = False
        self.second = -1
        self.spark_second = -1
        self.throughput_width = -1
        self.counts_shown: Text | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="list-header"):
            yield Static("", id="counts")
            yield Static("", id="throughput")
        search = Input(placeholder="workflow id starts with…  (enter: done, esc: clear)", id="search")
        search.cursor_blink = not self.dash.steady
        yield search
        table = WindowTable(id="workflows")
        self.columns = layout(self.app.size.width)
        table.set_columns(self._table_columns())
        yield table

    @property
    def table(self) -> WindowTable:
        return self.query_one("#workflows", WindowTable)

    @property
    def column_keys(self) -> list[str]:
        return [c.key for c in self.columns]

    def _table_columns(self) -> list[TableColumn]:
        return [TableColumn(c.key, c.label, c.width) for c in self.columns]

    def on_resize(self) -> None:
        """Refit the columns to the new width; rebuild the table only when the layout changed."""
        columns = layout(self.size.width)
        if columns == self.columns:
            return
        self.columns = columns
        table = self.table
        keep = self.page[min(table.cursor_row, len(self.page) - 1)].workflow_id if self.page else None
        table.set_columns(self._table_columns())
        self._fill(keep)
        self._show_throughput()

    def on_mount(self) -> None:
        super().on_mount()
        self.refresher = Refresher(self, self._load, self._apply, self._failed)
        self.query_one("#search").display = False
        self.table.focus()
        self.apply_changes(Changes.all())

    # reading ---------------------------------------------------------------------------------

    def apply_changes(self, changes: Changes) -> None:
        if changes.everything or changes.workflow_status:
            self.counts_due = True
        visible = {row.workflow_id for row in self.page}
        if changes.everything or changes.workflow_status or changes.workflows & visible:
            self.refresher.request()

    def _load(self) -> Page:
        ctl = self.dash.control
        f, sort, offset, size = self.filters, self.sort, self.table.window_offset, self.table.page_size
        total = counts = None
        wants_counts = self.counts_due and time.monotonic() - self.counts_at >= COUNTS_EVERY
        if wants_counts or not self.loaded:
            self.counts_due = False
            self.counts_at = time.monotonic()
            counts = ctl.status_counts()
            total = ctl.count(**f.query()) if f != Filters() else sum(counts.values())
        held = self.held
        if held is not None:
            page = self._find_held(held, offset, size, self.table.cursor_row)
            if page is not None:
                return Page(page[0], page[1], total, counts, held)
        rows = ctl.summaries(**f.query(), sort=sort, limit=size, offset=offset)
        if not rows and offset > 0:
            known = total if total is not None else self.total
            offset = max(0, min(offset, known) - size)
            rows = ctl.summaries(**f.query(), sort=sort, limit=size, offset=offset)
        return Page(offset, rows, total, counts)

    def _find_held(self, held: str, offset: int, size: int, cursor: int) -> tuple[int, list[WorkflowSummary]] | None:
        """The window that shows `held`: the current one if it is still in it (the cursor follows it), else
        the nearest one (scrolled just enough). Rows around the window are read, so a workflow pushed down
        by arrivals (or up by deletions) since the last read is found; one query."""
        low = max(0, offset - size)
        rows = self.dash.control.summaries(
            **self.filters.query(),
            sort=self.sort,
            limit=2 * size + LOOK_AROUND,
            offset=low,
        )
        at = next((i for i, r in enumerate(rows) if r.workflow_id == held), None)
        if at is None:
            return None
        position = low + at
        start = offset if offset <= position < offset + size else max(0, position - min(cursor, size - 1))
        window = rows[start - low : start - low + size]
        if len(window) < size and len(rows) == 2 * size + LOOK_AROUND:  # pushed far: read its window itself
            window = self.dash.control.summaries(**self.filters.query(), sort=self.sort, limit=size, offset=start)
        return start, window

    def _apply(self, page: Page) -> None:
        self.loaded = True
        if page.counts is not None:
            self.counts = page.counts
            self.total = page.total or 0
        elif self.counts_due and not self.counts_timer:
            self.counts_timer = True
            self.set_timer(COUNTS_EVERY, self._counts_later)
        table = self.table
        table.window_offset = page.offset
        table.total = max(self.total, page.offset + len(page.rows))
        self.page = page.rows
        hint, self.cursor_hint = self.cursor_hint, None
        if page.held is not None:
            self._fill(page.held)
        else:
            self._fill(None)
            if table.row_count and hint is not None:
                row = {"first": 0, "last": table.row_count - 1}.get(hint, hint) if isinstance(hint, str) else hint
                table.move_cursor(row=min(int(row), table.row_count - 1), animate=False)
            if self.held is not None or self.hold_after_move:
                # the held workflow left the list (filtered out, deleted): hold what the cursor is on now
                self.held = self.page[table.cursor_row].workflow_id if self.page and table.row_count else None
        self.hold_after_move = False
        table.set_placeholder(EMPTY if sum(self.counts.values()) == 0 else None)
        self._show_counts()
        self.sync_bindings()

    def _fill(self, keep: str | None) -> None:
        """Show `self.page` in the table, the cursor on `keep` if it is there (else on the same row). Rows are
        positions: arrivals shift values through the lines, and only the lines that look different repaint."""
        now = self.dash.clock()
        at = next((i for i, r in enumerate(self.page) if r.workflow_id == keep), None) if keep is not None else None
        self.table.show_rows([self._cells(r, now) for r in self.page], at)

    def shown(self, workflow_id: str, column: str) -> object:
        """What the list shows in `column` for `workflow_id` (rows are keyed by position); None when the
        workflow is not on the page or the column is not shown."""
        row = next((i for i, r in enumerate(self.page) if r.workflow_id == workflow_id), None)
        if row is None or column not in self.column_keys or row >= self.table.row_count:
            return None
        return self.table.get_cell(row, column)

    def executors_changed(self) -> None:
        self._refresh_pending(self.dash.clock(), every_second=True)
        self.sync_bindings()
        if any(r.status == WorkflowStatus.ENQUEUED and r.queue_name for r in self.page):
            self.refresher.request()  # whether a live worker serves their queue is read with them

    def orphaned(self, r: WorkflowSummary, now: datetime) -> bool:
        """PENDING on an executor that stopped or missed its lease: nothing runs it until it is recovered."""
        return r.status == WorkflowStatus.PENDING and worker_dead(
            r.executor_id, self.dash.heartbeats, now, self.dash.control.lease_seconds
        )

    def _counts_later(self) -> None:
        """The trailing read that ends a burst on exact counts, unless a re-read since (a burst's flushes come every
        50 ms) has taken the counts already: under a burst it would be one more reload and repaint of the whole list
        four times a second."""
        self.counts_timer = False
        if self.counts_due:
            self.refresher.request()

    def _failed(self, exc: BaseException) -> None:
        self.counts_due = True

    def _show_counts(self) -> None:
        text = Text(" ")
        counts = [(status, f"{self.counts.get(status, 0):,}") for status in WorkflowStatus]
        room = self.query_one("#counts", Static).size.width or self.app.size.width // 2
        full = 1 + sum(len(status) + len(n) + 2 for status, n in counts) + 2 + len(f"{sum(self.counts.values()):,}")
        for status, n in counts:  # a narrow terminal gets short labels: the figures must fit on one line
            text.append(f"{status if full <= room else SHORT_STATUS[status]} ", style=STATUS_STYLES[status])
            text.append(f"{n} ")
        text.append(f"│ {sum(self.counts.values()):,}\n", style="bold")
        first = self.table.window_offset + 1 if self.page else 0
        text.append(f" {self.filters.describe()} · sort: {SORT_LABELS[self.sort]} · ", style="dim")
        if self.page:
            last = self.table.window_offset + len(self.page)
            # the total comes from the counts, read apart from the page: a row just started may be in one only
            text.append(f"rows {first:,}–{last:,} of {max(self.total, last):,}", style="dim")
        else:
            text.append("no workflow matches", style="dim")
        if text == self.counts_shown:  # most re-reads of a burst leave the figures as they were: no redraw
            return
        self.counts_shown = text
        self.query_one("#counts", Static).update(text, layout=False)  # its size is fixed: no screen reflow

    def _show_throughput(self) -> None:
        """The sparklines, once a second. Their box is as wide as its text (`width: auto`), so a redraw of
        the same width skips the screen's layout: a layout of the whole screen cost 20-50 ms of the UI
        loop under a burst, where the figures change every second and their width almost never."""
        width = self.size.width or self.app.size.width
        cells = max(c for w, c in SPARK_CELLS.items() if width >= w or w == 80)
        text = self.dash.throughput.render(cells)
        widest = max(line.cell_len for line in text.split())
        self.query_one("#throughput", Static).update(text, layout=widest != self.throughput_width)
        self.throughput_width = widest

    def _cells(self, r: WorkflowSummary, now: datetime) -> list[object]:
        width = {c.key: c.width for c in self.columns}
        step = f"{r.step_id} {r.step_name}" if r.step_id is not None else ""
        cells: dict[str, Callable[[], object]] = {
            "id": lambda: middle(r.workflow_id, width["id"]),
            "name": lambda: clip(r.name, width["name"]),
            "status": lambda: status_text(r.status),
            "step": lambda: clip(step, width["step"]),
            "info": lambda: self._info(r, now),
            "started": lambda: clock_time(r.started_at or r.created_at, now),
            "duration": lambda: duration(r.started_at, r.finished_at if r.status in FINAL_STATUSES else None, now),
            "executor": lambda: self._executor(r, now),
        }
        return [cells[key]() for key in self.column_keys]

    def _executor(self, r: WorkflowSummary, now: datetime) -> Text | str:
        width = next((c.width for c in self.columns if c.key == "executor"), 14)
        if self.orphaned(r, now):
            return Text(middle(r.executor_id or "", width), style="bold red")
        return middle(r.executor_id or "", width)

    def _info(self, r: WorkflowSummary, now: datetime) -> Text | str:
        width = next((c.width for c in self.columns if c.key == "info"), 24)
        if self.orphaned(r, now):
            return Text(clip("worker dead" if self.dash.read_only else "worker dead: r recovers", width), "bold red")
        return live_wait(r, now, width)

    def tick(self, now: datetime) -> None:
        new_second = int(now.timestamp()) != self.second
        self.second = int(now.timestamp())
        self._refresh_pending(now, new_second)
        if new_second:
            self.sync_bindings()  # a lease running out makes `r` apply
        if int(time.monotonic()) != self.spark_second:
            self.spark_second = int(time.monotonic())
            self._show_throughput()

    def _refresh_pending(self, now: datetime, every_second: bool) -> None:
        """Countdowns every tick; durations and the dead-worker mark (a lease expiring) once a second."""
        changes: list[tuple[int, str, object]] = []
        for row, r in enumerate(self.page):
            if r.status == WorkflowStatus.ENQUEUED and (r.not_before or r.next_slot_at) is not None:
                changes.append((row, "info", self._info(r, now)))
            if r.status != WorkflowStatus.PENDING:
                continue
            if r.next_attempt_at is not None or every_second:
                changes.append((row, "info", self._info(r, now)))
            if every_second:
                changes.append((row, "duration", duration(r.started_at, None, now)))
                changes.append((row, "executor", self._executor(r, now)))
        self.table.update_cells(changes)

    # navigation and filters -----------------------------------------------------------------

    def selected(self) -> Target | None:
        table = self.table
        if not self.page or not table.row_count:
            return None
        row = self.page[min(table.cursor_row, len(self.page) - 1)]
        return Target(
            row.workflow_id,
            row.status,
            waiting=row.step_status in WAITING_STEPS,
            orphaned=self.orphaned(row, self.dash.clock()),
            topic=waiting_topic(row.step_name) if row.step_status == StepStatus.WAITING else None,
        )

    def bindings_state(self) -> Hashable:
        return super().bindings_state(), bool(self.page)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed and action in BULK and not self.page:
            return None
        return allowed

    @on(LineTable.RowHighlighted, "#workflows")
    def _highlighted(self) -> None:
        self.sync_bindings()

    @on(WindowTable.Chosen)
    def _chosen(self, message: WindowTable.Chosen) -> None:
        """The user moved the cursor: from now on it stays on that workflow (`g`/home: back to the newest)."""
        table = self.table
        held = message.hold and self.page and table.row_count
        self.held = self.page[table.cursor_row].workflow_id if held else None

    @on(WindowTable.Move)
    def _moved(self, message: WindowTable.Move) -> None:
        self.table.window_offset = message.offset
        self.cursor_hint = message.cursor
        self.held = None
        self.hold_after_move = message.hold
        self.refresher.request()

    @on(LineTable.RowSelected, "#workflows")
    def _row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        target = self.selected()
        if target is not None:
            self.dash.open_workflow(target.workflow_id)

    def _refilter(self, filters: Filters) -> None:
        """Show another filter or sort from the top; a held workflow that is still listed near the top stays
        under the cursor (one further from the top than LOOK_AROUND rows is let go: finding it would read
        the list up to it)."""
        self.filters = filters
        self.table.window_offset = 0
        self.cursor_hint = "first"
        self.counts_due = True
        self.counts_at = 0.0
        self.refresher.request()

    def action_cycle_status(self) -> None:
        order: list[str | None] = [None, *list(WorkflowStatus)]
        status = order[(order.index(self.filters.status) + 1) % len(order)]
        self._refilter(replace(self.filters, status=status))

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._refilter(self.filters)

    def action_pick_name(self) -> None:
        self.run_worker(self._pick_name(), group="pick", exit_on_error=False)

    async def _pick_name(self) -> None:
        names = await asyncio.to_thread(self.dash.control.workflow_names)
        options = [("(all names)", ""), *((n, n) for n in names)]

        def picked(name: str | None) -> None:
            if name is not None:
                self._refilter(replace(self.filters, name=name or None))

        self.app.push_screen(PickScreen("Show workflows named", options), picked)

    def show_queue(self, queue: str | None) -> None:
        """List only the workflows of `queue` (None: of every queue), the other filters kept."""
        self._refilter(replace(self.filters, queue=queue))

    def action_pick_queue(self) -> None:
        self.run_worker(self._pick_queue(), group="pick", exit_on_error=False)

    async def _pick_queue(self) -> None:
        queues = await asyncio.to_thread(self.dash.control.list_queues)
        options = [("(all queues)", ""), *((q.name, q.name) for q in queues)]

        def picked(queue: str | None) -> None:
            if queue is not None:
                self.show_queue(queue or None)

        self.app.push_screen(PickScreen("Show workflows of queue", options), picked)

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.display = True
        search.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        term = event.value.strip() or None
        try:
            check_filter(term, "an id search")
        except InvalidInput as exc:  # e.g. a pasted NUL byte: say why, keep the list as it is
            self.notify(str(exc), title="Search", severity="error")
            return
        self._refilter(replace(self.filters, id_prefix=term))

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        search = self.query_one("#search", Input)
        search.display = bool(search.value)
        self._leave_search()

    def on_key(self, event) -> None:  # type: ignore[no-untyped-def]
        search = self.query_one("#search", Input)
        if event.key == "escape" and search.has_focus:
            event.stop()
            search.value = ""
            search.display = False
            self._leave_search()

    def _leave_search(self) -> None:
        """The next keys act on the list (empty or not): the table takes the focus, never the search box."""
        self.table.focus()

    # bulk ----------------------------------------------------------------------------------------

    def _capture(self, statuses: Iterable[str]) -> list[str]:
        """Every id the filter shows now, among `statuses`: the exact target of a bulk action."""
        f, ctl = self.filters, self.dash.control
        ids: list[str] = []
        for status in [s for s in statuses if f.status in (None, s)]:
            offset = 0
            while True:
                page = ctl.summaries(**{**f.query(), "status": status}, sort="id", limit=CAPTURE_PAGE, offset=offset)
                ids.extend(r.workflow_id for r in page)
                if len(page) < CAPTURE_PAGE:
                    break
                offset += CAPTURE_PAGE
        return ids

    def _bulk(self, title: str, statuses: Iterable[str], consequence: str, act: str) -> None:
        self.run_worker(self._bulk_confirm(title, statuses, consequence, act), group="bulk", exit_on_error=False)

    async def _bulk_confirm(self, title: str, statuses: Iterable[str], consequence: str, act: str) -> None:
        described = self.filters.describe()
        ids = await asyncio.to_thread(self._capture, statuses)
        if not ids:
            self.notify(f"nothing to {act} in {described} ({'/'.join(statuses)})", severity="warning")
            return
        ctl = self.dash.control
        pending: set[str] = set()
        fn = {
            "cancel": lambda: ctl.cancel_ids(ids),
            "resume": lambda: (
                ctl.resume_ids([i for i in ids if i not in pending]) + ctl.recover_ids([i for i in ids if i in pending])
            ),
            "delete": lambda: ctl.delete_ids(ids),
        }[act]
        if act == "resume":
            pending = set(await asyncio.to_thread(self._capture, (WorkflowStatus.PENDING,)))
        self.confirm(
            f"{title}: {len(ids):,} workflows ({described})",
            ids,
            consequence,
            fn,
            lambda n: f"{act}: {n:,} workflows done",
        )

    def action_bulk_cancel(self) -> None:
        self._bulk(
            "Cancel all",
            (WorkflowStatus.PENDING, WorkflowStatus.ENQUEUED),
            "Each becomes CANCELLED and stops at its next step.",
            "cancel",
        )

    def action_bulk_resume(self) -> None:
        self._bulk(
            "Resume/recover all",
            (WorkflowStatus.CANCELLED, WorkflowStatus.ERROR, WorkflowStatus.PENDING),
            "CANCELLED/ERROR ones resume from their last checkpoint; PENDING ones of dead workers are "
            "handed to a live worker (those of live workers are skipped).",
            "resume",
        )

    def action_bulk_delete(self) -> None:
        self._bulk("Delete all", FINAL_STATUSES, "They are deleted for good, with their steps and attempts.", "delete")
