"""Snapshots of every dashboard screen and state, on deterministic data and an injected clock.

Sync tests only (pytest-textual-snapshot runs its own event loop). The data is made by a real Engine in
the test's schema and its timestamps pinned to T0, which is also the app's clock: the countdown reads
`retry 2/5 in 3.4s` on every run.
"""

from __future__ import annotations

import pytest

from engine import Control
from engine.feed import EventFeed
from tests.tui_data import make_app, seed_mixed, seed_queues, seed_timeline, settle

SIZE = (150, 32)


@pytest.fixture
def seeded(database_url: str, schema: str, control: Control) -> Control:
    seed_mixed(database_url, schema)
    return control


@pytest.fixture
def lively(database_url: str, schema: str, control: Control) -> Control:
    """Every status, two retry countdowns, a durable sleep and a child workflow."""
    seed_mixed(database_url, schema)
    seed_timeline(database_url, schema)
    return control


def test_list_80x24_with_countdowns(snap_compare, lively: Control) -> None:
    assert snap_compare(make_app(lively), terminal_size=(80, 24), run_before=settle)


def test_list_200x50(snap_compare, lively: Control) -> None:
    assert snap_compare(make_app(lively), terminal_size=(200, 50), run_before=settle)


def open_trip(*keys: str):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.open_workflow("trip-1")
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def test_timeline_with_retries_and_a_sleep(snap_compare, lively: Control) -> None:
    assert snap_compare(make_app(lively), terminal_size=(120, 28), run_before=open_trip("down"))


def test_timeline_with_a_child_opened(snap_compare, lively: Control) -> None:
    assert snap_compare(make_app(lively), terminal_size=(120, 28), run_before=open_trip("down", "down", "right"))


def test_timeline_at_80x24(snap_compare, lively: Control) -> None:
    assert snap_compare(make_app(lively), terminal_size=(80, 24), run_before=open_trip("end"))


def test_list_with_mixed_statuses(snap_compare, seeded: Control) -> None:
    assert snap_compare(make_app(seeded), terminal_size=SIZE, run_before=settle)


def test_detail_with_countdown(snap_compare, seeded: Control) -> None:
    async def open_detail(pilot) -> None:
        await settle(pilot)
        pilot.app.open_workflow("order-1004")
        await settle(pilot)

    assert snap_compare(make_app(seeded), terminal_size=SIZE, run_before=open_detail)


def test_detail_of_failed_workflow(snap_compare, seeded: Control) -> None:
    async def open_detail(pilot) -> None:
        await settle(pilot)
        pilot.app.open_workflow("order-1003")
        await settle(pilot)
        await pilot.press("down")
        await settle(pilot)

    assert snap_compare(make_app(seeded), terminal_size=SIZE, run_before=open_detail)


def test_workers(snap_compare, seeded: Control) -> None:
    async def workers(pilot) -> None:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)

    assert snap_compare(make_app(seeded), terminal_size=SIZE, run_before=workers)


def test_faults(snap_compare, seeded: Control) -> None:
    async def faults(pilot) -> None:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)

    assert snap_compare(make_app(seeded), terminal_size=SIZE, run_before=faults)


def test_queues(snap_compare, database_url: str, schema: str, control: Control) -> None:
    seed_queues(control, database_url, schema)

    async def queues(pilot) -> None:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)

    assert snap_compare(make_app(control), terminal_size=SIZE, run_before=queues)


def test_confirmation_dialog(snap_compare, seeded: Control) -> None:
    async def confirm(pilot) -> None:
        await settle(pilot)
        await pilot.press("down", "down", "k")
        await settle(pilot)

    assert snap_compare(make_app(seeded), terminal_size=SIZE, run_before=confirm)


def test_empty_state(snap_compare, control: Control) -> None:
    assert snap_compare(make_app(control), terminal_size=SIZE, run_before=settle)


def test_database_down_banner(snap_compare, seeded: Control) -> None:
    feed = EventFeed("postgresql://root@127.0.0.1:1/test", seeded.events_channel, max_backoff=0.2)

    async def down(pilot) -> None:
        await settle(pilot, connected=False)

    assert snap_compare(make_app(seeded, feed=feed), terminal_size=SIZE, run_before=down)


def test_help_screen(snap_compare, control: Control) -> None:
    async def helped(pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(control), terminal_size=(150, 60), run_before=helped)


def test_small_terminal(snap_compare, seeded: Control) -> None:
    assert snap_compare(make_app(seeded), terminal_size=(80, 20), run_before=settle)
