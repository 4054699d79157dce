"""Retention: finished workflows older than an age are deleted by the live workers, a batch at a time.

`Engine(retention_seconds=...)` starts a `Retention` service in each worker. It never polls: after a sweep it
asks when the oldest finished workflow reaches the age and sleeps on the engine's clock until then, so a
quiet database costs one indexed query per expiry. Every worker runs the service, so retention goes on
while any worker lives; the store's advisory lock makes batches take turns (a worker that finds it held ends
its sweep and looks again a beat later). Each batch is a short transaction of its own on a pool connection,
deleting only rows of finished workflows, so a checkpoint never waits on it.

A finished workflow with a child still running stays until that child finishes: a running workflow keeps its
parent row (its deadline, the dashboard's parent link and a cancel of the tree read it).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from engine.clock import Clock
from engine.services import Service
from engine.store import Store
from engine.store.retention import BATCH, RetentionStore
from engine.validation import check_number

log = logging.getLogger("durable.worker")

MAX_RETENTION_SECONDS = 100 * 365 * 24 * 3600.0
LONGEST_WAIT = 3600.0
"""A sweep at least hourly: a row whose finished_at was recorded on another process's clock (a virtual one,
a drifting one) may expire before the moment this worker computed."""


def check_retention(seconds: float | None) -> float | None:
    """The age past which finished workflows are deleted: None (keep them), else from a millisecond up."""
    if seconds is None:
        return None
    return float(check_number(seconds, "retention_seconds", 0.001, MAX_RETENTION_SECONDS))


class RetentionControl:
    """`Control`'s retention: what a worker's sweep does, on demand, on the database clock."""

    _store: Store

    def delete_older_than(self, seconds: float, dry_run: bool = False) -> int:
        """Delete the finished workflows that finished more than `seconds` ago (those with a child still running
        stay), a batch per transaction, taking turns with the workers' sweeps; `dry_run` only counts them."""
        age = float(check_number(seconds, "the age", 0.001, MAX_RETENTION_SECONDS))
        store = self._store.retention
        if dry_run:
            return store.count(age)
        total = 0
        while True:
            count = store.delete_batch(age) or 0
            total += count
            if count < BATCH:
                return total


class Retention(Service):
    """Deletes finished workflows older than `age` seconds; sleeps until the next one comes of age."""

    def __init__(self, store: RetentionStore, age: float, clock: Clock, retry_seconds: float, batch: int = BATCH):
        super().__init__("durable-retention")
        self.store = store
        self.age = age
        self.clock = clock
        self.retry_seconds = retry_seconds
        self.batch = batch
        self.deleted = 0
        self._poke = threading.Event()

    def interrupt(self) -> None:
        self._poke.set()

    def run(self) -> None:
        while not self.stopping:
            self.sweep()
            now = self.clock.now()
            due = self.store.next_due(self.age) or now + timedelta(seconds=self.age)
            if due <= now:  # rows this sweep could not take (another worker's batch, a row held): a beat later
                due = now + timedelta(seconds=self.retry_seconds)
            when = min(due, now + timedelta(seconds=LONGEST_WAIT))
            self.clock.wait_until(self._poke, when)
            self._poke.clear()

    def sweep(self) -> int:
        """Batches until none is full: how many workflows went. Stops early when another process sweeps. After
        each full batch it rests as long as the batch took, so a backlog never takes more than half of a
        database core from the checkpoints: retention is never urgent."""
        deleted = 0
        while not self.stopping:
            started = time.monotonic()
            count = self.store.delete_batch(self.age, self.clock.skew(), self.batch, wait=False)
            if count is None:
                break
            deleted += count
            if count < self.batch:
                break
            self._stop.wait(time.monotonic() - started)
        if deleted:
            self.deleted += deleted
            log.info("retention: deleted %d finished workflow(s) older than %gs", deleted, self.age)
        return deleted
