"""The event feed and the dashboard's reaction to a lost connection, on a real Postgres.

A connection loss is made for real: the feed's backend is terminated with pg_terminate_backend.
"""

from __future__ import annotations

import asyncio

import psycopg

from engine import Control
from engine.feed import Event, EventFeed, FeedStatus, parse
from engine.store.session import listen_statement
from tests.tui_data import make_app, run, settle, until
from tui.workflows import WorkflowsScreen


def test_parse_accepts_trigger_payloads_and_rejects_garbage() -> None:
    assert parse('{"t":"w","id":"a","s":"PENDING"}') == Event("w", "a", "PENDING")
    assert parse('{"t":"s","id":"a","step":2,"s":"SUCCESS","n":1}') == Event("s", "a", "SUCCESS", 2, 1)
    assert parse('{"t":"f"}') == Event("f")
    for garbage in (
        "",
        "nope",
        "[]",
        '{"t":"x","id":"a"}',
        '{"t":"w"}',
        '{"t":"s","id":"a","step":"2"}',
        '{"t":"w","id":1}',
        '{"t":"a","id":"a","n":true}',
    ):
        assert parse(garbage) is None, garbage


def _terminate_listener(database_url: str, channel: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as c:
        rows = c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE query = %s AND pid <> pg_backend_pid() AND datname = current_database()",
            (listen_statement(channel),),
        ).fetchall()
    return len(rows)


def test_feed_skips_garbage_and_reconnects(database_url: str, control: Control) -> None:
    channel = control.events_channel

    async def scenario() -> None:
        feed = EventFeed(database_url, channel, min_backoff=0.02, ping_seconds=0.2)
        items = feed.events()
        assert await anext(items) == FeedStatus(True, reconnected=False)
        with psycopg.connect(database_url, autocommit=True) as c:
            c.execute("SELECT pg_notify(%s, 'garbage'), pg_notify(%s, '{\"t\":\"f\"}')", (channel, channel))
        assert await asyncio.wait_for(anext(items), 5) == Event("f")
        assert feed.garbage == 1
        assert await asyncio.to_thread(_terminate_listener, database_url, channel) == 1
        down = await asyncio.wait_for(anext(items), 5)
        assert isinstance(down, FeedStatus) and not down.connected
        assert await asyncio.wait_for(anext(items), 5) == FeedStatus(True, reconnected=True)
        await items.aclose()

    run(scenario)


def test_dashboard_shows_banner_then_reconciles(database_url: str, schema: str, control: Control, make_engine) -> None:
    """Changes made while the feed is down are lost as notifications, yet appear after the reconnect."""
    feed = EventFeed(database_url, control.events_channel, min_backoff=0.5)

    async def scenario() -> None:
        app = make_app(control, clock=None, feed=feed, reconcile_seconds=600)
        states: list[bool | None] = []
        async with app.run_test(size=(150, 30)) as pilot:
            await settle(pilot)
            original = app._feed_status
            app._feed_status = lambda s: (states.append(s.connected), original(s))  # type: ignore[method-assign]
            await asyncio.to_thread(_terminate_listener, database_url, control.events_channel)
            await until(pilot, lambda: app.connected is False)
            assert "DATABASE UNREACHABLE" in str(app.screen.query_one("#bar").render())
            control.enqueue_workflow("nobody.runs", workflow_id="while-down")
            await until(pilot, lambda: app.connected is True)
            screen = app.screen
            assert isinstance(screen, WorkflowsScreen)
            await until(pilot, lambda: [r.workflow_id for r in screen.page] == ["while-down"])
            assert states == [False, True]

    run(scenario)


def test_a_failed_reload_is_tried_again(control: Control, monkeypatch) -> None:
    """A read that fails once (a connection lost) must not leave the screen stale until the next event."""
    from tui.live import Refresher

    monkeypatch.setattr(Refresher, "RETRY_SECONDS", 0.05)
    calls: list[int] = []
    applied: list[str] = []

    def flaky_load() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return "fresh"

    async def scenario() -> None:
        app = make_app(control)
        async with app.run_test() as pilot:
            Refresher(app.screen, flaky_load, applied.append).request()
            await until(pilot, lambda: applied)

    run(scenario)
    assert applied == ["fresh"] and len(calls) == 2
