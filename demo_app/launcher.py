"""`durable-tui demo`: embedded Postgres, a hot-reloading demo worker, a stream of workflows, the dashboard.

Everything it starts it stops when the dashboard quits, on Ctrl-C, SIGTERM or SIGHUP: the worker runs
in a process group of its own, stopped with SIGTERM and then, if need be, SIGKILL to the whole group;
the worker also stops by itself if this process dies some other way (SIGKILL). The embedded Postgres
is stopped too if this run started it. The worker's output goes to a log file, never into the
dashboard's terminal.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from demo_app.load import generate, parse_rate
from engine import Control
from engine.config import DEFAULT_SCHEMA, ENV_URL, data_dir, describe_url, resolve_database_url
from engine.embedded import running_pid, stop_server
from engine.errors import DurableError

log = logging.getLogger("durable.demo")

LOG_NAME = "demo-worker.log"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 8.0

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
        return _fail(str(exc), 2)
    demo = Demo(schema)
    handlers = demo.stop_on(signal.SIGTERM, signal.SIGHUP)
    try:
        return demo.run(database_url, per_second, count, dashboard or functools.partial(_live_dashboard, schema=schema))
    except KeyboardInterrupt:
        return 130
    finally:
        demo.stop()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


class Demo:
    """What one run started, so that `stop()` (idempotent) can stop exactly that."""

    def __init__(self, schema: str):
        self.schema = schema
        self.control: Control | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.loader: threading.Thread | None = None
        self.pg_started: int | None = None
        self.halt = threading.Event()

    def run(self, database_url: str | None, per_second: float, count: int | None, dashboard: Dashboard) -> int:
        directory = data_dir()
        directory.mkdir(parents=True, exist_ok=True)
        embedded = not (database_url or os.environ.get(ENV_URL))
        pg_before = running_pid(directory) if embedded else None
        if embedded and pg_before is None:
            print(f"starting the embedded Postgres in {directory} ...", flush=True)
        try:
            url = resolve_database_url(database_url)
            if embedded and pg_before is None:
                self.pg_started = running_pid(directory)
            self.control = Control(url, schema=self.schema)
        except DurableError as exc:
            return _fail(str(exc), 1)
        log_path = directory / LOG_NAME
        self.worker = start_worker(url, self.schema, log_path)
        print(f"demo worker starting (log: {log_path}) on {describe_url(url)} ...", flush=True)
        if not _wait_ready(self.control, self.worker):
            return _fail(f"the demo worker did not start; see {log_path}:\n{_tail(log_path)}", 1)
        self.loader = threading.Thread(
            target=_load, args=(self.control, per_second, count, self.halt), name="demo-load", daemon=True
        )
        self.loader.start()
        outcome = dashboard(url)
        return outcome if isinstance(outcome, int) else 0

    def stop(self) -> None:
        self.halt.set()
        if self.loader is not None:
            self.loader.join(timeout=5)
            self.loader = None
        if self.worker is not None:
            stop_worker(self.worker)
            self.worker = None
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.pg_started is not None:
            stop_server(self.pg_started)
            self.pg_started = None

    def stop_on(self, *signals: signal.Signals) -> dict[signal.Signals, Any]:
        """On these signals stop everything, then die of the signal as if unhandled.

        Not KeyboardInterrupt: raised inside the dashboard's event loop, it would leave the app's
        threads running and the process hanging. Returns the handlers to restore.
        """
        if threading.current_thread() is not threading.main_thread():
            return {}

        def handle(sig: int, frame: object) -> None:
            self.stop()
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)

        return {sig: signal.signal(sig, handle) for sig in signals}


def _load(control: Control, per_second: float, count: int | None, stop: threading.Event) -> None:
    """The load generator thread: a failure is logged (the dashboard shows it), never printed over it."""
    try:
        generate(control, per_second, count, "mix", stop)
    except Exception as exc:
        log.warning("demo load generator stopped: %s", exc)


def _live_dashboard(url: str, schema: str) -> object:
    from tui.app import run_dashboard

    return run_dashboard(url, read_only=False, schema=schema)


def start_worker(url: str, schema: str, log_path: Path) -> subprocess.Popen[bytes]:
    """`python -m demo_app worker --reload` in a new session (its own process group), output to the log."""
    with log_path.open("ab") as log:
        log.write(f"\n=== demo worker started {time.strftime('%Y-%m-%d %H:%M:%S')} ===\n".encode())
        log.flush()
        return subprocess.Popen(
            [sys.executable, "-m", "demo_app", "worker", "--reload", "--exit-with-parent", "--schema", schema],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, ENV_URL: url},
        )


def stop_worker(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM to the supervisor (which stops its worker cleanly), then SIGKILL to whatever is left."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _wait_ready(control: Control, proc: subprocess.Popen[bytes]) -> bool:
    """Until a live worker registers the demo's workflows (or the supervisor dies, or time runs out)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        if any(w.alive and "checkout" in w.workflows for w in control.workers()):
            return True
        time.sleep(0.1)
    return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _fail(message: str, code: int) -> int:
    print(f"durable-tui demo: {message}", file=sys.stderr)
    return code
