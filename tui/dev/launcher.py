"""`durable-tui dev`: the embedded Postgres, a reloading worker on the given modules, and the dashboard.

Everything it starts it stops when the dashboard quits, on Ctrl-C, SIGTERM or SIGHUP: the supervisor
runs in a process group of its own, stopped with SIGTERM and then, if need be, SIGKILL to the whole
group; the supervisor and its worker also stop by themselves if this process dies some other way
(SIGKILL). The embedded Postgres is stopped too if this run started it. The worker's output goes to a
log file (the dashboard shows its tail), never into the dashboard's terminal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine import Control
from engine.config import ENV_URL, data_dir, describe_url
from engine.database import resolve_database_url
from engine.embedded import running_pid, stop_server
from engine.errors import DurableError
from tui.dev.config import DevConfig
from tui.dev.status import LOG_NAME, STATUS_NAME, DevSession, DevStatus, read_status, write_status
from tui.dev.target import Target, TargetNotFound, locate, watch_dirs

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 8.0

Dashboard = Callable[[str, DevSession], object]


class LaunchError(Exception):
    """Why the loop could not start, in one line (exit code in `code`)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


class DevRun:
    """What one run started, so that `stop()` (idempotent) stops exactly that.

    `require_ready`: wait until the worker is up and fail otherwise (the demo); without it, a worker
    whose code does not import is the dashboard's banner to show, not a reason to stop (`dev`)."""

    def __init__(
        self,
        targets: list[Target],
        watch: list[Path],
        schema: str,
        *,
        executor_id: str | None,
        setup: str | None = None,
        stop_grace: float,
        log_name: str = LOG_NAME,
        require_ready: bool = False,
    ):
        self.targets = targets
        self.watch = watch
        self.schema = schema
        self.executor_id = executor_id
        self.setup = setup
        self.stop_grace = stop_grace
        self.log_name = log_name
        self.require_ready = require_ready
        self.control: Control | None = None
        self.supervisor: subprocess.Popen[bytes] | None = None
        self.pg_started: int | None = None
        self.session: DevSession | None = None
        self.on_stop: list[Callable[[], None]] = []

    def start(self, database_url: str | None) -> str:
        """Postgres, then the supervisor; returns the database URL once the worker is up (or failed to
        import, without `require_ready`). Raises LaunchError."""
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
            raise LaunchError(str(exc)) from None
        status_path, log_path = directory / STATUS_NAME, directory / self.log_name
        config = DevConfig(
            tuple(self.targets),
            tuple(self.watch),
            self.schema,
            status_path,
            executor_id=self.executor_id,
            setup=self.setup,
            stop_grace=self.stop_grace,
            ignore=(directory,),
        )
        write_status(status_path, DevStatus("starting", "start"))
        self.session = DevSession(status_path, log_path, list(self.watch))
        self.supervisor = start_supervisor(config, url, log_path)
        print(f"worker starting (log: {log_path}) on {describe_url(url)} ...", flush=True)
        status = _wait_started(status_path, self.supervisor)
        if status is None or (self.require_ready and status.state != "ready"):
            raise LaunchError(f"the worker did not start; see {log_path}:\n{tail(log_path)}")
        return url

    def stop(self) -> None:
        """`on_stop` callbacks first (what was built on the loop), then the worker, then Postgres."""
        while self.on_stop:
            self.on_stop.pop()()
        if self.supervisor is not None:
            stop_group(self.supervisor)
            self.supervisor = None
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


def run_dev(
    specs: list[str],
    watch: list[str] | None = None,
    database_url: str | None = None,
    *,
    schema: str,
    executor_id: str | None,
    stop_grace: float,
    dashboard: Dashboard | None = None,
) -> int:
    """`durable-tui dev`: run the loop until the dashboard quits; returns the process exit code."""
    try:
        targets = [locate(spec) for spec in specs]
        dirs = watch_dirs(targets, watch or [])
    except TargetNotFound as exc:
        return fail("dev", str(exc), 2)
    run = DevRun(targets, dirs, schema, executor_id=executor_id, stop_grace=stop_grace)
    return run_until_quit(run, database_url, dashboard or live_dashboard(schema), "dev")


def run_until_quit(
    run: DevRun,
    database_url: str | None,
    dashboard: Dashboard,
    command: str,
    then: Callable[[DevRun], None] | None = None,
) -> int:
    """Start `run`, call `then(run)` (the demo starts its load there), run the dashboard, stop all."""
    handlers = run.stop_on(signal.SIGTERM, signal.SIGHUP)
    try:
        url = run.start(database_url)
        if then is not None:
            then(run)
        assert run.session is not None
        outcome = dashboard(url, run.session)
        return outcome if isinstance(outcome, int) else 0
    except LaunchError as exc:
        return fail(command, str(exc), exc.code)
    except KeyboardInterrupt:
        return 130
    finally:
        run.stop()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def live_dashboard(schema: str) -> Dashboard:
    def show(url: str, session: DevSession) -> object:
        from tui.app import run_dashboard

        return run_dashboard(url, read_only=False, schema=schema, dev=session)

    return show


def start_supervisor(config: DevConfig, url: str, log_path: Path) -> subprocess.Popen[bytes]:
    """The supervisor in a new session (its own process group), output to the log."""
    with log_path.open("ab") as log:
        log.write(f"\n=== worker started {time.strftime('%Y-%m-%d %H:%M:%S')} ===\n".encode())
        log.flush()
        return subprocess.Popen(
            [sys.executable, "-m", "tui.dev.supervisor", config.to_json(), "--exit-with-parent"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, ENV_URL: url, "PYTHONPATH": _python_path()},
        )


def _python_path() -> str:
    """This package's root first, so the supervisor runs the same durable-tui as this process (a source
    checkout or an editable install; an installed package is found where it is, site-packages stays put)."""
    root = Path(__file__).resolve().parents[2]
    rest = os.environ.get("PYTHONPATH", "")
    if root.name in ("site-packages", "dist-packages"):
        return rest
    return f"{root}{os.pathsep}{rest}" if rest else str(root)


def stop_group(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM to the supervisor (which stops its worker cleanly), then SIGKILL to whatever is left."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _wait_started(status_path: Path, proc: subprocess.Popen[bytes]) -> DevStatus | None:
    """Until the first worker is ready or has failed (or the supervisor dies, or time runs out)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        status = read_status(status_path)
        if status is not None and status.state in ("ready", "error"):
            return status
        time.sleep(0.05)
    return None


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def fail(command: str, message: str, code: int) -> int:
    print(f"durable-tui {command}: {message}", file=sys.stderr)
    return code
