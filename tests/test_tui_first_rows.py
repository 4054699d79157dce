"""The first rows arriving in an empty database: the footer greys and ungreys its keys in place instead of
rebuilding them (a rebuild and the new keys' first layout held the UI loop 40-70 ms, the longest callback
of a burst: `bench/tui_latency.py --stall-only`), and the list's empty message gives way to the rows
without a layout of the screen (it is the table's own lines, not a widget shown in its place)."""

from __future__ import annotations

import asyncio

from textual.widgets._footer import FooterKey

from engine import Control
from tests.tui_data import make_app, run, settle, until
from tui.keys import DashFooter
from tui.workflows import WorkflowsScreen


def greyed(footer: DashFooter) -> dict[str, bool]:
    return {k.action: k.has_class("-disabled") for k in footer.query(FooterKey)}


def test_first_rows_ungrey_the_footer_keys_without_rebuilding_them(control: Control) -> None:
    async def scenario() -> None:
        app = make_app(control)
        async with app.run_test(size=(200, 40)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, WorkflowsScreen) and not screen.page
            footer = screen.query_one(DashFooter)
            keys = list(footer.query(FooterKey))
            assert greyed(footer)["bulk_cancel"] and greyed(footer)["cancel"]
            assert screen.table.placeholder_shown
            layouts = []
            screen._refresh_layout = lambda *a, **k: layouts.append(a)  # type: ignore[method-assign]

            await asyncio.to_thread(control.enqueue_workflow, "bench.none", workflow_id="first-1")
            await until(pilot, lambda: bool(screen.page))
            await until(pilot, lambda: not greyed(footer)["bulk_cancel"])
            await until(pilot, lambda: screen.counts.get("ENQUEUED") == 1)  # read at most every 0.25 s
            await settle(pilot)

            assert not greyed(footer)["cancel"]  # an ENQUEUED workflow may be cancelled
            assert greyed(footer)["retry_now"]  # ... not retried now: no step waits to retry
            assert list(footer.query(FooterKey)) == keys  # the same widgets: nothing was rebuilt
            assert not screen.table.placeholder_shown and layouts == []

    run(scenario)


def test_the_row_range_never_exceeds_its_total(control: Control) -> None:
    """The total comes from the counts, read apart from the page: a workflow just started may be in the page and
    not yet in the counts, and the header said "rows 1–27 of 26" (seen in the demo's first second)."""

    async def scenario() -> None:
        for n in range(3):
            control.enqueue_workflow("bench.none", workflow_id=f"range-{n}")
        app = make_app(control)
        async with app.run_test(size=(200, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, WorkflowsScreen)
            await until(pilot, lambda: len(screen.page) == 3)
            screen.total = 2  # the counts' view, one start behind the page
            screen._show_counts()
            shown = str(screen.query_one("#counts").render())
            assert "rows 1–3 of 3" in shown, shown

    run(scenario)
