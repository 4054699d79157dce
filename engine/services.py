"""The background threads of a worker share one shape: start, stop, join, and a supervised loop.

A loop that raises is never a silently dead thread: the failure is logged (one line for a database
that went away, the traceback for anything else) and the loop starts again after a pause that grows
while it keeps failing. Every service's loop is written to be restartable at any point.
"""

from __future__ import annotations

import logging
import threading

import psycopg

from engine.errors import DatabaseUnavailable
from engine.store.connection import failure_reason

log = logging.getLogger("durable.worker")

FIRST_PAUSE, LONGEST_PAUSE = 0.1, 5.0


class Service:
    def __init__(self, name: str, longest_pause: float = LONGEST_PAUSE):
        self.name = name
        self.longest_pause = longest_pause
        self.restarts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.interrupt()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def interrupt(self) -> None:
        """Wake `run()` from whatever it waits on, so it sees `stopping`."""

    def run(self) -> None:
        """The loop; returns once `stopping`."""
        raise NotImplementedError

    def _main(self) -> None:
        pause = FIRST_PAUSE
        while not self._stop.is_set():
            try:
                self.run()
            except Exception as exc:
                self.restarts += 1
                if isinstance(exc, psycopg.OperationalError | DatabaseUnavailable):
                    log.warning("%s: the database is unreachable (%s); retrying", self.name, failure_reason(exc))
                else:
                    log.exception("%s failed; restarting it", self.name)
                self._stop.wait(pause)
                pause = min(pause * 2, self.longest_pause)
            else:
                pause = FIRST_PAUSE
