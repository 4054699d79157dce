"""The background parts of a worker process: control listener, heartbeat with recovery, slow-step marks.

Each is one daemon thread. They keep the hot path free of coordination: a step reads cancellation
and faults from memory that these threads keep current.
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
from typing import TYPE_CHECKING

import psycopg

from engine.errors import DurableError
from engine.faults import crash_now
from engine.states import StepStatus
from engine.store import connect

if TYPE_CHECKING:
    from engine.engine import Engine
    from engine.execution import StepRun

log = logging.getLogger("durable.worker")


class ControlListener:
    """LISTENs on the control channel on a connection of its own, which also holds the executor lock.

    The session-level advisory lock on the executor id is what keeps two live processes from
    running as the same executor: a process that dies loses its connection and so its lock.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="durable-control", daemon=True)
        self._conn: psycopg.Connection | None = None

    def start(self) -> None:
        self._conn = self._connect()
        self._thread.start()

    def stop(self) -> None:
        """Stop listening; a NOTIFY to ourselves wakes the listener so it need not time out."""
        self._stop.set()
        try:
            self.engine.store.ops.nudge()
        except Exception:
            log.debug("could not nudge the control listener", exc_info=True)
        self._thread.join(timeout=2)
        if self._conn is not None:
            self._conn.close()

    def _connect(self, first: bool = True) -> psycopg.Connection:
        engine = self.engine
        conn = connect(engine.database_url, application_name=engine.store.application_name)
        lock_key = f"durable-executor:{engine.schema}:{engine.executor_id}"
        got = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (lock_key,)).fetchone()
        if not (got and got[0]) and not first:
            log.warning("after a reconnect, executor id %s is held by another process", engine.executor_id)
        elif not (got and got[0]):
            if not engine.implicit_executor_id:
                conn.close()
                raise DurableError(f"executor id {engine.executor_id!r} is in use by another live process")
            engine.executor_id = f"{engine.executor_id}-{socket.gethostname()}-{os.getpid()}"
            log.info("default executor id is taken by a live process; running as %s", engine.executor_id)
        conn.execute(f"LISTEN {engine.store.control_channel}")
        return conn

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                assert self._conn is not None
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
        while not self._stop.wait(0.5):
            try:
                self._conn = self._connect(first=False)
                self.engine.faults.refresh()
                return
            except Exception as exc:
                log.warning("control listener reconnect failed: %s", exc)

    def handle(self, payload: str) -> None:
        """Act on one control message; anything malformed is logged and ignored."""
        try:
            msg = json.loads(payload)
            self._dispatch(msg["op"], msg)
        except Exception:
            log.warning("ignoring malformed control message %.200r", payload)

    def _dispatch(self, op: str, msg: dict) -> None:
        engine = self.engine
        if op == "cancel":
            for wid in msg.get("ids", []):
                engine.on_cancel(wid)
        elif op == "retry_now":
            for wid in msg.get("ids", []):
                engine.on_wake(wid)
        elif op == "wake":
            engine.heartbeat.poke()
        elif op == "faults":
            engine.faults.refresh()
        elif op == "crash" and msg.get("executor") == engine.executor_id:
            crash_now()
        elif op not in ("crash", "nudge"):
            log.warning("ignoring unknown control op %r", op)


class Heartbeat:
    """Every beat: refresh this executor's heartbeat, take over dead executors' work, claim queued work."""

    EXPLAIN_EVERY = 5

    def __init__(self, engine: Engine):
        self.engine = engine
        self._stop = threading.Event()
        self._poke = threading.Event()
        self._thread = threading.Thread(target=self._run, name="durable-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._poke.set()
        self._thread.join(timeout=5)

    def poke(self) -> None:
        """Claim queued work now rather than at the next beat."""
        self._poke.set()

    def _run(self) -> None:
        engine = self.engine
        beats = 0
        next_beat = 0.0
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if now >= next_beat:
                    engine.runtime.heartbeat(engine.executor_id, engine.in_flight())
                    self.resume_stranded()
                    if engine.auto_recover:
                        self.adopt_dead()
                    if beats % self.EXPLAIN_EVERY == 0:
                        engine.runtime.explain_waiting(engine.lease_seconds)
                    beats += 1
                    next_beat = now + engine.heartbeat_seconds
                self.claim_enqueued()
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)
            self._poke.wait(max(0.0, next_beat - time.monotonic()))
            self._poke.clear()

    def capacity(self) -> int:
        """How many more workflows to claim: a deep queue per thread, so a burst is taken in one beat."""
        return max(0, self.engine.max_workers * 16 - self.engine.in_flight())

    def resume_stranded(self) -> None:
        engine = self.engine
        stranded = engine.take_stranded()
        if not stranded:
            return
        try:
            engine.run_claimed(engine.runtime.claim_stranded(engine.executor_id, stranded))
        except Exception:
            engine.strand(stranded)
            raise

    def adopt_dead(self, only: str | None = None) -> int:
        engine = self.engine
        claimed = engine.runtime.claim_dead(
            engine.executor_id, engine.workflow_names, engine.lease_seconds, self.capacity(), only
        )
        if claimed:
            log.info("adopting %d workflow(s) of dead executors", len(claimed))
        return engine.run_claimed(claimed)

    def claim_enqueued(self) -> int:
        engine = self.engine
        limit = self.capacity()
        if limit == 0 or engine._stopping.is_set():
            return 0
        return engine.run_claimed(engine.runtime.claim_enqueued(engine.executor_id, engine.workflow_names, limit))


class Finisher:
    """Commits how workflows ended, in batches.

    Many workflows end at once in a recovery burst or under load; one commit for all that are ready
    halves the commits of a short workflow. A workflow thread hands its outcome over and is free at once;
    the outcome's future resolves only after the commit, so `result()` never sees an unrecorded outcome.
    """

    BATCH = 500

    def __init__(self, engine: Engine):
        self.engine = engine
        self._queue: queue.SimpleQueue[tuple[tuple[str, str, str | None, str | None], Callable[[], None]] | None]
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="durable-finisher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Commit what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout=10)

    def submit(self, outcome: tuple[str, str, str | None, str | None], done: Callable[[], None]) -> None:
        self._queue.put((outcome, done))

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            batch = []
            while item is not None:
                batch.append(item)
                if len(batch) >= self.BATCH or self._queue.empty():
                    break
                item = self._queue.get()
            stopping = item is None
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[tuple[tuple[str, str, str | None, str | None], Callable[[], None]]]) -> None:
        try:
            self.engine.runtime.finish_workflows(self.engine.executor_id, [outcome for outcome, _ in batch])
        except Exception as exc:
            log.warning(
                "could not record %d workflow outcome(s); they run again from their checkpoints once "
                "the database answers: %s",
                len(batch),
                exc,
            )
            self.engine.strand([outcome[0] for outcome, _ in batch])
        for _, done in batch:
            done()


class SlowStepMarker:
    """Marks a step RUNNING once it has run longer than THRESHOLD, so a quick step pays no write for it."""

    THRESHOLD = 0.15

    def __init__(self, engine: Engine):
        self.engine = engine
        self._watched: dict[int, tuple[float, StepRun]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="durable-slow-steps", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def watch(self, run: StepRun) -> None:
        self._watched[id(run)] = (time.monotonic(), run)

    def unwatch(self, run: StepRun) -> None:
        self._watched.pop(id(run), None)

    def _run(self) -> None:
        while not self._stop.wait(self.THRESHOLD / 2):
            cutoff = time.monotonic() - self.THRESHOLD
            for key, (since, run) in list(self._watched.items()):
                if since > cutoff or run.attempt > 1:
                    continue
                self._watched.pop(key, None)
                try:
                    self.engine.runtime.mark_step(
                        run.ctx.workflow_id,
                        run.step_id,
                        run.spec.name,
                        run.spec.kind,
                        StepStatus.RUNNING,
                        run.attempt,
                        run.budget,
                        run.started,
                    )
                except Exception as exc:
                    log.warning("could not mark a slow step running: %s", exc)
