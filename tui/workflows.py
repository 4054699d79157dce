"""The Workflows screen: counts per status, filters, id search, sort, and one SQL-paged window of rows.

Only the rows on screen are ever read (`summaries(limit=page, offset=...)`), so 100,000 workflows cost
the same as 40. A flush of changes reloads the window (one query); the counts (two more) at most every
0.25 s, with a trailing reload so a burst always ends on exact figures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import CellDoesNotExist

from engine.records import ExecutorRecord, WorkflowSummary
from engine.states import FINAL_STATUSES, WorkflowStatus
from tui.dialogs import PickScreen
from tui.format import STATUS_STYLES, clip, clock_time, countdown, duration, status_text
from tui.live import Changes, Refresher
from tui.widgets import WindowTable, set_rows
from tui.workflow_actions import WAITING_STEPS, WORKFLOW_BINDINGS, Target, WorkflowActions, worker_dead

COLUMNS = [
    ("id", "id", 24),
    ("name", "name", 18),
    ("status", "status", 9),
    ("step", "step", 20),
    ("attempt", "try", 7),
    ("info", "wait / note", 24),
    ("started", "started", 8),
    ("duration", "took", 7),
    ("executor", "executor", 14),
]
COLUMN_KEYS = [key for key, _, _ in COLUMNS]
SORTS = ["created", "updated", "name", "status", "id"]
SORT_LABELS = {"created": "newest first", "updated": "recently changed", "name": "name", "status": "status", "id": "id"}
COUNTS_EVERY = 0.25
CAPTURE_PAGE = 5000
BULK = frozenset({"bulk_kill", "bulk_resume", "bulk_delete"})

EMPTY_TEXT = """[b]No workflows in this database yet.[/b]

Start the demo in another terminal:

    [b]durable-tui demo[/b]

or run your own application with an Engine on this database.
Workflows appear here the moment they start: nothing to refresh."""


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    name: str | None = None
    id_prefix: str | None = None

    def describe(self) -> str:
        parts = [
            f"status={self.status}" if self.status else "",
            f"name={self.name}" if self.name else "",
            f"id^={self.id_prefix}" if self.id_prefix else "",
        ]
        return " ".join(p for p in parts if p) or "all workflows"


@dataclass
class Page:
    offset: int
    rows: list[WorkflowSummary]
    total: int | None
    counts: dict[str, int] | None


class WorkflowsScreen(WorkflowActions):
    BINDINGS = [
        Binding("enter", "open", "Open", show=False, tooltip="Open the workflow: steps, attempts, values, countdowns"),
        *WORKFLOW_BINDINGS,
        Binding("slash", "search", "Search", tooltip="Search workflows by id prefix"),
        Binding("s", "cycle_status", "Status", tooltip="Filter by status (each press: the next status)"),
        Binding("t", "pick_name", "Name", tooltip="Filter by workflow name (pick from the list)"),
        Binding("o", "cycle_sort", "Sort", tooltip="Sort: newest, recently changed, name, status, id"),
        Binding(
            "K",
            "bulk_kill",
            "Kill all",
            tooltip="Kill every PENDING/ENQUEUED workflow the filter shows (asks first)",
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
        "bulk_delete",
        "bulk_resume",
        "bulk_kill",
        "quit",
        "cycle_sort",
        "replay",
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
        self.counts_due = True
        self.counts_at = 0.0
        self.counts_timer = False
        self.second = -1
        self.heartbeats: dict[str, datetime | None] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("", id="counts")
        search = Input(placeholder="workflow id starts with…  (enter: done, esc: clear)", id="search")
        search.cursor_blink = not self.dash.steady
        yield search
        table = WindowTable(id="workflows")
        for key, label, width in COLUMNS:
            table.add_column(label, width=width, key=key)
        yield table
        yield Static(EMPTY_TEXT, id="empty")

    @property
    def table(self) -> WindowTable:
        return self.query_one("#workflows", WindowTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.refresher = Refresher(self, self._load, self._apply, self._failed)
        self.workers_refresher = Refresher(self, self.dash.control.workers, self._apply_workers)
        self.query_one("#search").display = False
        self.query_one("#empty").display = False
        self.table.focus()
        self.apply_changes(Changes.all())

    # reading ---------------------------------------------------------------------------------

    def apply_changes(self, changes: Changes) -> None:
        if changes.everything or changes.workflow_status:
            self.counts_due = True
        if changes.everything or changes.executors:
            self.workers_refresher.request()
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
            total = ctl.count(f.status, f.name, f.id_prefix) if f != Filters() else sum(counts.values())
        rows = ctl.summaries(status=f.status, name=f.name, id_prefix=f.id_prefix, sort=sort, limit=size, offset=offset)
        if not rows and offset > 0:
            known = total if total is not None else self.total
            offset = max(0, min(offset, known) - size)
            rows = ctl.summaries(
                status=f.status, name=f.name, id_prefix=f.id_prefix, sort=sort, limit=size, offset=offset
            )
        return Page(offset, rows, total, counts)

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
        keep = self.selected()
        self.page = page.rows
        now = self.dash.clock()
        set_rows(
            table,
            [(r.workflow_id, self._cells(r, now)) for r in page.rows],
            COLUMN_KEYS,
            keep.workflow_id if keep else None,
        )
        hint, self.cursor_hint = self.cursor_hint, None
        if table.row_count and hint is not None:
            row = {"first": 0, "last": table.row_count - 1}.get(hint, hint) if isinstance(hint, str) else hint
            table.move_cursor(row=min(int(row), table.row_count - 1), animate=False)
        empty = sum(self.counts.values()) == 0
        self.query_one("#empty").display = empty
        table.display = not empty
        self._show_counts()
        self.sync_bindings()

    def _apply_workers(self, workers: list[ExecutorRecord]) -> None:
        self.heartbeats = {w.executor_id: None if w.stopped_at else w.heartbeat_at for w in workers}
        self._refresh_pending(self.dash.clock(), every_second=True)
        self.sync_bindings()

    def orphaned(self, r: WorkflowSummary, now: datetime) -> bool:
        """PENDING on an executor that stopped or missed its lease: nothing runs it until it is recovered."""
        return r.status == WorkflowStatus.PENDING and worker_dead(
            r.executor_id, self.heartbeats, now, self.dash.control.lease_seconds
        )

    def _counts_later(self) -> None:
        self.counts_timer = False
        self.refresher.request()

    def _failed(self, exc: BaseException) -> None:
        self.counts_due = True

    def _show_counts(self) -> None:
        text = Text(" ")
        for status in list(WorkflowStatus):
            text.append(f"{status} ", style=STATUS_STYLES[status])
            text.append(f"{self.counts.get(status, 0):,}  ")
        text.append(f"│ total {sum(self.counts.values()):,}\n", style="bold")
        first = self.table.window_offset + 1 if self.page else 0
        text.append(f" {self.filters.describe()} · sort: {SORT_LABELS[self.sort]} · ", style="dim")
        if self.page:
            text.append(f"rows {first:,}–{self.table.window_offset + len(self.page):,} of {self.total:,}", style="dim")
        else:
            text.append("no workflow matches", style="dim")
        self.query_one("#counts", Static).update(text)

    def _cells(self, r: WorkflowSummary, now: datetime) -> list[object]:
        step = f"{r.step_id} {r.step_name}" if r.step_id is not None else ""
        attempt = (
            f"{r.attempt}/{r.max_attempts}"
            if r.attempt and r.max_attempts and (r.attempt > 1 or r.status not in FINAL_STATUSES)
            else ""
        )
        return [
            clip(r.workflow_id, 24),
            clip(r.name, 18),
            status_text(r.status),
            clip(step, 20),
            attempt,
            self._info(r, now),
            clock_time(r.started_at or r.created_at, now),
            duration(r.started_at, r.finished_at if r.status in FINAL_STATUSES else None, now),
            self._executor(r, now),
        ]

    def _executor(self, r: WorkflowSummary, now: datetime) -> Text | str:
        if self.orphaned(r, now):
            return Text(clip(r.executor_id or "", 14), style="bold red")
        return clip(r.executor_id or "", 14)

    def _info(self, r: WorkflowSummary, now: datetime) -> Text | str:
        if self.orphaned(r, now):
            return Text("worker dead" if self.dash.read_only else "worker dead: r recovers", style="bold red")
        if r.status == WorkflowStatus.PENDING:
            wait = countdown(r.step_status, r.attempt, r.max_attempts, r.next_attempt_at, now)
            if wait is not None:
                return wait
        if r.wait_reason:
            return Text(clip(r.wait_reason, 24), style="italic")
        if r.status not in FINAL_STATUSES and r.step_status:
            return Text(r.step_status.lower(), style=STATUS_STYLES.get(r.step_status, ""))
        return ""

    def tick(self, now: datetime) -> None:
        new_second = int(now.timestamp()) != self.second
        self.second = int(now.timestamp())
        self._refresh_pending(now, new_second)
        if new_second:
            self.sync_bindings()  # a lease running out makes `r` apply

    def _refresh_pending(self, now: datetime, every_second: bool) -> None:
        """Countdowns every tick; durations and the dead-worker mark (a lease expiring) once a second."""
        table = self.table
        for r in self.page:
            if r.status != WorkflowStatus.PENDING:
                continue
            if r.next_attempt_at is not None or every_second:
                self._set(table, r.workflow_id, "info", self._info(r, now))
            if every_second:
                self._set(table, r.workflow_id, "duration", duration(r.started_at, None, now))
                self._set(table, r.workflow_id, "executor", self._executor(r, now))

    @staticmethod
    def _set(table: DataTable, row: str, column: str, value: object) -> None:
        try:
            if table.get_cell(row, column) != value:
                table.update_cell(row, column, value)
        except CellDoesNotExist:
            pass

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
        )

    def bindings_state(self) -> Hashable:
        return super().bindings_state(), bool(self.page)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed and action in BULK and not self.page:
            return None
        return allowed

    @on(DataTable.RowHighlighted, "#workflows")
    def _highlighted(self) -> None:
        self.sync_bindings()

    @on(WindowTable.Move)
    def _moved(self, message: WindowTable.Move) -> None:
        self.table.window_offset = message.offset
        self.cursor_hint = message.cursor
        self.refresher.request()

    @on(DataTable.RowSelected, "#workflows")
    def _row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        target = self.selected()
        if target is not None:
            self.dash.open_workflow(target.workflow_id)

    def _refilter(self, filters: Filters) -> None:
        self.filters = filters
        self.table.window_offset = 0
        self.cursor_hint = "first"
        self.counts_due = True
        self.counts_at = 0.0
        self.refresher.request()

    def action_cycle_status(self) -> None:
        order = [None, *list(WorkflowStatus)]
        status = order[(order.index(self.filters.status) + 1) % len(order)]
        self._refilter(Filters(status, self.filters.name, self.filters.id_prefix))

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
                self._refilter(Filters(self.filters.status, name or None, self.filters.id_prefix))

        self.app.push_screen(PickScreen("Show workflows named", options), picked)

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.display = True
        search.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._refilter(Filters(self.filters.status, self.filters.name, event.value.strip() or None))

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
        """The next keys act on the list: the table takes the focus (or nothing does, when the table is
        hidden by the empty state), never the search box."""
        if self.table.display:
            self.table.focus()
        else:
            self.set_focus(None)

    # bulk ----------------------------------------------------------------------------------------

    def _capture(self, statuses: tuple[str, ...]) -> list[str]:
        """Every id the filter shows now, among `statuses`: the exact target of a bulk action."""
        f, ctl, ids = self.filters, self.dash.control, []
        for status in [s for s in statuses if f.status in (None, s)]:
            offset = 0
            while True:
                page = ctl.summaries(
                    status=status, name=f.name, id_prefix=f.id_prefix, sort="id", limit=CAPTURE_PAGE, offset=offset
                )
                ids.extend(r.workflow_id for r in page)
                if len(page) < CAPTURE_PAGE:
                    break
                offset += CAPTURE_PAGE
        return ids

    def _bulk(self, title: str, statuses: tuple[str, ...], consequence: str, act: str) -> None:
        self.run_worker(self._bulk_confirm(title, statuses, consequence, act), group="bulk", exit_on_error=False)

    async def _bulk_confirm(self, title: str, statuses: tuple[str, ...], consequence: str, act: str) -> None:
        described = self.filters.describe()
        ids = await asyncio.to_thread(self._capture, statuses)
        if not ids:
            self.notify(f"nothing to {act} in {described} ({'/'.join(statuses)})", severity="warning")
            return
        ctl = self.dash.control
        fn = {
            "kill": lambda: ctl.cancel_ids(ids),
            "resume": lambda: (
                ctl.resume_ids([i for i in ids if i not in pending]) + ctl.recover_ids([i for i in ids if i in pending])
            ),
            "delete": lambda: ctl.delete_ids(ids),
        }[act]
        pending = set(await asyncio.to_thread(self._capture, (WorkflowStatus.PENDING,))) if act == "resume" else set()
        self.confirm(
            f"{title}: {len(ids):,} workflows ({described})",
            ids,
            consequence,
            fn,
            lambda n: f"{act}: {n:,} workflows done",
        )

    def action_bulk_kill(self) -> None:
        self._bulk(
            "Kill all",
            (WorkflowStatus.PENDING, WorkflowStatus.ENQUEUED),
            "Each becomes CANCELLED and stops at its next step.",
            "kill",
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
