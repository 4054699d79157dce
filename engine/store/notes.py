"""Notifications sent after their commit: those of a worker's starts and checkpoints.

A transaction that NOTIFYs holds a lock on the whole database from the start of its commit until the commit
is durable, so concurrent commits that notify wait for one another instead of sharing a WAL flush. The hot
statements therefore silence the row triggers for their own transaction (migration 9) and return the payloads
the triggers would have sent; they wait here until the worker's notifier sends them, many in one statement.

A payload only tells a listener to read again (the dashboard, a `get_event` or `read_stream` waiter); one lost
with its process is what a listener's reconnect or periodic reconcile already covers. Whatever must wake a
waiter for certain (a message, an event, a stream value, a workflow's end) still notifies in its own commit.
"""

from __future__ import annotations

import json
import threading

from psycopg_pool import ConnectionPool

from engine.store.queries import Statements

MAX_BATCH = 2000
"""Payloads per statement: a few hundred bytes each, well within one message."""


class LaterNotes:
    def __init__(self, pool: ConnectionPool, sql: Statements, channel: str, wake_channel: str):
        self.pool = pool
        self.channel = channel
        self.wake_channel = wake_channel
        """The workers' channel, where a worker's own enqueues send their `wake`."""
        self.origin: str | None = None
        """The executor id of the worker that sends these (set at its launch): its own listener skips its wakes,
        since the enqueue poked its claim directly."""
        self._send = sql["notify_many"]
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._wakes: list[str] = []
        self.ready = threading.Event()
        """Set when a payload waits: what the notifier sleeps on."""

    def add(self, payload: str) -> None:
        """A payload of a row change that has committed."""
        with self._lock:
            self._pending.append(payload)
        if not self.ready.is_set():
            self.ready.set()

    def extend(self, payloads: list[str]) -> None:
        with self._lock:
            self._pending.extend(payloads)
        if payloads and not self.ready.is_set():
            self.ready.set()

    def wake(self, queue: str) -> None:
        """A `wake` for the workers' channel: an enqueue into `queue` committed."""
        payload = json.dumps({"op": "wake", "queue": queue, "by": self.origin})
        with self._lock:
            self._wakes.append(payload)
        if not self.ready.is_set():
            self.ready.set()

    def send(self) -> int:
        """Send what waits, in statements of up to MAX_BATCH payloads; returns how many were sent.

        Taken payloads are gone even if sending fails: a listener that missed them reads everything again
        after its reconnect or at its next reconcile.
        """
        with self._lock:
            pending, self._pending = self._pending, []
            wakes, self._wakes = self._wakes, []
            self.ready.clear()
        if not pending and not wakes:
            return 0
        with self.pool.connection() as conn:  # Postgres delivers identical payloads of one transaction once
            for channel, payloads in ((self.channel, pending), (self.wake_channel, wakes)):
                for first in range(0, len(payloads), MAX_BATCH):
                    conn.execute(self._send, (channel, payloads[first : first + MAX_BATCH]))
        return len(pending) + len(wakes)
