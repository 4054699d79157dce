"""The dev supervisor: runs the worker in a child process and restarts it.

It restarts the worker when a .py file under the watched directories changes (watchfiles, 200 ms
debounce), and when the worker dies of a signal (a crash from the dashboard, an OOM kill), so the loop
always has a worker to recover the workflows. A worker that exits by itself (an import error in code
being edited) is started again at the next change instead of in a loop.

`python -m tui.dev.supervisor CONFIG_JSON [--exit-with-parent]` is how the launcher starts it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path

from watchfiles import PythonFilter, watch

from tui.dev.config import DevConfig
from tui.dev.status import DevStatus, write_status
from tui.dev.worker import SAVED_AT_ENV, configure_logging, exit_with_parent, serve

DEBOUNCE_MS = 200
POLL_MS = 200
QUICK_DEATH = 5.0
MAX_RESTART_DELAY = 8.0
JOIN_MARGIN = 3.0

log = logging.getLogger("durable.dev.reload")


class Supervisor:
    def __init__(self, config: DevConfig):
        self.config = config
        self.stop = threading.Event()
        self.process: BaseProcess | None = None
        self.started_at = 0.0
        self.restart_delay = 0.0
        self.restarts = 0

    def start(self, reason: str) -> None:
        write_status(self.config.status_path, DevStatus("starting", reason))
        self.process = multiprocessing.get_context("spawn").Process(
            target=serve, args=(self.config, True), name="dev-worker"
        )
        self.process.start()
        self.started_at = time.monotonic()

    def halt(self) -> None:
        """SIGINT (the worker shuts down within its grace), then SIGKILL if it is still there."""
        process, self.process = self.process, None
        if process is None or not process.is_alive():
            return
        os.kill(process.pid, signal.SIGINT)  # type: ignore[arg-type]
        process.join(self.config.stop_grace + JOIN_MARGIN)
        if process.is_alive():
            log.warning("worker did not stop: killing it")
            process.kill()
            process.join()

    def on_change(self, paths: list[str]) -> None:
        mtimes = [os.stat(p).st_mtime for p in paths if os.path.exists(p)]
        os.environ[SAVED_AT_ENV] = repr(max(mtimes) if mtimes else time.time())
        names = ", ".join(_shown(p) for p in paths)
        log.info("change in %s: restarting the worker", names)
        self.halt()
        self.restart_delay = 0.0
        self.start(f"change in {names}")
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
        write_status(self.config.status_path, DevStatus("starting", f"the worker died of {signal.Signals(-code).name}"))
        if self.stop.wait(self.restart_delay):
            return
        self.start(f"the worker died of {signal.Signals(-code).name}")
        self.restarts += 1

    def run(self) -> int:
        self.start("start")
        try:
            for changes in watch(
                *self.config.watch,
                watch_filter=PythonFilter(ignore_paths=self.config.ignore),
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
            write_status(self.config.status_path, DevStatus("stopped"))
        log.info("supervisor stopped after %d restart(s)", self.restarts)
        return 0


def _shown(path: str) -> str:
    """A changed file as the user would type it: relative to the current directory when under it."""
    return os.path.relpath(path) if Path(path).is_relative_to(Path.cwd()) else path


def supervise(config: DevConfig, watch_parent: bool = False) -> int:
    """Supervise the worker until SIGINT or SIGTERM, which stop it cleanly."""
    configure_logging()
    supervisor = Supervisor(config)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: supervisor.stop.set())
    if watch_parent:
        exit_with_parent()
    os.environ.pop(SAVED_AT_ENV, None)
    shown = ", ".join(_shown(str(d)) or "." for d in config.watch)
    log.info("watching %s for changes (debounce %d ms)", shown, DEBOUNCE_MS)
    return supervisor.run()


def main(argv: list[str]) -> int:
    return supervise(DevConfig.from_json(argv[0]), watch_parent="--exit-with-parent" in argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
