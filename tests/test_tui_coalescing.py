"""The live list as changes arrive: the first change after a quiet period is shown at once, a burst is
folded into one flush, changed cells are updated in place under a cursor that stays put, and only the
lines that look different are drawn again.

The coalescer's clock and scheduler are replaced (no timed assertion): the window is 600 s, so anything
shown before the fake clock passes it was shown without waiting for the window."""

from __future__ import annotations

import gc
from collections.abc import Callable

from engine import Control
from tests.tui_data import make_app, run, settle, until
from tui.workflows import WorkflowsScreen


def listed(app) -> list[str]:
    return [r.workflow_id for r in app.screen.page]


def test_the_first_change_after_a_quiet_period_is_shown_at_once_and_a_burst_is_folded(control: Control) -> None:
    control.enqueue_workflow("co.flow", workflow_id="old-1")

    async def scenario() -> None:
        app = make_app(control, coalesce_seconds=600.0)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot)
            now = [1000.0]
            held: list[Callable[[], None]] = []

            def schedule(delay: float, callback: Callable[[], None]) -> None:
                if delay > 0:
                    held.append(callback)  # the trailing flush: run below, once the fake clock has passed
                else:
                    app.call_later(callback)

            app.coalescer.clock = lambda: now[0]
            app.coalescer.schedule = schedule
            app.coalescer.last = now[0]
            now[0] += 601.0  # a quiet period longer than the window
            control.enqueue_workflow("co.flow", workflow_id="first")
            await until(pilot, lambda: listed(app)[:1] == ["first"])
            assert not held, "the first change did not wait for the window"

            for i in range(20):  # within the window of that flush: folded, held back
                control.enqueue_workflow("co.flow", workflow_id=f"burst-{i:02d}")
            await until(pilot, lambda: app._pending.events >= 20)
            assert len(held) == 1 and app.coalescer.due, "one flush for the whole burst"
            assert "burst-19" not in listed(app)
            now[0] += 600.0
            held.pop()()
            await until(pilot, lambda: listed(app)[:1] == ["burst-19"] and app.loads_in_flight == 0)
            assert listed(app)[:3] == ["burst-19", "burst-18", "burst-17"] and not app.coalescer.due

    run(scenario)


def test_a_changed_cell_is_updated_in_place_under_the_cursor(control: Control) -> None:
    for i in range(1, 6):
        control.enqueue_workflow("co.flow", workflow_id=f"cell-{i}")

    async def scenario() -> None:
        app = make_app(control)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, WorkflowsScreen)
            table = screen.table
            await pilot.press("down", "down")
            assert table.cursor_row == 2 and listed(app)[2] == "cell-3"
            keys = [k.value for k in table.rows]
            control.cancel("cell-1")  # the last row
            await until(pilot, lambda: str(table.get_cell("4", "status")) == "CANCELLED")
            assert [k.value for k in table.rows] == keys == ["0", "1", "2", "3", "4"], "no rebuild: same rows"
            assert table.cursor_row == 2 and listed(app)[2] == "cell-3"
            control.enqueue_workflow("co.flow", workflow_id="cell-6")  # arrives above: values shift down
            await until(pilot, lambda: listed(app)[:1] == ["cell-6"] and app.loads_in_flight == 0)
            assert table.cursor_row == 3 and listed(app)[3] == "cell-3", "the cursor follows its workflow"
            now = app.clock()
            for i, r in enumerate(screen.page):
                assert [str(c) for c in table.get_row(str(i))] == [str(c) for c in screen._cells(r, now)]

    run(scenario)


def test_a_burst_off_screen_draws_no_line_and_a_change_on_screen_draws_only_its_own(control: Control) -> None:
    """The mechanism that keeps a burst's frames cheap: a re-read whose window looks the same draws nothing,
    and one changed row draws one line (the table counts the lines Textual asks it to draw)."""
    ids = [f"row-{i:02d}" for i in range(60)]
    for wid in ids:
        control.enqueue_workflow("co.flow", workflow_id=wid)

    async def scenario() -> None:
        app = make_app(control)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, WorkflowsScreen)
            table, shown = screen.table, listed(app)
            off = [wid for wid in ids if wid not in shown]
            assert len(shown) > 10 and len(off) > 30
            applied: list[int] = []
            apply = screen.refresher.apply
            screen.refresher.apply = lambda page: (applied.append(len(page.rows)), apply(page))
            drawn = table.lines_drawn

            control.cancel_ids(off)  # a burst of changes, none to a row on screen
            await until(pilot, lambda: screen.counts.get("CANCELLED") == len(off))
            await settle(pilot)
            assert applied, "the window was read again (the counts changed)"
            assert table.lines_drawn == drawn, "it looks the same: no line drawn"

            control.cancel(shown[3])
            await until(pilot, lambda: str(screen.shown(shown[3], "status")) == "CANCELLED")
            await settle(pilot)
            assert table.lines_drawn == drawn + 1, "only that workflow's line"

    run(scenario)


def test_the_dashboard_freezes_what_its_first_screen_built(control: Control) -> None:
    """`run_dashboard` asks for it: once the first screen is up, its objects leave the collector's walks."""

    async def scenario() -> None:
        app = make_app(control, freeze_startup=True)
        try:
            async with app.run_test(size=(120, 30)) as pilot:
                await settle(pilot)
                assert app.startup_frozen is not None and gc.get_freeze_count() > app.startup_frozen
                walked = {id(o) for o in gc.get_objects()}  # (frozen objects are in no generation)
                assert id(app.screen.table) not in walked and id(app.screen) not in walked
        finally:
            gc.unfreeze()  # (the test process goes on: let the collector see them again)
        plain = make_app(control)
        async with plain.run_test(size=(120, 30)) as pilot:
            await settle(pilot)
            assert plain.startup_frozen is None, "only when asked"

    run(scenario)
