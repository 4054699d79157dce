"""The time of durable waits: the real clock, or a virtual one that tests move forward at will.

Every durable wait (a retry's backoff, a durable sleep) goes through the engine's clock, and every time
the engine records for a workflow is the clock's: Python-side times from `now()`, database-side times as
the database clock plus `skew()`. With the virtual clock a 10-minute backoff completes at once, and the
record still reads as if ten minutes had passed (the next attempt starts after `next_attempt_at`).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


class Clock:
    """The real clock: waits take the time they say."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def skew(self) -> float:
        return 0.0

    def wait(self, wakeup: threading.Event, seconds: float) -> bool:
        """Wait `seconds` or until `wakeup` is set (True then)."""
        return wakeup.wait(seconds)

    def wait_until(self, wakeup: threading.Event, when: datetime | None) -> bool:
        """Wait until the clock reads `when` (None: until woken) or `wakeup` is set (True then). Unlike `wait`,
        this is not a workflow's durable wait: a virtual clock never moves forward for it."""
        return wakeup.wait(None if when is None else max(0.0, (when - self.now()).total_seconds()))


class VirtualClock(Clock):
    """Virtual time for tests: `skew()` seconds ahead of the real clock.

    Running (the default), a durable wait completes at once and moves time forward to its end, so
    concurrent waits of the same length move it once. `pause()` stops that: waits then end only when
    `advance(seconds)` moves time past them (or something wakes them: cancel, retry-now, shutdown).
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._offset = 0.0
        self._running = True

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self.skew())

    def skew(self) -> float:
        with self._lock:
            return self._offset

    def pause(self) -> None:
        with self._lock:
            self._running = False

    def resume(self) -> None:
        """Waits complete at once again (and those waiting now are released)."""
        with self._lock:
            self._running = True
            self._lock.notify_all()

    def advance(self, seconds: float) -> None:
        """Move virtual time forward: waits whose end it reaches complete."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._offset += seconds
            self._lock.notify_all()

    def wait_until(self, wakeup: threading.Event, when: datetime | None) -> bool:
        with self._lock:
            while not wakeup.is_set() and (when is None or self.now() < when):
                left = 0.05 if when is None else (when - self.now()).total_seconds()
                self._lock.wait(min(max(left, 0.0), 0.05))  # a wake-up sets the event without knowing of this lock
        return wakeup.is_set()

    def wait(self, wakeup: threading.Event, seconds: float) -> bool:
        with self._lock:
            end = self._offset + max(0.0, seconds)
            while not self._running and self._offset < end and not wakeup.is_set():
                self._lock.wait(0.02)  # a wake-up sets the event without knowing of this lock
            if self._running:
                self._offset = max(self._offset, end)
        return wakeup.is_set()
