"""`durable-tui demo`: `durable-tui dev` on the demo's modules, plus a stream of demo workflows.

The dev loop (`tui.dev`) starts the embedded Postgres, the hot-reloading demo worker in its own process
group (output to `.durable/demo-worker.log`) and the dashboard, and stops all of it on quit, Ctrl-C,
SIGTERM or SIGHUP; this module adds the load generator and requires the worker to be up before it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from demo_app.load import generate, parse_rate
from demo_app.settings import knob
from demo_app.worker import PACKAGE_DIR, WORKFLOWS_TARGET
from engine import Control
from engine.config import DEFAULT_SCHEMA
from tui.dev.launcher import DevRun, fail, live_dashboard, run_until_quit
from tui.dev.status import DevSession

log = logging.getLogger("durable.demo")

LOG_NAME = "demo-worker.log"

Dashboard = Callable[[str], object]


def run_demo(
    database_url: str | None = None,
    rate: str = "2/s",
    count: int | None = None,
    *,
    schema: str = DEFAULT_SCHEMA,
    dashboard: Dashboard | None = None,
) -> int:
    """Run the whole demo until the dashboard quits; returns the process exit code.

    `dashboard(url)` is what runs in the foreground (default: the live dashboard, read-write).
    """
    try:
        per_second = parse_rate(rate)
    except ValueError as exc:
        return fail("demo", str(exc), 2)
    run = DevRun(
        [WORKFLOWS_TARGET],
        [PACKAGE_DIR],
        schema,
        executor_id=None,
        setup="demo_app.shop:setup",
        stop_grace=knob("DEMO_STOP_GRACE"),
        log_name=LOG_NAME,
        require_ready=True,
    )

    def start_load(started: DevRun) -> None:
        assert started.control is not None
        halt = threading.Event()
        thread = threading.Thread(
            target=_load, args=(started.control, per_second, count, halt), name="demo-load", daemon=True
        )
        thread.start()

        def stop_load() -> None:
            halt.set()
            thread.join(timeout=5)

        started.on_stop.append(stop_load)

    def show(url: str, session: DevSession) -> object:
        return dashboard(url) if dashboard is not None else live_dashboard(schema)(url, session)

    return run_until_quit(run, database_url, show, "demo", then=start_load)


def _load(control: Control, per_second: float, count: int | None, stop: threading.Event) -> None:
    """The load generator thread: a failure is logged (the dashboard shows it), never printed over it."""
    try:
        generate(control, per_second, count, "mix", stop)
    except Exception as exc:
        log.warning("demo load generator stopped: %s", exc)
