"""`worker --reload`: a supervisor that runs the worker in a child process and restarts it.

It restarts the worker when a .py file under demo_app/ changes (watchfiles, 200 ms debounce), and
when the worker dies of a signal (a crash from the dashboard, an OOM kill), so the demo always has a
worker to recover the workflows. A worker that exits by itself (an import error in code being edited)
is started again at the next change instead of in a loop.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.process import BaseProcess

from watchfiles import PythonFilter, watch

from demo_app.settings import knob
from demo_app.worker import PACKAGE_DIR, SAVED_AT_ENV, configure_logging, exit_with_parent, serve

DEBOUNCE_MS = 200
POLL_MS = 200
QUICK_DEATH = 5.0
MAX_RESTART_DELAY = 8.0

log = logging.getLogger("demo.reload")


class Supervisor:
    def __init__(self, schema: str):
        self.schema = schema
        self.stop = threading.Event()
        self.process: BaseProcess | None = None
        self.started_at = 0.0
        self.restart_delay = 0.0
        self.restarts = 0

    def start(self) -> None:
        self.process = multiprocessing.get_context("spawn").Process(
            target=serve, args=(self.schema, True), name="demo-worker"
        )
        self.process.start()
        self.started_at = time.monotonic()

    def halt(self) -> None:
        """SIGINT (the worker shuts down within its grace), then SIGKILL if it is still there."""
        process, self.process = self.process, None
        if process is None or not process.is_alive():
            return
        os.kill(process.pid, signal.SIGINT)  # type: ignore[arg-type]
        process.join(knob("DEMO_STOP_GRACE") + 3)
        if process.is_alive():
            log.warning("worker did not stop: killing it")
            process.kill()
            process.join()

    def on_change(self, paths: list[str]) -> None:
        mtimes = [os.stat(p).st_mtime for p in paths if os.path.exists(p)]
        os.environ[SAVED_AT_ENV] = repr(max(mtimes) if mtimes else time.time())
        names = ", ".join(os.path.relpath(p, PACKAGE_DIR.parent) for p in paths)
        log.info("change in %s: restarting the worker", names)
        self.halt()
        self.restart_delay = 0.0
        self.start()
        self.restarts += 1

    def check_alive(self) -> None:
        """Restart a worker that died of a signal; one that exited by itself waits for a code change."""
        process = self.process
        if process is None or process.is_alive() or process.exitcode is None:
            return
        code = process.exitcode
        self.process = None
        if code >= 0:
            log.error("worker exited with code %d: fix the code and save, and it starts again", code)
            return
        lived = time.monotonic() - self.started_at
        self.restart_delay = 0.0 if lived > QUICK_DEATH else min(max(0.5, self.restart_delay * 2), MAX_RESTART_DELAY)
        log.warning(
            "worker died of %s after %.1f s: restarting it%s",
            signal.Signals(-code).name,
            lived,
            f" in {self.restart_delay:.1f} s" if self.restart_delay else "",
        )
        os.environ.pop(SAVED_AT_ENV, None)
        if self.stop.wait(self.restart_delay):
            return
        self.start()
        self.restarts += 1

    def run(self) -> int:
        self.start()
        try:
            for changes in watch(
                PACKAGE_DIR,
                watch_filter=PythonFilter(),
                debounce=DEBOUNCE_MS,
                step=50,
                stop_event=self.stop,
                rust_timeout=POLL_MS,
                yield_on_timeout=True,
                raise_interrupt=False,
            ):
                if changes:
                    self.on_change(sorted({path for _, path in changes}))
                else:
                    self.check_alive()
        finally:
            self.halt()
        log.info("supervisor stopped after %d restart(s)", self.restarts)
        return 0


def serve_with_reload(schema: str, watch_parent: bool = False) -> int:
    """Supervise the worker until SIGINT or SIGTERM, which stop it cleanly."""
    configure_logging()
    supervisor = Supervisor(schema)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: supervisor.stop.set())
    if watch_parent:
        exit_with_parent()
    os.environ.pop(SAVED_AT_ENV, None)
    log.info("watching %s for changes (debounce %d ms)", PACKAGE_DIR, DEBOUNCE_MS)
    return supervisor.run()
