"""The dashboard and the CLI through a real database restart (a private Postgres, stopped and started again):
the banner shows the outage, the screen comes back live by itself, and a CLI command during the outage is
one line on stderr with exit 2."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from engine import Control
from engine.feed import EventFeed
from tests.conftest import ROOT
from tests.private_pg import PrivatePostgres
from tests.tui_data import make_app, run, settle, until
from tui.cli import main
from tui.workflows import WorkflowsScreen

SCHEMA = "live"


def _bar(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#bar").render())


def test_dashboard_and_cli_through_a_database_restart(capsys: pytest.CaptureFixture[str]) -> None:
    with PrivatePostgres() as pg, Control(pg.url(), schema=SCHEMA) as control:
        control.enqueue_workflow("nobody.runs", workflow_id="before-restart")
        feed = EventFeed(pg.url(), control.events_channel, min_backoff=0.05, max_backoff=0.3, ping_seconds=0.3)
        cli = ["workflows", "list", "--database-url", pg.url(), "--schema", SCHEMA]

        async def scenario() -> None:
            app = make_app(control, clock=None, feed=feed, reconcile_seconds=600)
            async with app.run_test(size=(150, 30)) as pilot:
                await settle(pilot)
                screen = app.screen
                assert isinstance(screen, WorkflowsScreen)
                await until(pilot, lambda: [r.workflow_id for r in screen.page] == ["before-restart"])

                await asyncio.to_thread(pg.stop, "fast")
                await until(pilot, lambda: app.connected is False)
                assert "DATABASE UNREACHABLE" in _bar(app)
                done = await asyncio.to_thread(
                    subprocess.run, [sys.executable, "-m", "tui.cli", *cli], capture_output=True, text=True, cwd=ROOT
                )
                code, out, err = done.returncode, done.stdout, done.stderr
                assert code == 2 and out == "", err
                assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
                assert err.startswith("durable-tui: error: cannot reach Postgres")

                await asyncio.to_thread(pg.start)
                await until(pilot, lambda: app.connected is True, timeout=15)
                assert "DATABASE UNREACHABLE" not in _bar(app) and "live" in _bar(app)
                await asyncio.to_thread(control.enqueue_workflow, "nobody.runs", workflow_id="after-restart")
                want = ["after-restart", "before-restart"]
                await until(pilot, lambda: [r.workflow_id for r in screen.page] == want)

        run(scenario)
        assert main(cli) == 0 and "after-restart" in capsys.readouterr().out
