"""Session statements: LISTEN only on the store's own channels, isolation only from the known levels."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.store import session


class Recorder:
    """Stands in for a connection: remembers the statements it is given."""

    def __init__(self, row: tuple[Any, ...] = (True,)):
        self.sent: list[tuple[str, Any]] = []
        self.row = row

    def execute(self, query: str, params: Any = None) -> Recorder:
        self.sent.append((query, params))
        return self

    def fetchone(self) -> tuple[Any, ...]:
        return self.row


class AsyncRecorder(Recorder):
    async def execute(self, query: str, params: Any = None) -> Recorder:  # type: ignore[override]
        return super().execute(query, params)


def test_listen_takes_only_the_store_channels() -> None:
    assert session.listen_statement("durable_events") == "LISTEN durable_events"
    assert session.listen_statement("t_abc123_control") == "LISTEN t_abc123_control"
    for bad in ("durable", "durable_other", "Bad_events", 'x"; SELECT 1; --_events', "_events"):
        with pytest.raises(ValueError):
            session.listen_statement(bad)


def test_listen_and_ping_run_one_statement_each() -> None:
    conn, aconn = Recorder(), AsyncRecorder()
    session.listen(conn, "durable_control")  # type: ignore[arg-type]
    asyncio.run(session.listen_async(aconn, "durable_events"))  # type: ignore[arg-type]
    asyncio.run(session.ping_async(aconn))  # type: ignore[arg-type]
    assert conn.sent == [("LISTEN durable_control", None)]
    assert aconn.sent == [("LISTEN durable_events", None), ("SELECT 1", None)]


@pytest.mark.parametrize(
    ("level", "statement"),
    [
        ("serializable", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
        ("repeatable read", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"),
        ("READ COMMITTED", "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"),
    ],
)
def test_isolation_levels(level: str, statement: str) -> None:
    conn = Recorder()
    session.set_isolation(conn, level)  # type: ignore[arg-type]
    assert conn.sent == [(statement, None)]


def test_an_unknown_isolation_level_is_refused() -> None:
    with pytest.raises(ValueError, match="isolation level"):
        session.set_isolation(Recorder(), "read uncommitted; DROP")  # type: ignore[arg-type]


def test_executor_lock_key_is_the_schema_and_the_id() -> None:
    held, free = Recorder((False,)), Recorder((True,))
    assert session.try_lock_executor(free, "durable", "exec-1") is True  # type: ignore[arg-type]
    assert session.try_lock_executor(held, "durable", "exec-1") is False  # type: ignore[arg-type]
    query, params = free.sent[0]
    assert "hashtext('durable-executor:durable:' || %s)" in query and params == ("exec-1",)
