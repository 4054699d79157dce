"""Group commit never re-sends a batch that may have committed (fake pool and connection, no database).

A batch whose COMMIT outcome is unknown (connection lost, server shutting down) must fail every item with
that error: re-sending could write each checkpoint twice. A batch the server certainly rolled back (a
statement error before COMMIT) is re-sent one statement at a time, so only the bad one fails.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from engine.store.group_commit import GroupCommit, Joint, Merge, _Queued, certainly_rolled_back


class FakeCursor:
    def __init__(self, answer: tuple[Any, ...] | list[tuple[Any, ...]] | None, error: BaseException | None = None):
        self.rows = answer if isinstance(answer, list) else [] if answer is None else [answer]
        self.error = error

    def fetchone(self) -> tuple[Any, ...] | None:
        return (self.fetchall() or [None])[0]

    def fetchall(self) -> list[tuple[Any, ...]]:
        if self.error is not None:
            raise self.error
        return self.rows


class FakeConnection:
    """Executes by looking each query up in `answers` (a row, or an exception to raise)."""

    def __init__(self, pool: FakePool):
        self.pool = pool

    def cursor(self) -> FakeConnection:
        return self

    def execute(self, query: str, params: Any = None, prepare: bool | None = None) -> FakeCursor:
        self.pool.sent.append(query)
        answer = self.pool.answers.get(query, (1,))
        if isinstance(answer, BaseException):
            raise answer
        return FakeCursor(answer, self.pool.fetch_error)

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        yield

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.pool.transactions += 1
        yield
        if self.pool.commit_error is not None:
            raise self.pool.commit_error
        self.pool.commits += 1


class FakePool:
    def __init__(
        self,
        answers: dict[str, Any] | None = None,
        commit_error: BaseException | None = None,
        fetch_error: BaseException | None = None,
    ):
        self.answers = answers or {}
        self.commit_error = commit_error
        self.fetch_error = fetch_error
        self.sent: list[str] = []
        self.transactions = 0
        self.commits = 0

    @contextmanager
    def connection(self) -> Iterator[FakeConnection]:
        yield FakeConnection(self)

    def getconn(self) -> FakeConnection:
        return FakeConnection(self)

    def putconn(self, conn: FakeConnection) -> None:
        pass


def batch_of(*queries: str) -> list[_Queued]:
    return [_Queued(q, ()) for q in queries]


@pytest.mark.parametrize(
    "lost",
    [
        psycopg.OperationalError("server closed the connection unexpectedly"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.InterfaceError("the connection is closed"),
        RuntimeError("anything else"),
    ],
)
def test_a_commit_with_an_unknown_outcome_fails_every_item_and_sends_nothing_again(lost: Exception) -> None:
    pool = FakePool(commit_error=lost)
    batch = batch_of("a", "b", "c")
    GroupCommit(pool)._write_batch(batch)  # type: ignore[arg-type]
    assert pool.sent == ["a", "b", "c"]  # sent once, never again
    assert all(item.error is lost for item in batch)
    assert all(item.done.is_set() for item in batch)


def test_a_connection_lost_mid_batch_fails_every_item() -> None:
    lost = psycopg.errors.AdminShutdown("terminating connection")
    pool = FakePool(answers={"b": lost})
    batch = batch_of("a", "b", "c")
    GroupCommit(pool)._write_batch(batch)  # type: ignore[arg-type]
    assert pool.sent == ["a", "b"]
    assert [item.error for item in batch] == [lost, lost, lost]


def test_a_statement_error_rolls_back_and_each_item_is_sent_alone() -> None:
    bad = psycopg.errors.DivisionByZero("division by zero")
    pool = FakePool(answers={"b": bad, "c": (0,)})
    batch = batch_of("a", "b", "c")
    GroupCommit(pool)._write_batch(batch)  # type: ignore[arg-type]
    assert pool.sent == ["a", "b", "a", "b", "c"]
    assert [item.result for item in batch] == [True, False, False]
    assert [item.error for item in batch] == [None, bad, None]
    assert all(item.done.is_set() for item in batch)


def test_an_error_after_the_commit_is_never_resent() -> None:
    pool = FakePool(fetch_error=psycopg.ProgrammingError("the last operation didn't produce a result"))
    batch = batch_of("a", "b")
    GroupCommit(pool)._write_batch(batch)  # type: ignore[arg-type]
    assert pool.commits == 1 and pool.sent == ["a", "b"]
    assert all(isinstance(item.error, psycopg.ProgrammingError) for item in batch)


def test_a_batch_of_one_statement_is_sent_in_autocommit_and_never_resent_after_it_ran() -> None:
    pool = FakePool(fetch_error=psycopg.ProgrammingError("the last operation didn't produce a result"))
    batch = batch_of("a")
    GroupCommit(pool)._write_batch(batch)  # type: ignore[arg-type]
    assert pool.sent == ["a"] and pool.transactions == 0
    assert isinstance(batch[0].error, psycopg.ProgrammingError) and batch[0].done.is_set()


def test_a_lone_write_is_one_statement_without_a_batch() -> None:
    pool = FakePool(answers={"x": (1,), "y": (0,)})
    group = GroupCommit(pool)  # type: ignore[arg-type]
    assert group.write("x", ()) == 1  # the statement's first column
    assert group.write("y", ()) == 0
    assert pool.sent == ["x", "y"] and pool.transactions == 0


def test_merged_checkpoints_and_their_joint_statement_go_as_one_statement_in_autocommit() -> None:
    """A batch of first successes and a finish is one statement (no transaction block, no pipeline); each item gets
    its own row's result, and an item without a row gets False. Two statements of the other kind do not fit the
    joint statement: they are pipelined in a transaction as before."""
    merge = Merge("merged", lambda ps: {"keys": [p["k"] for p in ps]}, lambda p: p["k"], lambda row: row[0])
    joint = Joint("single", merge, "other", "joint", lambda row: row[1] is None)
    pool = FakePool(answers={"joint": [("a", 1, "note-a"), ("c", 1, "note-c"), ("ended", None, None)]})
    group = GroupCommit(pool, merges={"single": merge}, joints=[joint])  # type: ignore[arg-type]
    batch = [_Queued("single", {"k": "a"}), _Queued("other", {}), _Queued("single", {"k": "b"})]
    batch.append(_Queued("single", {"k": "c"}))
    group._write_batch(batch)
    assert pool.sent == ["joint"] and pool.transactions == 0
    assert [item.result for item in batch] == ["note-a", "ended", False, "note-c"]
    group._write_batch([_Queued("single", {"k": "a"}), _Queued("other", {}), _Queued("other", {})])
    assert pool.sent[1:] == ["single", "other", "other"] and pool.transactions == 1


def test_which_errors_prove_a_rollback() -> None:
    assert certainly_rolled_back(psycopg.errors.UniqueViolation("duplicate key"))
    assert certainly_rolled_back(psycopg.errors.DivisionByZero("division by zero"))
    assert not certainly_rolled_back(psycopg.errors.AdminShutdown("shutdown"))
    assert not certainly_rolled_back(psycopg.errors.SerializationFailure("could not serialize"))
    assert not certainly_rolled_back(psycopg.OperationalError("lost"))
    assert not certainly_rolled_back(ValueError("not psycopg's"))


class GatedPool(FakePool):
    """Records which thread sent each statement; the statement "first" blocks until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_by: dict[str, str] = {}
        self.first_sent = threading.Event()
        self.release = threading.Event()

    def getconn(self) -> FakeConnection:
        pool = self

        class Gated(FakeConnection):
            def execute(self, query: str, params: Any = None, prepare: bool | None = None) -> FakeCursor:
                pool.sent_by[query] = threading.current_thread().name
                if query == "first":
                    pool.first_sent.set()
                    pool.release.wait(5)
                return super().execute(query, params, prepare)

        return Gated(self)

    @contextmanager
    def connection(self) -> Iterator[FakeConnection]:
        with super().connection():
            yield self.getconn()


def _b_and_c_behind_a_writer(group: GroupCommit, pool: GatedPool) -> list[threading.Thread]:
    """Threads writing "first" (held by `pool` until its release), then "b" and "c", queued behind it."""
    first = threading.Thread(target=group.write, args=("first", ()), name="first")
    first.start()
    assert pool.first_sent.wait(5)
    queued = [threading.Thread(target=group.write, args=(q, ()), name=q) for q in ("b", "c")]
    for thread in queued:
        thread.start()
    while len(group._queued) < 2:
        time.sleep(0.001)
    return [first, *queued]


def test_the_writer_hands_what_queued_to_a_queued_caller_and_writes_only_its_own() -> None:
    """A start called in a loop must not pay for the checkpoints that queued behind it: the batch goes to the
    thread of its first item, which writes it and then frees the writer's place."""
    pool = GatedPool()
    group = GroupCommit(pool, max_writers=1)  # type: ignore[arg-type]
    threads = _b_and_c_behind_a_writer(group, pool)
    pool.release.set()
    for thread in threads:
        thread.join(5)
    assert pool.sent_by == {"first": "first", "b": "b", "c": "b"}  # b leads the batch of b and c
    assert pool.transactions == 1 and group._writers == 0


def test_a_handed_over_batch_of_two_gathers_what_arrives_during_its_window() -> None:
    """Checkpoints arriving faster than commits go wait a moment for more to join: "d", queued while the batch of b
    and c gathers, goes in that batch (sent by b's thread), not in a commit of its own."""
    pool = GatedPool()
    group = GroupCommit(pool, max_writers=1)  # type: ignore[arg-type]
    group.GATHER_SECONDS = 0.3  # far above what starting a thread takes on a loaded machine
    threads = _b_and_c_behind_a_writer(group, pool)
    pool.release.set()
    while group._queued:  # handed over to b, which is gathering now
        time.sleep(0.001)
    late = threading.Thread(target=group.write, args=("d", ()), name="d")
    late.start()
    for thread in [*threads, late]:
        thread.join(5)
    assert pool.sent_by == {"first": "first", "b": "b", "c": "b", "d": "b"}
    assert pool.transactions == 1 and group._writers == 0
