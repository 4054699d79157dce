"""The background services of a worker process: control listener, lease, heartbeat with recovery, finisher,
slow-step marks. Each is a supervised `Service` thread.

They keep the hot path free of coordination: a step reads cancellation and faults from memory that
these threads keep current, and hands its workflow's outcome to the finisher.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg

from engine.errors import DurableError
from engine.faults import crash_now
from engine.queues import QUEUES
from engine.services import Service
from engine.states import StepStatus
from engine.store import connect
from engine.store.counts import fold_counts
from engine.store.notes import LaterNotes
from engine.store.runtime import RuntimeStore
from engine.store.session import listen, try_lock_executor

if TYPE_CHECKING:
    from engine.engine import Engine
    from engine.execution import StepRun

log = logging.getLogger("durable.worker")


def claim_identity(
    url: str, schema: str, application_name: str, executor_id: str, implicit: bool
) -> tuple[psycopg.Connection[Any], str]:
    """Open the control connection and take the executor id on it: (connection, the id this process runs as).

    A second live process asking for an explicit id is refused. With the implicit default id, it runs
    as `<id>-<host>-<pid>` instead. A process that dies loses its connection and so its lock.
    """
    conn = connect(url, application_name=application_name)
    if try_lock_executor(conn, schema, executor_id):
        return conn, executor_id
    if not implicit:
        conn.close()
        raise DurableError(f"executor id {executor_id!r} is in use by another live process")
    own = f"{executor_id}-{socket.gethostname()}-{os.getpid()}"
    log.info("default executor id is taken by a live process; running as %s", own)
    try_lock_executor(conn, schema, own)
    return conn, own


class ControlListener(Service):
    """LISTENs on the control channel on the connection that holds the executor lock."""

    def __init__(self, engine: Engine, conn: psycopg.Connection[Any]):
        super().__init__("durable-control")
        self.engine = engine
        self._conn = conn
        listen(conn, engine.store.control_channel)

    def interrupt(self) -> None:
        """A NOTIFY to ourselves wakes the listener so it need not time out."""
        try:
            self.engine.store.ops.nudge()
        except Exception:
            log.debug("could not nudge the control listener", exc_info=True)

    def stop(self, timeout: float = 2.0) -> None:
        super().stop(timeout)
        self._conn.close()

    def run(self) -> None:
        while not self.stopping:
            try:
                for note in self._conn.notifies(timeout=1.0):
                    if self._stop.is_set():
                        return
                    self.handle(note.payload)
            except psycopg.OperationalError:
                if self._stop.is_set():
                    return
                log.warning("control listener lost its connection; reconnecting")
                self._reconnect()

    def _reconnect(self) -> None:
        engine = self.engine
        while not self._stop.wait(0.5):
            try:
                conn = connect(engine.database_url, application_name=engine.store.application_name)
                if not try_lock_executor(conn, engine.schema, engine.executor_id):
                    log.warning("after a reconnect, executor id %s is held by another process", engine.executor_id)
                listen(conn, engine.store.control_channel)
            except Exception as exc:
                log.warning("control listener reconnect failed: %s", exc)
                continue
            self._conn = conn
            engine.faults.refresh()
            return

    @staticmethod
    def _ids(msg: dict[str, Any]) -> list[str]:
        ids = msg.get("ids", [])
        if not isinstance(ids, list):
            raise ValueError("ids must be a list")
        return [wid for wid in ids if isinstance(wid, str)]

    def _local(self, msg: dict[str, Any]) -> list[str]:
        """The ids of the message that run in this process (no query for a message about others)."""
        return [wid for wid in self._ids(msg) if self.engine.runs.running(wid)]

    def handle(self, payload: str) -> None:
        """Act on one control message; anything malformed is logged and ignored."""
        try:
            msg = json.loads(payload)
            self._dispatch(msg["op"], msg)
        except Exception:
            log.warning("ignoring malformed control message %.200r", payload)

    def _dispatch(self, op: str, msg: dict[str, Any]) -> None:
        """Anyone who can connect can NOTIFY: an order that changes something is obeyed only as far as the rows
        (which only a role with the rights can write) confirm it; a wake or a faults refresh only re-reads rows."""
        engine = self.engine
        if op == "cancel":
            for wid in engine.runtime_store.cancelled_among(self._local(msg)):
                engine.runs.cancel(wid)
        elif op == "retry_now":
            for wid in engine.runtime_store.due_among(self._local(msg)):
                engine.runs.wake(wid)
        elif op == "wake":
            if msg.get("by") == engine.executor_id:
                return  # this worker's own enqueue, which poked its claim at once
            queue = msg.get("queue")
            engine.heartbeat.wake(queue if isinstance(queue, str) else None)
        elif op in ("message", "event"):
            # An event's id is the workflow that set it, which need not run here: its watchers do.
            for wid in self._ids(msg):
                engine.runs.wake_watchers((op, wid))
        elif op == "faults":
            engine.faults.refresh()
        elif op == "schedules":
            engine.scheduler.poke()
        elif op == "crash" and msg.get("executor") == engine.executor_id:
            if engine.runtime_store.crash_requested(engine.executor_id):
                crash_now()
            log.warning("ignoring a crash order that no controller recorded")
        elif op not in ("crash", "nudge"):
            log.warning("ignoring unknown control op %r", op)


class Lease(Service):
    """Every beat: write this executor's heartbeat, which keeps other workers from taking it for dead and vouches
    for its own runs for half a lease (`RunTable.lease_until`). A thread of its own, so no work delays it: taking
    over a dead executor's thousand workflows kept the heartbeat's thread busy for most of a second (their runs
    starting beside it), and every step of this executor's runs then read its workflow's owner first, as after an
    outage (`bench/recovery.py`, takeover: 1.0-1.3 s against 0.7 s for a restart)."""

    def __init__(self, engine: Engine):
        # Retried at least once a beat: a worker whose beats stop for a lease is taken for dead.
        super().__init__("durable-lease", longest_pause=engine.beat_seconds)
        self.engine = engine
        self._wake = threading.Event()
        self.beats = 0
        """How many beats went through: a test waits for some to pass rather than for a time."""
        self.adopt_after = 0.0
        """After a lapse, other workers' stale beats are explained by the same lapse: no adoption before this."""

    def interrupt(self) -> None:
        self._wake.set()

    def run(self) -> None:
        engine = self.engine
        while not self.stopping:
            now = time.monotonic()
            lapsed = now > engine.runs.lease_until
            engine.runtime_store.heartbeat(engine.executor_id, engine.in_flight())
            engine.runs.lease_until = now + engine.lease_seconds / 2
            if lapsed:
                # Our beats stopped (an outage): wait a lease before taking other workers for dead; and our runs
                # confirm they are still ours.
                engine.runs.lease_epoch += 1
                self.adopt_after = now + engine.lease_seconds
            self.beats += 1
            self._wake.wait(max(0.0, now + engine.beat_seconds - time.monotonic()))


class Heartbeat(Service):
    """Every beat (beside the `Lease`'s): take over dead executors' work, sweep deadlines, claim queued work, and
    claim again at once when woken for new work."""

    EXPLAIN_EVERY = 5
    NEW_WORK_SPACING = 0.02
    """While new work streams in (the last claim took some), claims for new work are this far apart: a burst
    of enqueues is taken in batches, not one claim per NOTIFY (a claim costs about a millisecond of this
    process's CPU). The first enqueue after a quiet spell, and room freed in a full queue, claim at once."""

    def __init__(self, engine: Engine):
        # Retried at least once a beat: the adoptions, sweeps and claims a beat owes resume within one.
        super().__init__("durable-heartbeat", longest_pause=engine.beat_seconds)
        self.engine = engine
        self._poke = threading.Event()
        self._urgent = threading.Event()
        """Set for what must be claimed at once: room freed while a queue's limits left none at the last claim, a
        stop. A freeing wake (a finish's) while no queue was full is claimed like new work: spaced while busy."""
        self._busy = False
        """The last claim took work: more may be streaming in."""
        self._freeing_wakes = 0
        """Wakes that may have freed room in a queue (any without a queue: a finish, a cancel, a resume);
        counted by the control listener only."""
        self.claims = 0
        """How many times this worker looked for queued work: what a burst of wakes costs, counted."""
        self._saturated: dict[str, int] = {}
        """The queues whose limits left this worker no room at their last claim, with `_freeing_wakes` as it
        was when that claim began: a wake for new work in one of them changes nothing until a freeing wake."""
        self._beats = 0
        self._next_beat = 0.0

    def interrupt(self) -> None:
        self._urgent.set()
        self._poke.set()

    @property
    def beats(self) -> int:
        """How many beats' work went through: a test waits for some to pass rather than for a time."""
        return self._beats

    def wake(self, queue: str | None) -> None:
        """A `wake` NOTIFY: new work in `queue`, or (None) something that may have freed room anywhere.

        New work in a queue whose limits were reached at a claim that began after the last freeing wake cannot
        start now: claiming again would only find it full (a burst of enqueues into a full queue costs no
        claims). The room comes back with a freeing wake, or a timer (the limiter's window). A freeing wake is
        urgent only while some queue is full: every finish of a queued workflow sends one, and claiming at each
        would take a workflow or two per claim where the spacing takes a batch."""
        if queue is None:
            self._freeing_wakes += 1
            if self._saturated:  # room was short: the freed slot is claimed at once, else as new work is
                self._urgent.set()
        elif self._saturated.get(queue) == self._freeing_wakes:
            return
        self._poke.set()

    def run(self) -> None:
        engine = self.engine
        while not self.stopping:
            now = time.monotonic()
            if now >= self._next_beat:
                engine.record_queues()
                self.resume_stranded()
                engine.deadlines.sweep()
                if engine.auto_recover:
                    self.adopt_dead()
                if self._beats % self.EXPLAIN_EVERY == 0:
                    engine.runtime_store.explain_waiting(engine.lease_seconds)
                    fold_counts(engine.runtime_store.pool, engine.runtime_store.sql)
                self._beats += 1
                self._next_beat = now + engine.beat_seconds
            wake_at = self._next_beat
            changes_in = self.claim_work()
            claimed_at = time.monotonic()
            if changes_in is not None:
                wake_at = min(wake_at, time.monotonic() + changes_in)
            self._poke.wait(max(0.0, wake_at - time.monotonic()))
            if self._busy and not self._urgent.is_set():
                self._urgent.wait(max(0.0, claimed_at + self.NEW_WORK_SPACING - time.monotonic()))
            self._poke.clear()
            self._urgent.clear()

    def capacity(self) -> int:
        """How many more workflows to claim: a deep queue per thread, so a burst is taken in one beat."""
        return max(0, self.engine.max_workers * 16 - self.engine.in_flight())

    def resume_stranded(self) -> None:
        engine = self.engine
        stranded = engine.runs.take_stranded()
        if not stranded:
            return
        try:
            engine.run_claimed(engine.runtime_store.claim_stranded(engine.executor_id, stranded))
        except Exception:
            engine.runs.strand(stranded)
            raise

    def adopt_dead(self) -> int:
        engine = self.engine
        if time.monotonic() < engine.lease.adopt_after:
            return 0
        claimed = engine.runtime_store.claim_dead(
            engine.executor_id, engine.recovery_limits(), engine.lease_seconds, self.capacity()
        )
        if claimed:
            log.info("adopting %d workflow(s) of dead executors", len(claimed))
        return len(engine.run_claimed(claimed))

    def claim_work(self) -> float | None:
        """Claim queued work: workflows of no queue, then from the queues this process defines as their limits
        allow. Returns the seconds until the next moment something can change without a NOTIFY (a delay
        expiring, a rate window opening), if any. A slot freed by a finishing workflow arrives as a `wake`
        NOTIFY (a trigger), so nothing polls."""
        engine = self.engine
        names = engine.workflow_names
        self.claims += 1
        began = self._freeing_wakes
        limit = 0 if self.stopping else self.capacity()
        survey = engine.store.queues.survey(engine.executor_id, names, limit, list(QUEUES))
        took = len(engine.run_claimed(survey.claimed))
        moments: list[float] = []
        saturated: dict[str, int] = {}
        for name, defined in [(name, q) for name, q in list(QUEUES.items()) if name in survey.due]:
            limit = self.capacity()
            if limit == 0 or self.stopping:
                break
            claim = engine.store.queues.claim(defined.definition, engine.executor_id, names, limit)
            engine.runtime_store.notes.extend(claim.notes)
            took += len(engine.run_claimed(claim.claimed))
            if claim.opens_in is not None:
                moments.append(claim.opens_in)
            if claim.saturated:
                saturated[name] = began
        self._saturated = saturated
        self._busy = took > 0
        if survey.next_due_in is not None:
            moments.append(survey.next_due_in)
        return min(moments) if moments else None


FinishedRecord = tuple[str, str, str | None, str | None]
"""(workflow id, status, output JSON, error JSON) of a workflow that ended."""


class Finisher(Service):
    """Commits how workflows ended, in batches.

    Many workflows end at once in a recovery burst or under load; one statement for all that are ready, sent
    through the group commit (it shares a commit with the checkpoints queued beside it), halves the commits of
    a short workflow. A workflow thread hands its outcome over and is free at once;
    its `done(committed)` runs only after the commit, so `result()` never sees an unrecorded outcome.
    """

    BATCH = 500

    def __init__(self, store: RuntimeStore, executor_id: str, strand: Callable[[list[str]], None]):
        super().__init__("durable-finisher")
        self.store = store
        self.executor_id = executor_id
        self.strand = strand
        self._queue: queue.SimpleQueue[tuple[FinishedRecord, Callable[[bool], None]] | None] = queue.SimpleQueue()

    def interrupt(self) -> None:
        self._queue.put(None)

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what is queued, then stop."""
        super().stop(timeout)

    def submit(self, record: FinishedRecord, done: Callable[[bool], None]) -> None:
        self._queue.put((record, done))

    def run(self) -> None:
        while True:
            item = self._queue.get()
            batch = []
            while item is not None:
                batch.append(item)
                if len(batch) >= self.BATCH or self._queue.empty():
                    break
                item = self._queue.get()
            if batch:
                self._commit(batch)
            if item is None:
                return

    def _commit(self, batch: list[tuple[FinishedRecord, Callable[[bool], None]]]) -> None:
        committed = False
        try:
            self.store.finish_workflows(self.executor_id, [record for record, _ in batch])
            committed = True
        except Exception as exc:
            log.warning(
                "could not record %d workflow outcome(s); they run again from their checkpoints once "
                "the database answers: %s",
                len(batch),
                exc,
            )
            self.strand([record[0] for record, _ in batch])
        for _, done in batch:
            try:
                done(committed)
            except Exception:
                log.exception("handling a finished workflow failed")


class Notifier(Service):
    """Sends the notifications of this worker's starts and checkpoints after their commit, a window's worth per
    statement (see engine/store/notes.py): the hot path's commits then never wait on one another's NOTIFY."""

    WINDOW = 0.01
    """Seconds to gather payloads before sending: far below what a dashboard shows, long enough for a burst."""

    def __init__(self, notes: LaterNotes):
        super().__init__("durable-notifier")
        self.notes = notes

    def interrupt(self) -> None:
        self.notes.ready.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Send what waits, then stop."""
        super().stop(timeout)
        try:
            self.notes.send()
        except Exception as exc:
            log.debug("could not send the last notifications: %s", exc)

    def run(self) -> None:
        while not self.stopping:
            self.notes.ready.wait()
            if self._stop.wait(self.WINDOW):
                return
            self.notes.send()


class SlowStepMarker(Service):
    """Marks a step RUNNING once it has run longer than THRESHOLD, so a quick step pays no write for it."""

    THRESHOLD = 0.15

    def __init__(self) -> None:
        super().__init__("durable-slow-steps")
        self._watched: dict[int, tuple[float, StepRun]] = {}

    def watch(self, run: StepRun) -> None:
        self._watched[id(run)] = (time.monotonic(), run)

    def unwatch(self, run: StepRun) -> None:
        self._watched.pop(id(run), None)

    def run(self) -> None:
        while not self._stop.wait(self.THRESHOLD / 2):
            cutoff = time.monotonic() - self.THRESHOLD
            for key, (since, run) in list(self._watched.items()):
                if since > cutoff or run.attempt > 1:  # a retry was marked when it began
                    continue
                self._watched.pop(key, None)
                run.mark_row(StepStatus.RUNNING)
