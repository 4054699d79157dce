"""The README's pictures, from the real demo: `python -m tests.readme_pictures` (needs $DURABLE_DATABASE_URL).

It runs `durable-tui demo` (its worker, its stream of orders and pipelines) in a fresh schema with, in
place of the interactive dashboard, the same dashboard headless: once the demo has run a while it saves
the list (countdowns ticking) and the timeline of a workflow waiting to retry as SVG, then the served
dashboard as Chromium draws it (PNG, when Chromium is installed). The schema is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

from demo_app.launcher import run_demo
from engine import Control
from engine.states import StepStatus
from tests.browser import CHROMIUM, free_port, open_page, wait_for_port
from tests.tui_data import until
from tui.app import DashboardApp
from tui.detail import DetailScreen
from tui.workflows import WorkflowsScreen

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
WARM_UP = 14.0


async def pictures(control: Control) -> None:
    app = DashboardApp(control, steady=True)
    async with app.run_test(size=(120, 32)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WorkflowsScreen) and app.screen.page, timeout=30)
        await pilot.pause(WARM_UP)
        screen = app.screen

        def retrying() -> str | None:  # a checkout waiting to retry its payment, past its first steps
            rows = [r for r in screen.page if r.step_status == StepStatus.WAITING_RETRY and (r.step_id or 0) >= 3]
            rows.sort(key=lambda r: (r.name != "checkout", -(r.attempt or 0)))  # most retries: backoffs show
            return rows[0].workflow_id if rows else None

        await until(pilot, retrying, timeout=30)
        app.save_screenshot(str(DOCS / "dashboard.svg"))
        app.open_workflow(retrying() or "")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.record is not None)
        await pilot.pause(0.3)
        app.save_screenshot(str(DOCS / "timeline.svg"))


async def browser(url: str) -> None:
    async with open_page(url, size=(1200, 640)) as page:
        await asyncio.sleep(4)
        await page.screenshot(DOCS / "browser.png")


def serve_and_shoot(database_url: str, schema: str) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "serve", "--port", str(port), "--schema", schema],
        cwd=ROOT,
        env={**os.environ, "DURABLE_DATABASE_URL": database_url},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port)
        asyncio.run(browser(f"http://127.0.0.1:{port}/"))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def main() -> int:
    url = os.environ.get("DURABLE_DATABASE_URL")
    if not url:
        print("set DURABLE_DATABASE_URL to a Postgres where a scratch schema may be created", file=sys.stderr)
        return 2
    schema = f"readme_{uuid.uuid4().hex[:6]}"

    def dashboard(database_url: str) -> None:
        with Control(database_url, schema=schema) as control:
            asyncio.run(pictures(control))
        if CHROMIUM is not None:
            serve_and_shoot(database_url, schema)
        else:
            print("chromium is not installed: docs/browser.png was not refreshed", file=sys.stderr)

    try:
        started = time.monotonic()
        code = run_demo(url, rate="3/s", schema=schema, dashboard=dashboard)
        print(f"pictures written to {DOCS} in {time.monotonic() - started:.0f} s (demo exit {code})")
        return code
    finally:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    sys.exit(main())
