"""`durable-tui serve` in a real browser: headless Chromium (Debian's `chromium` package) loads the page,
and the screen it is sent shows a workflow id and a countdown that ticks. Skipped, with the reason,
where Chromium is not installed (`.ci/run` installs it when it can)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import Control, Engine
from tests.browser import CHROMIUM, free_port, open_page, wait_for_port
from tests.helpers import wait_for
from tests.tui_data import retrying
from tui.serve import dashboard_command

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium): no browser to load the page"
)
ROOT = Path(__file__).resolve().parent.parent
SHOT = os.environ.get("DURABLE_BROWSER_SHOT")  # set to a path to keep the screenshot (the README's picture)


def test_served_dashboard_shows_a_ticking_countdown_in_chromium(
    database_url: str, schema: str, control: Control, tmp_path: Path
) -> None:
    with Engine(database_url, "exec-web", schema=schema, auto_recover=False) as eng:  # alive: no "worker dead"
        eng.start_workflow(retrying, "W-1", workflow_id="order-web-1")
        wait_for(lambda: any(s.status == "WAITING_RETRY" for s in control.get_workflow("order-web-1").steps))
        port = free_port()
        env = {**os.environ, "DURABLE_DATABASE_URL": database_url}
        server = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "serve", "--port", str(port), "--schema", schema],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the server and the dashboards it starts: one process group, stopped together
        )
        try:
            wait_for_port(port)
            asyncio.run(_check_page(f"http://127.0.0.1:{port}/", Path(SHOT) if SHOT else tmp_path / "served.png"))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


async def _check_page(url: str, shot: Path) -> None:
    async with open_page(url, size=(1280, 720)) as page:
        deadline = time.monotonic() + 30  # a loaded machine starts the served dashboard slowly
        seen: set[str] = set()
        while time.monotonic() < deadline and not ("order-web-1" in (screen := await page.screen()) and len(seen) > 1):
            seen |= set(re.findall(r"retry 2/5 in (\d+m\d\ds)", screen))
            await asyncio.sleep(0.2)
        screen = await page.screen()
        assert "order-web-1" in screen, "the workflow id reached the browser"
        assert len(seen) > 1, f"the countdown ticks in the browser: {sorted(seen)}"
        assert "read-only" in screen, "served read-only by default"
        await page.screenshot(shot)
        assert shot.stat().st_size > 10_000


def test_the_served_command_carries_no_database_url() -> None:
    command = dashboard_command("durable", read_only=True)
    assert "tui.cli" in command and "--read-only" in command and "postgres" not in command
