"""The dashboard app: wires the event feed, the coalescing flush, the ticking clock and the screens.

Data flows one way: row change → trigger → NOTIFY → `EventFeed` (a long-lived async worker) →
`Changes` buffer → one flush per window → the visible screen's reads (one each, in a thread) → widgets.
A reconnect (notifications were lost) and a slow timer both reconcile everything on screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.logging import TextualHandler
from textual.screen import Screen

from engine import Control
from engine.config import DEFAULT_SCHEMA
from engine.feed import EventFeed, FeedStatus
from engine.records import ExecutorRecord
from tui.base import DashScreen
from tui.clock import Clock, DbClock
from tui.detail import DetailScreen
from tui.dev.log_screen import WorkerLogScreen
from tui.dev.status import DevSession
from tui.faults import FaultsScreen
from tui.help import HelpScreen
from tui.keys import key_label, long_description
from tui.live import Changes, Coalescer, Refresher
from tui.queues import QueuesScreen
from tui.schedules import SchedulesScreen
from tui.start_dialog import StartWorkflowScreen
from tui.strip_cycles import install as uncycle_strips
from tui.throughput import Throughput
from tui.workers import WorkersScreen
from tui.workflows import WorkflowsScreen

log = logging.getLogger("durable.tui")

YIELD_EVERY = 200


class DashboardApp(App[int]):
    """`control`: where to read and act. `clock`: now, as the database sees it (tests inject a fixed one).
    `steady`: no cursor blink, `where`: the label of the database (both for snapshots). `freeze_startup`:
    take the first screen's objects out of the cyclic collector's walks once it is up (`run_dashboard`)."""

    CSS_PATH = "dashboard.tcss"
    TITLE = "durable-tui"
    BINDINGS = [
        Binding("1", "show('workflows')", "Workflows", show=False, tooltip="Show the Workflows screen"),
        Binding("2", "show('workers')", "Workers", show=False, tooltip="Show the Workers screen"),
        Binding("3", "show('faults')", "Faults", show=False, tooltip="Show the Faults screen"),
        Binding("4", "show('queues')", "Queues", show=False, tooltip="Show the Queues screen"),
        Binding("5", "show('schedules')", "Schedules", show=False, tooltip="Show the Schedules screen"),
        Binding("w", "start_workflow", "Start", show=False, tooltip="Start a workflow by name, with JSON arguments"),
        Binding("L", "worker_log", "Log", show=False, tooltip="The dev worker's log, live (durable-tui dev)"),
        Binding("question_mark", "help", "Help", tooltip="Help: every key of every screen"),
        Binding("q", "quit", "Quit", tooltip="Quit the dashboard"),
    ]
    MODES = {
        "workflows": WorkflowsScreen,
        "workers": WorkersScreen,
        "faults": FaultsScreen,
        "queues": QueuesScreen,
        "schedules": SchedulesScreen,
    }

    def __init__(
        self,
        control: Control,
        *,
        read_only: bool = False,
        clock: Clock | None = None,
        feed: EventFeed | None = None,
        coalesce_seconds: float = 0.05,
        tick_seconds: float = 0.1,
        reconcile_seconds: float = 15.0,
        steady: bool = False,
        where: str | None = None,
        dev: DevSession | None = None,
        freeze_startup: bool = False,
    ):
        super().__init__()
        uncycle_strips()  # each frame's lines freed when dropped, not by the cyclic collector (a stall)
        self.freeze_startup = freeze_startup
        self.control = control
        self.read_only = read_only
        self.clock = DbClock(clock)
        self.feed = feed or EventFeed(control.database_url, control.events_channel)
        self.tick_seconds = tick_seconds
        self.reconcile_seconds = reconcile_seconds
        self.steady = steady
        self.dev = dev
        self.where = where or (
            control.where if control.schema == DEFAULT_SCHEMA else f"{control.where} (schema {control.schema})"
        )
        self.connected: bool | None = None
        self.down_reason = ""
        self.loads_in_flight = 0
        self.events_seen = 0
        self.throughput = Throughput()
        self._pending = Changes()
        self.coalescer = Coalescer(coalesce_seconds, self._flush_changes, self._later)
        self.startup_frozen: int | None = None
        """How many objects were frozen before the startup freeze (None: not done yet)."""
        self.executors: list[ExecutorRecord] = []
        """The workers as last read: app-level state every screen reads (whether a worker is alive), re-read
        once per executor change, whatever the screen."""

    @property
    def heartbeats(self) -> dict[str, datetime | None]:
        """Each executor's last heartbeat, None once it stopped."""
        return {w.executor_id: None if w.stopped_at else w.heartbeat_at for w in self.executors}

    def on_mount(self) -> None:
        self.executors_refresher = Refresher(self, self.control.workers, self._apply_executors)
        self.executors_refresher.request()
        self.switch_mode("workflows")
        self._calibrate()
        self._listen()
        self.set_interval(self.tick_seconds, self._tick)
        self.set_interval(self.reconcile_seconds, self.reconcile)
        if self.freeze_startup:
            self.call_after_refresh(self._freeze_startup)

    def _freeze_startup(self) -> None:
        """Take what the first screen built (its widgets, styles, CSS: ~11k objects that live as long as the
        app) out of the cyclic collector's walks, as `run_dashboard` does for the imports before the app
        runs. Why: under a burst a full collection comes about once a second and holds the UI loop for as
        long as it walks (~45k objects, 30-50 ms, before; ~30k, 15-20 ms, after). (An object frozen now
        that later dies in a cycle is never freed: the first footer's keys, once; nothing that grows.)"""
        self.startup_frozen = gc.get_freeze_count()
        gc.freeze()

    @work(group="calibrate", exit_on_error=False)
    async def _calibrate(self) -> None:
        if not self.clock.injected:
            self.clock.calibrate(await asyncio.to_thread(self.control.db_now))

    # the live feed -------------------------------------------------------------------------------

    @work(exclusive=True, group="feed", exit_on_error=False)
    async def _listen(self) -> None:
        n = 0
        async for item in self.feed.events():
            if isinstance(item, FeedStatus):
                self._feed_status(item)
                continue
            self.events_seen += 1
            self._pending.add(item)
            self.throughput.add(item)
            self.coalescer.poke()
            n += 1
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)

    def _feed_status(self, status: FeedStatus) -> None:
        was = self.connected
        self.connected = status.connected
        self.down_reason = status.reason
        for screen in self._dash_screens():
            screen.show_connection()
        if status.connected:
            if was is False:
                self.notify("database reachable again: live updates resumed", title="Reconnected")
            self.reconcile()
        else:
            log.warning("event feed down: %s", status.reason)

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        """The coalescer's scheduler: no delay is the next turn of the loop, not a timer's tick."""
        if delay > 0:
            self.set_timer(delay, callback)
        else:
            self.call_later(callback)

    def _flush_changes(self) -> None:
        changes, self._pending = self._pending, Changes()
        if changes.everything or changes.executors:
            self.executors_refresher.request()
        screen = self._visible_screen()
        if changes and screen is not None:
            screen.apply_changes(changes)

    def _apply_executors(self, executors: list[ExecutorRecord]) -> None:
        self.executors = executors
        for screen in self._dash_screens():
            screen.executors_changed()

    def reconcile(self) -> None:
        """Re-read everything on screen: after a reconnect, and now and then as a safety net."""
        self._pending.everything = True
        self._pending.workflow_status = self._pending.executors = self._pending.faults = True
        self.coalescer.poke()

    def _tick(self) -> None:
        screen = self._visible_screen()
        if screen is None:
            return
        with contextlib.suppress(NoMatches):  # a screen being composed or torn down has no table right now
            screen.tick(self.clock())

    def _dash_screens(self) -> list[DashScreen]:
        """The dashboard's screens that can take changes: a screen pushed but not yet mounted reads everything
        when it mounts, so it misses nothing."""
        return [s for s in self.screen_stack if isinstance(s, DashScreen) and s.is_mounted]

    def _visible_screen(self) -> DashScreen | None:
        screens = self._dash_screens()
        return screens[-1] if screens else None

    # navigation and actions ------------------------------------------------------------------

    def action_show(self, mode: str) -> None:
        self.switch_mode(mode)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_start_workflow(self) -> None:
        def started(workflow_id: str | None) -> None:
            if workflow_id:
                self.open_workflow(workflow_id)

        self.push_screen(StartWorkflowScreen(self.control), started)

    def action_worker_log(self) -> None:
        if self.dev is not None:
            self.push_screen(WorkerLogScreen(self.dev.log_path))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start_workflow":
            return not self.read_only
        if action == "worker_log":
            return self.dev is not None
        return True

    def open_workflow(self, workflow_id: str) -> None:
        if self.current_mode != "workflows":
            self.switch_mode("workflows")
        self.push_screen(DetailScreen(workflow_id))

    def list_queue(self, queue: str) -> None:
        """The workflow list, filtered to the workflows of `queue` (a workflow opened over it is closed)."""
        self.switch_mode("workflows")
        while len(self.screen_stack) > 1 and not isinstance(self.screen, WorkflowsScreen):
            self.pop_screen()
        if isinstance(self.screen, WorkflowsScreen):
            self.screen.show_queue(queue)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette offers every action of the current screen (those allowed), by its full description
        (so "recover" finds `r`), then Textual's own."""
        seen = set()
        for node in (screen, self):
            for binding in node.BINDINGS:
                if not isinstance(binding, Binding) or not binding.description or binding.action in seen:
                    continue
                seen.add(binding.action)
                name = binding.action.split("(")[0]
                if isinstance(screen, DashScreen) and not screen.check_action(name, ()):
                    continue
                yield SystemCommand(
                    long_description(binding),
                    f"key {key_label(binding)}",
                    partial(self.run_action, binding.action, node),
                )
        yield from super().get_system_commands(screen)


def run_dashboard(
    database_url: str | None, read_only: bool, *, schema: str = DEFAULT_SCHEMA, dev: DevSession | None = None
) -> int:
    """`durable-tui`: the dashboard on `database_url` (else $DURABLE_DATABASE_URL, else embedded)."""
    logger = logging.getLogger("durable")
    handler = TextualHandler()
    logger.addHandler(handler)
    logger.propagate = False  # the engine's log lines must not scribble over the screen
    try:
        with Control(database_url, schema=schema) as control:
            app = DashboardApp(control, read_only=read_only, dev=dev, freeze_startup=True)
            # Everything imported so far lives as long as the process: out of the cyclic collector's walks,
            # a full collection no longer stalls the UI loop for the size of Textual and rich (~40k objects).
            gc.freeze()
            app.run()
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return app.return_code or 0  # 1 when the app crashed: a script must not read a crash as success
