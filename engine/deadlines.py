"""Workflow timeouts: a worker cancels its workflows when their recorded deadline passes.

The deadline is a column of the workflow (set by a trigger when it becomes PENDING: its own timeout, or its
parent's deadline if that is earlier), so it survives any worker. Enforcement costs no query while a
workflow runs: each run here is armed with its deadline in memory, and one thread sleeps until the earliest
(`Deadlines`). A workflow whose deadline passed while no worker ran it is timed out when a worker claims
it (launch, adoption) instead of running, and by the heartbeat's sweep (one indexed statement a beat) when
no worker here runs its name. Timing out is a cancel (the same statement shape, the same NOTIFY), with the
reason recorded as the workflow's error.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

from engine.services import Service
from engine.store.deadlines import DeadlineStore
from engine.validation import check_number

log = logging.getLogger("durable.worker")

LATE = 0.002
"""Seconds a timer fires after the local deadline, so the database clock has passed it too."""
PRUNE_AT = 1024
"""Timers held before those of ended workflows are dropped (then twice as many as are left)."""


class Deadlines(Service):
    """The deadlines of the workflows running in this process, earliest first, and the thread that enforces them."""

    def __init__(self, store: DeadlineStore, running: Callable[[str], bool], cancel: Callable[[str], None]):
        super().__init__("durable-deadlines")
        self.store = store
        self.running = running
        self.cancel = cancel
        self._heap: list[tuple[float, str]] = []
        self._wake = threading.Condition()
        self._prune_at = PRUNE_AT

    def arm(self, workflow_id: str, seconds: float) -> None:
        """Time the running workflow out `seconds` from now (measured on the database clock when it was read)."""
        with self._wake:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, seconds) + LATE, workflow_id))
            if len(self._heap) > self._prune_at:
                self._prune()
            self._wake.notify()

    def _prune(self) -> None:
        """Drop the timers of workflows that ended here: most end long before their deadline, and under load
        their timers would pile up for as long as the timeout."""
        self._heap = [entry for entry in self._heap if self.running(entry[1])]
        heapq.heapify(self._heap)
        self._prune_at = max(PRUNE_AT, 2 * len(self._heap))

    def __len__(self) -> int:
        """Timers held (some of workflows that ended since)."""
        return len(self._heap)

    def interrupt(self) -> None:
        with self._wake:
            self._wake.notify()

    def run(self) -> None:
        while not self.stopping:
            with self._wake:
                due = self._take_due()
                if not due:
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._wake.wait(wait)
                    continue
            self.enforce([wid for wid in due if self.running(wid)])

    def _take_due(self) -> list[str]:
        now = time.monotonic()
        due = []
        while self._heap and self._heap[0][0] <= now:
            due.append(heapq.heappop(self._heap)[1])
        return due

    def enforce(self, workflow_ids: list[str]) -> list[str]:
        """Time out those of these workflows whose deadline has passed; re-arm any the database says are not due
        yet (a deadline moved by a resume, a clock that drifted)."""
        if not workflow_ids:
            return []
        done = self.store.time_out(workflow_ids)
        for wid in done:
            self.cancel(wid)
        left = [wid for wid in workflow_ids if wid not in set(done) and self.running(wid)]
        for wid, seconds in self.store.deadlines_of(left).items() if left else ():
            self.arm(wid, seconds)
        if done:
            log.info("timed out %d workflow(s): %s", len(done), ", ".join(done[:5]))
        return done

    def sweep(self) -> int:
        """Time out every workflow whose deadline passed while no worker enforced it (its worker died, or
        no live worker registers its name); a batch per call."""
        done = self.store.time_out(None)
        for wid in done:
            self.cancel(wid)
        return len(done)


MAX_TIMEOUT_SECONDS = 366 * 24 * 3600.0


def check_timeout(seconds: float | None) -> float | None:
    """A workflow timeout: None (none), else from a millisecond to a year."""
    if seconds is None:
        return None
    return float(check_number(seconds, "timeout_seconds", 0.001, MAX_TIMEOUT_SECONDS))
