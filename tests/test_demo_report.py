"""The demo's nightly-style report: a schedule every minute, shown on the Schedules screen."""

from __future__ import annotations

import pytest

import demo_app.report  # noqa: F401,E402 (registers the schedule)
from engine.clock import VirtualClock
from engine.schedules import SCHEDULES, tick_workflow_id
from tests.helpers import wait_for
from tests.test_schedules import skip_to_next_tick

DEFINITION = SCHEDULES.pop("nightly-report")
"""Kept out of the registry but for this test: a registered schedule fires in every engine of the process."""


@pytest.fixture
def report(monkeypatch):
    monkeypatch.setenv("DEMO_LATENCY", "0.01")
    SCHEDULES["nightly-report"] = DEFINITION
    yield
    SCHEDULES.pop("nightly-report", None)


def test_the_report_runs_at_each_minute_and_is_listed(report, make_engine, control):
    clock = VirtualClock()
    clock.pause()
    make_engine(clock=clock)
    (listed,) = control.list_schedules()
    assert (listed.name, listed.cron, listed.workflow_name) == ("nightly-report", "* * * * *", "nightly-report")
    tick = skip_to_next_tick(clock)
    wid = tick_workflow_id("nightly-report", tick)
    wait_for(lambda: [w.status for w in control.list_workflows(name="nightly-report")] == ["SUCCESS"])
    assert control.get_workflow(wid).output.startswith(f"report for {tick.date().isoformat()}: ")
    assert control.get_workflow(wid).timeout_seconds == 50
