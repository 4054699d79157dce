"""Group commit for checkpoints and outcomes: concurrent workflows share commits, a lone workflow pays nothing.

Up to `max_writers` threads (one by default) write their own checkpoint at once, each on its own connection
(no hand-off, so a single workflow's step costs exactly one round trip). A checkpoint that arrives while
all writers are busy is queued; a writer that finishes takes whatever queued meanwhile and hands it, as
one batch, to the thread of its first checkpoint, which commits it as one transaction (one statement in
autocommit, or several pipelined) and then passes on the writer's place the same way. No caller writes more
than its own batch, and under a burst (a recovery, a load test, starts called in a loop while earlier
workflows run) hundreds of checkpoints cost a handful of commits instead of one each. One writer, not four:
with four, each checkpoint of workflows started one by one went alone in its commit (`bench/start.py`).

A batch that fails is re-sent one statement at a time only when the failure certainly rolled the whole
transaction back (the server reported an error for a statement, or the rollback after a client-side
error went through). When the outcome of the COMMIT is unknown (a lost connection, a server shutting
down: `psycopg.OperationalError`, or anything that is not a psycopg error), the batch may have committed,
and re-sending it could write twice: every item of the batch gets that error instead.

Queued checkpoints of a statement that has a `Merge` (the commonest one, a first-attempt success) go as one
statement over arrays instead of one statement each: in a recovery burst the client's work per checkpoint (a
cursor, the query's conversion, the parameters' adaptation) was most of what a batch cost this process. A batch
of such checkpoints and one other statement that has a `Joint` with them (a finish) goes as one statement too:
pipelined in a transaction block, those two cost this process about 1 ms of CPU, four times one statement's.

A batch handed over with two or more checkpoints (they arrive faster than commits go) waits GATHER_SECONDS for
more before it is written, as Postgres's commit_delay does for its WAL flushes: 1000 three-step workflows
started one by one then cost fewer, larger commits (median of 10 alternating runs: 725 -> 862 workflows/s, and
16-19 % less CPU per workflow in this process and in Postgres). A lone checkpoint, or one queued behind a lone
one, is written at once: a single workflow's steps never wait for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from engine.store.connection import fetch_one, run_kept


def certainly_rolled_back(exc: BaseException) -> bool:
    """True when `exc` proves that nothing of the failed transaction committed.

    psycopg's OperationalError (connection lost, AdminShutdown, ...) and InterfaceError (connection
    closed) leave the COMMIT's outcome unknown; so does an error that is not psycopg's. Every other
    psycopg error is a statement the server (or the client, before sending) refused, after which the
    transaction block rolled back.
    """
    return isinstance(exc, psycopg.Error) and not isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))


@dataclass(frozen=True)
class Merge:
    """How queued checkpoints of one statement are written by one statement.

    `params` turns the items' parameters into the merged statement's; the statement returns one row per item it
    wrote, which `key_of_row` matches to the item whose parameters give the same `key_of_params`, and whose
    result is the row's last column. An item without a row wrote nothing (its result is False, as a lone
    statement that returned no row). Two items with one key make the statement fail, and the batch is then
    re-sent item by item (see `certainly_rolled_back`)."""

    query: str
    params: Callable[[list[Any]], Any]
    key_of_params: Callable[[Any], Hashable]
    key_of_row: Callable[[Any], Hashable]


@dataclass(frozen=True)
class Joint:
    """A `Merge`'s checkpoints and one statement of another kind, written by one statement (`query`).

    `query` takes the merged statement's parameters and the other's (no name may be in both), and returns the
    merged statement's rows and the other's; `is_other_row` tells them apart. The two statements must touch
    different rows: in one statement, neither sees what the other wrote."""

    merged: str
    """The query text of the single checkpoint that `merge` merges."""
    merge: Merge
    other: str
    query: str
    is_other_row: Callable[[Any], bool]


class _Done:
    """Set once, waited for once: a lock held from birth and released by `set` (an Event costs a Condition, a lock
    and their setup; a recovery of 1000 workflows makes one per queued checkpoint)."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def set(self) -> None:
        if self._lock.locked():
            self._lock.release()

    def is_set(self) -> bool:
        return not self._lock.locked()

    def wait(self) -> None:
        self._lock.acquire()
        self._lock.release()


class _Queued:
    __slots__ = ("query", "params", "done", "result", "error", "batch")

    def __init__(self, query: str, params: Any):
        self.query = query
        self.params = params
        self.done = _Done()
        self.result: Any = False
        self.error: BaseException | None = None
        self.batch: list[_Queued] | None = None
        """Set when this item's thread is to write the batch (this item first) as the writer."""


class GroupCommit:
    GATHER_SECONDS = 0.0005
    """How long a handed-over batch of two or more waits for more checkpoints to join it."""

    def __init__(
        self,
        pool: ConnectionPool,
        max_writers: int = 1,
        merges: dict[str, Merge] | None = None,
        joints: list[Joint] | None = None,
    ):
        self.pool = pool
        self.max_writers = max_writers
        self.merges = merges or {}
        """The statements whose queued checkpoints are written together, by the query text they replace."""
        self.joints = joints or []
        self._lock = threading.Lock()
        self._writers = 0
        self._queued: list[_Queued] = []

    def write(self, query: str, params: Any) -> Any:
        """Run a checkpoint statement that returns rows (one, for all but an outcomes statement): the first column of
        its first row, or False for none."""
        with self._lock:
            if self._writers < self.max_writers:
                self._writers += 1
                mine = None
            else:
                mine = _Queued(query, params)
                self._queued.append(mine)
        if mine is None:
            try:
                row = fetch_one(self.pool, query, params)
                return row[0] if row else False
            finally:
                self._pass_on()
        mine.done.wait()
        if mine.batch is not None:
            try:
                self._write_batch(self._gathered(mine.batch))
            finally:
                self._pass_on()
        if mine.error is not None:
            raise mine.error
        return mine.result

    def _pass_on(self) -> None:
        """Give this writer's place to the first of what queued meanwhile, with all of it as its batch; with
        nothing queued the place is free again."""
        with self._lock:
            batch, self._queued = self._queued, []
            if not batch:
                self._writers -= 1
                return
        batch[0].batch = batch
        batch[0].done.set()

    def _gathered(self, batch: list[_Queued]) -> list[_Queued]:
        """`batch`, with what queued during GATHER_SECONDS when it holds two or more (this thread is the writer
        meanwhile, so they would otherwise wait for the next batch)."""
        if len(batch) < 2:
            return batch
        time.sleep(self.GATHER_SECONDS)
        with self._lock:
            batch += self._queued
            self._queued = []
        return batch

    def _write_batch(self, batch: list[_Queued]) -> None:
        """One transaction; a batch that is one statement (the commonest: first successes, merged) is sent alone
        in autocommit, as atomic as in a transaction block and without the pipeline's client work."""
        committed = False

        def rows_of(cursor: psycopg.Cursor[Any]) -> list[Any]:
            nonlocal committed
            committed = True  # the statement ran: in autocommit, it committed
            return cursor.fetchall()

        try:
            plan = self._plan(batch)
            if len(plan) == 1:
                items, how, (query, params) = plan[0]
                _deliver(items, how, run_kept(self.pool, query, params, rows_of))
                return
            with self.pool.connection() as conn:
                with conn.pipeline(), conn.transaction():
                    sent = [(items, how, conn.execute(*statement)) for items, how, statement in plan]
                committed = True
                for items, how, cursor in sent:
                    _deliver(items, how, cursor.fetchall())
        except Exception as exc:
            if not committed and certainly_rolled_back(exc):
                self._write_one_by_one(batch)
            else:
                for item in batch:
                    item.error = exc
        finally:
            for item in batch:
                item.done.set()  # the first is set already: it woke this batch's writer

    def _plan(self, batch: list[_Queued]) -> list[tuple[list[_Queued], Merge | Joint | None, tuple[str, Any]]]:
        """The statements that write `batch`: one for a Joint's two groups, else one per merged group of two or
        more items and one per other item. The items come from different workflows (a run waits for its
        checkpoint), so their order does not matter."""
        groups: dict[str, list[_Queued]] = {}
        for item in batch:
            groups.setdefault(item.query, []).append(item)
        for joint in self.joints:
            if groups.keys() == {joint.merged, joint.other} and len(groups[joint.other]) == 1:
                merged, [other] = groups[joint.merged], groups[joint.other]
                params = joint.merge.params([item.params for item in merged]) | other.params
                return [([*merged, other], joint, (joint.query, params))]
        plan: list[tuple[list[_Queued], Merge | Joint | None, tuple[str, Any]]] = []
        for query, items in groups.items():
            merge = self.merges.get(query)
            if merge is not None and len(items) > 1:
                plan.append((items, merge, (merge.query, merge.params([item.params for item in items]))))
            else:
                plan.extend(([item], None, (item.query, item.params)) for item in items)
        return plan

    def _write_one_by_one(self, batch: list[_Queued]) -> None:
        """A batch that certainly rolled back whole: retry each alone, so one bad statement fails only its own."""
        for item in batch:
            try:
                with self.pool.connection() as conn:
                    row = conn.execute(item.query, item.params).fetchone()
                item.result = row[0] if row else False
            except Exception as exc:
                item.error = exc


def _deliver(items: list[_Queued], how: Merge | Joint | None, rows: list[Any]) -> None:
    """Each item's result from the rows its statement returned (every statement sent here returns rows); `how`
    the statement was made of the items (None: one item's own)."""
    if isinstance(how, Joint):
        _deliver(items[:-1], how.merge, [row for row in rows if not how.is_other_row(row)])
        _deliver(items[-1:], None, [row for row in rows if how.is_other_row(row)])
        return
    if how is None:
        items[0].result = rows[0][0] if rows else False
        return
    written = {how.key_of_row(row): row[-1] for row in rows}
    for item in items:
        item.result = written.get(how.key_of_params(item.params), False)
