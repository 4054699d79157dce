"""The store owns every SQL statement and the schema: nothing else in the project writes SQL.

The statements are named blocks in `sql/*.sql` (loaded by `queries.py`), bound once per schema.
"""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from engine.store.connection import connect, open_pool
from engine.store.deadlines import DeadlineStore
from engine.store.messages import MessageStore
from engine.store.migrations import ensure_current
from engine.store.names import check_schema_name, control_channel, events_channel
from engine.store.ops import OpsStore
from engine.store.queues import QueueStore
from engine.store.reads import ReadStore
from engine.store.retention import RetentionStore
from engine.store.runtime import RuntimeStore
from engine.store.schedules import ScheduleStore


class Store:
    """A migrated schema behind one connection pool, with its faces."""

    def __init__(
        self, url: str, schema: str, pool_size: int, application_name: str = "durable", check_connections: bool = False
    ):
        self.url = url
        self.schema = check_schema_name(schema)
        self.application_name = application_name
        with connect(url, application_name=application_name) as conn:
            ensure_current(conn, schema)
        self.pool: ConnectionPool = open_pool(url, pool_size, application_name, check_connections)
        self.runtime = RuntimeStore(self.pool, schema)
        self.reads = ReadStore(self.pool, schema)
        self.ops = OpsStore(self.pool, schema)
        self.queues = QueueStore(self.pool, schema)
        self.deadlines = DeadlineStore(self.pool, schema)
        self.schedules = ScheduleStore(self.pool, schema)
        self.messages = MessageStore(self.pool, schema)
        self.retention = RetentionStore(self.pool, schema)
        self.events_channel = events_channel(schema)
        self.control_channel = control_channel(schema)

    def close(self) -> None:
        self.pool.close()


__all__ = ["Store", "connect"]
