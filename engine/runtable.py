"""The workflows running in this process, and what is pending for each: one lock, one place.

A run is claimed before its thread starts and released when its outcome is known (recorded, or not:
paused). The table also holds the wake-up event each waiting run blocks on (cancel and retry-now set
it), the ids cancelled while running, the runs to start again once their current run unwinds, and the
workflows stranded by a database outage that the heartbeat must run again. No Postgres here: it is
unit-tested alone.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from typing import Any

from engine.clock import Clock
from engine.errors import WorkflowCancelled
from engine.outcome import PAUSED, Outcome


class _Run:
    """One run here. Its future (for a `result()` waiting in this process) and its wake-up event (for a wait) are
    made when first needed, under the table's lock: most runs never need either, and making both cost ~20 us."""

    __slots__ = ("future", "wakeup", "cancelled", "rerun")

    def __init__(self) -> None:
        self.future: Future[Outcome] | None = None
        self.wakeup: threading.Event | None = None
        self.cancelled = False
        self.rerun: Any = None


class RunTable:
    RECENT = 4096
    """How many ended runs keep their in-memory outcome, so a `result()` called after the run ended
    still raises the workflow's own exception object."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._recent: OrderedDict[str, Outcome] = OrderedDict()
        self._stranded: set[str] = set()
        self._watching: dict[tuple[str, str], set[str]] = {}
        self.stopping = threading.Event()
        self.lease_until = float("inf")
        """Monotonic time until which no other worker can take this one for dead (half a lease after the
        start of its last heartbeat that went through); past it, a run confirms it still owns its workflow."""
        self.lease_epoch = 0
        """Counts the heartbeats that went through after a lapse: a run that started before the last one
        confirms once that it still owns its workflow (another worker may have adopted it meanwhile)."""

    def start(self, workflow_id: str) -> bool:
        """Start a run here; False when one is running already."""
        with self._lock:
            if workflow_id in self._runs:
                return False
            self._recent.pop(workflow_id, None)
            self._runs[workflow_id] = _Run()
            return True

    def rerun_later(self, workflow_id: str, what: Any) -> bool:
        """Remember `what` to start again when the current run ends; False when nothing runs now."""
        with self._lock:
            run = self._runs.get(workflow_id)
            if run is None:
                return False
            run.rerun = what
            return True

    def release(self, workflow_id: str, outcome: Outcome) -> Any:
        """End the run with `outcome`; returns what `rerun_later` left for it (None when nothing)."""
        with self._lock:
            run = self._runs.pop(workflow_id, None)
            if outcome.recorded_here:
                self._recent[workflow_id] = outcome
                while len(self._recent) > self.RECENT:
                    self._recent.popitem(last=False)
        if run is None:
            return None
        if run.future is not None:  # made under the lock before the pop above, or never
            run.future.set_result(outcome)
        return run.rerun

    def release_all(self) -> None:
        """Shutdown: runs that never started (their thread was never given) end paused."""
        with self._lock:
            runs, self._runs = self._runs, {}
        for run in runs.values():
            if run.future is not None and not run.future.done():
                run.future.set_result(PAUSED)

    def running(self, workflow_id: str) -> bool:
        return workflow_id in self._runs

    def future(self, workflow_id: str) -> Future[Outcome] | None:
        """What a caller here waits on for the run's outcome; None when it does not run here."""
        with self._lock:
            run = self._runs.get(workflow_id)
            if run is None:
                return None
            if run.future is None:
                run.future = Future()
            return run.future

    def _wakeup(self, run: _Run) -> threading.Event:
        event = run.wakeup
        if event is None:
            with self._lock:
                if run.wakeup is None:
                    run.wakeup = threading.Event()
                event = run.wakeup
        return event

    def recent(self, workflow_id: str) -> Outcome | None:
        """The outcome of a run of this process that ended lately, if it decided one (see `RECENT`)."""
        return self._recent.get(workflow_id)

    def __len__(self) -> int:
        return len(self._runs)

    # cancellation and waits ---------------------------------------------------------------------

    def cancel(self, workflow_id: str) -> None:
        with self._lock:
            run = self._runs.get(workflow_id)
            if run is not None:
                run.cancelled = True
        if run is not None:
            self._wakeup(run).set()

    def cancelled(self, workflow_id: str) -> bool:
        run = self._runs.get(workflow_id)
        return run is not None and run.cancelled

    def check(self, workflow_id: str) -> None:
        """Unwind the run (WorkflowCancelled) when it was cancelled or the engine is stopping."""
        if self.cancelled(workflow_id) or self.stopping.is_set():
            raise WorkflowCancelled(workflow_id)

    def wake(self, workflow_id: str) -> None:
        run = self._runs.get(workflow_id)
        if run is not None:
            self._wakeup(run).set()

    def wake_all(self) -> None:
        for run in list(self._runs.values()):
            self._wakeup(run).set()

    def wait(self, workflow_id: str, seconds: float) -> None:
        """A durable wait (a backoff, a sleep) of up to `seconds` on the engine's clock; cancel, retry-now
        and shutdown cut it short."""
        run = self._runs.get(workflow_id)
        wakeup = self._wakeup(run) if run is not None else threading.Event()
        self.clock.wait(wakeup, seconds)
        wakeup.clear()
        self.check(workflow_id)

    def watch(self, workflow_id: str, what: tuple[str, str]) -> None:
        """The run waits for `what` (("message", its own id), ("event", another workflow's id)): `wake_watchers`
        wakes it. Only such runs: a wake-up cuts a sleep or a backoff short, so nobody else may get one."""
        with self._lock:
            self._watching.setdefault(what, set()).add(workflow_id)

    def unwatch(self, workflow_id: str, what: tuple[str, str]) -> None:
        with self._lock:
            watchers = self._watching.get(what)
            if watchers is not None:
                watchers.discard(workflow_id)
                if not watchers:
                    del self._watching[what]

    def wake_watchers(self, what: tuple[str, str]) -> None:
        with self._lock:
            watchers = list(self._watching.get(what, ()))
        for workflow_id in watchers:
            self.wake(workflow_id)

    def pause(self, workflow_id: str, seconds: float) -> None:
        """A real-time pause (between two looks at a row, an injected delay); cancel and shutdown cut it short."""
        run = self._runs.get(workflow_id)
        if run is None:
            time.sleep(seconds)
        else:
            wakeup = self._wakeup(run)
            if wakeup.wait(seconds):
                wakeup.clear()
        self.check(workflow_id)

    # outages ----------------------------------------------------------------------------------

    def strand(self, workflow_ids: list[str]) -> None:
        """These PENDING workflows stopped because the database was unreachable: the heartbeat runs them
        again from their checkpoints once it answers (nobody else adopts them: this executor is alive)."""
        with self._lock:
            self._stranded.update(workflow_ids)

    def take_stranded(self) -> list[str]:
        with self._lock:
            stranded, self._stranded = sorted(self._stranded), set()
        return stranded
