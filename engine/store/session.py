"""Statements about a session rather than rows: the executor lock, LISTEN, isolation, a ping.

They run on a connection the caller owns (a worker's listener, the dashboard's feed, a `@transaction`'s
connection), so they take the connection instead of using the pool.
"""

from __future__ import annotations

import psycopg
from psycopg import errors as pg_errors

from engine.store.names import check_schema_name
from engine.store.queries import for_schema, plain

CHANNEL_KINDS = ("events", "control")
ISOLATION = {
    "serializable": "isolation_serializable",
    "repeatable read": "isolation_repeatable_read",
    "read committed": "isolation_read_committed",
}


def try_lock_executor(conn: psycopg.Connection, schema: str, executor_id: str) -> bool:
    """Take the session advisory lock on `executor_id`: False when another live session holds it.

    The lock lives as long as `conn`: a process that dies loses it with its connection.
    """
    row = conn.execute(for_schema(schema)["try_lock_executor"], (executor_id,)).fetchone()
    return bool(row and row[0])


def listen_statement(channel: str) -> str:
    """The LISTEN of a store channel (`<schema>_events` or `<schema>_control`); any other name is refused."""
    schema, _, kind = channel.rpartition("_")
    if kind not in CHANNEL_KINDS:
        raise ValueError(f"channel {channel!r} is not <schema>_events or <schema>_control")
    return for_schema(check_schema_name(schema))[f"listen_{kind}"]


def listen(conn: psycopg.Connection, channel: str) -> None:
    conn.execute(listen_statement(channel))


async def listen_async(aconn: psycopg.AsyncConnection, channel: str) -> None:
    await aconn.execute(listen_statement(channel))


RETRYABLE_TRANSACTION_ERRORS = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)
"""Errors that certainly rolled a transaction back and that running it again may avoid."""


def set_isolation(conn: psycopg.Connection, level: str) -> None:
    """Set the isolation of the transaction just begun on `conn`: serializable, repeatable read, read committed."""
    key = ISOLATION.get(level.lower().replace("_", " "))
    if key is None:
        raise ValueError(f"isolation level must be one of {', '.join(ISOLATION)}, not {level!r}")
    conn.execute(plain(key))


async def ping_async(aconn: psycopg.AsyncConnection) -> None:
    """One round trip: raises when the connection is dead (a peer that vanished without closing)."""
    await aconn.execute(plain("ping"))
