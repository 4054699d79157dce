"""The dashboard's view of messages, events and streams (issue 9): a workflow waiting in `recv` shows what
for and its timeout, ticking; `m` opens a dialog that sends it a JSON message (its topic filled in); the
detail screen shows events and streams, a stream tailing live as it is written."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
from textual.widgets import Input, Static, TextArea

from engine import Control, Engine
from tests import messages_app as app
from tests.helpers import wait_for
from tests.tui_data import T0, make_app, run, settle, until
from tui.detail import DetailScreen
from tui.message_form import SendMessageForm
from tui.messages_pane import MessagesPane
from tui.workflows import WorkflowsScreen

SIZE = (150, 32)
WIDE = (200, 16)
"""Wide enough for the whole wait column: `waiting for 'payment' · timeout in 23.4s`."""


def waiting(control: Control, wid: str, name: str) -> bool:
    steps = control.get_workflow(wid).steps
    return bool(steps) and steps[-1].status == "WAITING" and steps[-1].name == name


def seed(database_url: str, schema: str) -> None:
    """pay-1 waits for 'payment' (23.4 s left at T0); feed-1 set an event, wrote three values to its stream
    and waits for 'next'; one message waits for feed-1 on another topic. Times pinned to T0."""
    with (
        Engine(database_url, "exec-3", schema=schema, auto_recover=False) as eng,
        Control(database_url, schema=schema) as ctl,
    ):
        eng.start_workflow(app.receive, "payment", 3600.0, workflow_id="pay-1")
        eng.start_workflow(app.publisher, ["a", {"n": 2}, 3], workflow_id="feed-1")
        for topic in ("go", "next", "next"):
            ctl.send("feed-1", None, topic=topic)
        ctl.send("feed-1", {"early": True}, topic="later")
        wait_for(lambda: waiting(ctl, "pay-1", "recv:payment"))
        wait_for(lambda: len(ctl.get_workflow("feed-1").steps) == 8 and waiting(ctl, "feed-1", "recv:next"))
    start = T0 - timedelta(seconds=30)
    with psycopg.connect(database_url, autocommit=True) as c:
        s = schema
        c.execute(f"UPDATE {s}.workflows SET created_at = %(a)s, started_at = %(a)s, updated_at = %(a)s", {"a": start})
        c.execute(
            f"UPDATE {s}.steps SET started_at = %(a)s + make_interval(secs => step_id), "
            " finished_at = CASE WHEN finished_at IS NOT NULL THEN %(a)s + make_interval(secs => step_id + 0.5) END,"
            " next_attempt_at = CASE WHEN status = 'WAITING' THEN %(t)s END",
            {"a": start, "t": T0 + timedelta(seconds=23.4)},
        )
        for table in ("events", "streams"):
            c.execute(f"UPDATE {s}.{table} SET created_at = %(a)s + make_interval(secs => step_id + 0.5)", {"a": start})
        c.execute(
            f"UPDATE {s}.executors SET heartbeat_at = %(t)s, stopped_at = NULL, pid = 4545, host = 'build-box',"
            " started_at = %(t)s - interval '5 minutes', code_version = 'c0ffee'",
            {"t": T0 - timedelta(seconds=0.4)},
        )


def test_list_shows_what_a_recv_waits_for_and_its_timeout(snap_compare, database_url, schema, control) -> None:
    seed(database_url, schema)
    assert snap_compare(make_app(control), terminal_size=WIDE, run_before=settle)


def open_detail(wid: str, *keys: str):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.open_workflow(wid)
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def test_detail_shows_events_streams_and_waiting_messages(snap_compare, database_url, schema, control) -> None:
    seed(database_url, schema)
    assert snap_compare(make_app(control), terminal_size=SIZE, run_before=open_detail("feed-1"))


def test_send_dialog_has_the_topic_filled_in(snap_compare, database_url, schema, control) -> None:
    seed(database_url, schema)
    assert snap_compare(make_app(control), terminal_size=SIZE, run_before=open_detail("pay-1", "m"))


def wait_cell(app_) -> str:
    screen = app_.screen
    assert isinstance(screen, WorkflowsScreen)
    value = screen.shown("pay-1", "info")
    return "" if value is None else getattr(value, "plain", str(value))


def test_the_wait_ticks_with_the_clock(database_url, schema, control) -> None:
    seed(database_url, schema)
    now = [T0]

    async def scenario() -> None:
        dash = make_app(control, clock=lambda: now[0])
        async with dash.run_test(size=WIDE) as pilot:
            await settle(pilot)
            await until(pilot, lambda: wait_cell(dash) == "waiting for 'payment' · timeout in 23.4s")
            now[0] = T0 + timedelta(seconds=0.5)  # (within the lease of the control fixture: not "worker dead")
            await until(pilot, lambda: wait_cell(dash) == "waiting for 'payment' · timeout in 22.9s")

    run(scenario)


def test_m_sends_a_json_message_that_the_recv_takes(engine: Engine, control: Control) -> None:
    handle = engine.start_workflow(app.receive, "payment", 30.0, workflow_id="pay-2")
    wait_for(lambda: waiting(control, "pay-2", "recv:payment"))

    async def scenario() -> None:
        dash = make_app(control, clock=None)
        async with dash.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("m")
            await until(pilot, lambda: isinstance(dash.screen, SendMessageForm))
            form = dash.screen
            assert form.query_one("#topic", Input).value == "payment"
            form.query_one("#message", TextArea).text = "{oops"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "not JSON" in str(form.query_one("#form-error", Static).render()))
            assert dash.screen is form  # it stays open to be corrected
            form.query_one("#message", TextArea).text = '{"paid": 42}'
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(dash.screen, SendMessageForm))
            assert handle.result(timeout=10) == {"paid": 42}

    run(scenario)


def test_m_is_greyed_for_a_finished_workflow(engine: Engine, control: Control) -> None:
    engine.run_workflow(app.receive, None, 0, workflow_id="done-1")

    async def scenario() -> None:
        dash = make_app(control, clock=None)
        async with dash.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert dash.screen.check_action("send_message", ()) is None
            await pilot.press("m")
            await pilot.pause(0.1)
            assert not isinstance(dash.screen, SendMessageForm)

    run(scenario)


def test_a_stream_tails_live_in_the_detail_screen(engine: Engine, control: Control) -> None:
    engine.start_workflow(app.publisher, ["first", "second", "third"], workflow_id="live-1")
    control.send("live-1", None, topic="go")
    wait_for(lambda: waiting(control, "live-1", "recv:next"))

    def pane(dash) -> str:
        panes = dash.screen.query(MessagesPane) if isinstance(dash.screen, DetailScreen) else []
        return str(panes[0].render()) if panes else ""

    async def scenario() -> None:
        dash = make_app(control, clock=lambda: datetime.now().astimezone())
        async with dash.run_test(size=SIZE) as pilot:
            await settle(pilot)
            dash.open_workflow("live-1")
            await until(pilot, lambda: 'progress (1 value, open): "first"' in pane(dash))
            assert 'stage = "writing"' in pane(dash)
            control.send("live-1", None, topic="next")  # the feed brings the new value: no reload asked
            await until(pilot, lambda: 'progress (2 values, open): "first" · "second"' in pane(dash))
            control.send("live-1", None, topic="next")
            control.send("live-1", None, topic="next")
            await until(pilot, lambda: '(3 values, closed): "first" · "second" · "third"' in pane(dash))
            await until(pilot, lambda: 'stage = "done"' in pane(dash))

    run(scenario)
