"""What every dashboard screen shares: the connection bar, read-only gating, and running an operation.

Operations run in a thread (the UI never waits on the database); their outcome is a notification, and
an engine refusal (`InvalidState`, `WorkflowNotFound`) shows the engine's own one-line reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.screen import Screen

from engine.errors import DurableError
from tui.dev.banner import DevBanner
from tui.dialogs import ConfirmScreen, first_line
from tui.keys import DashFooter
from tui.live import Changes
from tui.widgets import ConnectionBar

if TYPE_CHECKING:
    from tui.app import DashboardApp

MUTATING = frozenset(
    {
        "cancel",
        "resume",
        "retry_now",
        "send_message",
        "fork",
        "fork_step",
        "inject_fault",
        "delete",
        "bulk_cancel",
        "bulk_resume",
        "bulk_delete",
        "crash_worker",
        "add_fault",
        "clear_fault",
        "clear_faults",
        "start_workflow",
        "pause_schedule",
        "resume_schedule",
        "trigger_schedule",
    }
)


class DashScreen(Screen[None]):
    """A screen of the dashboard: `compose_body` between the connection bar and the footer.

    `FOOTER_DROP`: actions in the order they leave the footer when the terminal is too narrow."""

    FOOTER_DROP: tuple[str, ...] = ("quit",)

    @property
    def dash(self) -> DashboardApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield ConnectionBar(id="bar")
        if self.dash.dev is not None:
            yield DevBanner(self.dash.dev, id="dev-banner")
        yield from self.compose_body()
        yield DashFooter(self.FOOTER_DROP)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.show_connection()

    def on_screen_resume(self) -> None:
        self.show_connection()
        self.apply_changes(Changes.all())

    def show_connection(self) -> None:
        app = self.dash
        self.query_one(ConnectionBar).show(app.where, app.connected, app.down_reason, app.read_only, app.current_mode)

    def apply_changes(self, changes: Changes) -> None:
        """Redo the reads that `changes` make stale (at most one query each, in a thread)."""

    def tick(self, now: datetime) -> None:
        """Re-render the cells that depend on the clock (countdowns, ages); no query."""

    def executors_changed(self) -> None:
        """The app re-read the workers (`dash.executors`): redraw what depends on them (no query)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in MUTATING and self.dash.read_only)

    # operations ------------------------------------------------------------------------------

    def perform(
        self, fn: Callable[[], Any], done: Callable[[Any], str], then: Callable[[Any], Any] | None = None
    ) -> None:
        """Run `fn` (a Control call) in a thread; notify `done(result)` or the refusal. On success,
        `then(result)` follows the notification (e.g. open what the action made)."""
        self.run_worker(self._perform(fn, done, then), group="action", exit_on_error=False)

    async def _perform(
        self, fn: Callable[[], Any], done: Callable[[Any], str], then: Callable[[Any], Any] | None
    ) -> None:
        app = self.dash
        app.loads_in_flight += 1
        try:
            result = await asyncio.to_thread(fn)
        except DurableError as exc:
            app.notify(str(exc), title="Refused", severity="error")
        except Exception as exc:
            app.notify(f"failed: {first_line(exc)}", title="Error", severity="error")
        else:
            app.notify(done(result), title="Done")
            if then is not None:
                then(result)
        finally:
            app.loads_in_flight -= 1

    def confirm(
        self, title: str, targets: Sequence[str], consequence: str, fn: Callable[[], Any], done: Callable[[Any], str]
    ) -> None:
        """Ask first; `fn` must already be bound to `targets` (captured now, not when "yes" is pressed)."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.perform(fn, done)

        self.app.push_screen(ConfirmScreen(title, targets, consequence), answered)
