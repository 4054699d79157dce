"""Opening connections: one readable error for an unreachable database, never the password."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from engine.config import describe_url
from engine.errors import DatabaseUnavailable

CONNECT_TIMEOUT = 5

T = TypeVar("T")


def failure_reason(exc: BaseException) -> str:
    """The cause in a few words ("Connection refused"), not psycopg's multi-line report."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    causes = [line.rsplit("failed:", 1)[1].strip() for line in lines if "failed:" in line]
    return next((c for c in reversed(causes) if c), lines[-1] if lines else type(exc).__name__)


NO_JIT = "-c jit=off"
"""Our statements are short; on a long history a misestimated cost (a never-analyzed small table such as
`queues`) made Postgres JIT-compile a 1 ms statement for 0.7 s. A user's `@transaction` may `SET LOCAL jit = on`."""


def session_options(url: str) -> str:
    """The URL's own `options` (kept: a search_path, a role's settings), then JIT off."""
    given = psycopg.conninfo.conninfo_to_dict(url).get("options")
    return f"{given} {NO_JIT}" if given else NO_JIT


def connect(url: str, autocommit: bool = True, application_name: str = "durable") -> psycopg.Connection:
    """`application_name` labels the session in pg_stat_activity: durable-worker, durable-control, ..."""
    try:
        return psycopg.connect(
            url,
            autocommit=autocommit,
            connect_timeout=CONNECT_TIMEOUT,
            application_name=application_name,
            options=session_options(url),
        )
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot reach Postgres at {describe_url(url)}: {failure_reason(exc)}. "
            "Set $DURABLE_DATABASE_URL (or --database-url) to a reachable database."
        ) from None


def open_pool(url: str, max_size: int, application_name: str, check: bool = False) -> ConnectionPool:
    """An autocommit pool; the first connection is made here so a bad URL fails at once and clearly.

    With `check`, a connection is tested before each use (one quick round trip), so a caller never
    meets a connection that died in a database restart: right for controllers, too dear for checkpoints.
    """
    connect(url, application_name=application_name).close()
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        check=ConnectionPool.check_connection if check else None,
        kwargs={
            "autocommit": True,
            "connect_timeout": CONNECT_TIMEOUT,
            "application_name": application_name,
            "options": session_options(url),
        },
        open=False,
        name="durable",
    )
    pool.open(wait=True, timeout=CONNECT_TIMEOUT * 2)
    return pool


HOT_CURSOR = "_durable_hot_cursor"
"""The attribute of a pooled connection that keeps its hot-path cursor (it goes with the connection)."""


def fetch_one(pool: ConnectionPool, query: str, params: Any) -> tuple[Any, ...] | None:
    """The first row of one hot-path statement (a start, a checkpoint) on a pooled autocommit connection.

    Lighter than `pool.connection()` and `conn.execute`, which a step pays for once per checkpoint: no context
    manager around the connection (its exit would only commit what autocommit already committed), a cursor kept
    with each connection instead of a new one per statement, and the statement prepared at its first use.
    """
    return run_kept(pool, query, params, _first_row)


def run_kept(pool: ConnectionPool, query: str, params: Any, read: Callable[[psycopg.Cursor[Any]], T]) -> T:
    """What `read` takes from the cursor after one hot-path statement, run as `fetch_one` runs it."""
    conn = pool.getconn()
    try:
        cursor: psycopg.Cursor[Any] | None = getattr(conn, HOT_CURSOR, None)
        if cursor is None:
            cursor = conn.cursor()
            setattr(conn, HOT_CURSOR, cursor)
        return read(cursor.execute(query, params, prepare=True))
    finally:
        pool.putconn(conn)


def _first_row(cursor: psycopg.Cursor[Any]) -> tuple[Any, ...] | None:
    return cursor.fetchone()
