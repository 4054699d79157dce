"""A long history of finished workflows, built in bulk (generate_series), never through the engine.

The schema is migrated by the engine first, so every table, column, index and trigger is the real one; then
one INSERT ... SELECT per table writes rows that look like months of use: a mix of names, SUCCESS (85 %),
ERROR (10 %) and CANCELLED (5 %), creation times spread over 30 days, a quarter of them through one of three
queues, five steps each, and the failed attempts of every ERROR workflow's last step (a successful first
attempt has no row: the reads synthesize it). The row triggers are disabled while the history is written:
they would send a million notifications nobody listens to; the counts they keep are then written once.
"""

from __future__ import annotations

import time

import psycopg

from engine import Control
from engine.store.migrations import SCHEMA_VERSION

NAMES = [
    "orders.checkout",
    "orders.refund",
    "billing.invoice",
    "billing.charge",
    "emails.send",
    "emails.digest",
    "reports.daily",
    "reports.export",
    "users.signup",
    "users.cleanup",
    "inventory.sync",
    "inventory.restock",
    "search.reindex",
    "media.transcode",
    "media.thumbnail",
    "payments.settle",
    "payments.payout",
    "etl.import",
    "etl.transform",
    "webhooks.deliver",
]
QUEUES = ["emails", "billing", "etl"]
STEPS = 5
DAYS = 30


def build(url: str, schema: str, workflows: int) -> float:
    """Migrate `schema` with the engine, then fill it with `workflows` finished workflows; the seconds it took."""
    began = time.perf_counter()
    with Control(url, schema=schema):
        pass
    names = "ARRAY[" + ",".join(f"'{n}'" for n in NAMES) + "]"
    queues = "ARRAY[" + ",".join(f"'{q}'" for q in QUEUES) + "]"
    with psycopg.connect(url) as c:
        c.execute("SET maintenance_work_mem = '256MB'")
        rebuild = [
            *_drop_indexes(c, schema, "workflows", keep_key=True),
            *_drop_indexes(c, schema, "steps"),
            *_drop_indexes(c, schema, "attempts"),
        ]
        c.execute(f"ALTER TABLE {schema}.workflows DISABLE TRIGGER USER")
        c.execute(
            f"""
            INSERT INTO {schema}.workflows (workflow_id, name, status, inputs, output, error, executor_id,
                                            recovery_count, created_at, started_at, updated_at, finished_at,
                                            queue_name, priority, dequeued_at)
            SELECT md5(i::text), n.name, s.status,
                   jsonb_build_object('args', jsonb_build_array(i, 'customer-' || (i % 5000)), 'kwargs', '{{}}'::jsonb),
                   CASE WHEN s.status = 'SUCCESS' THEN jsonb_build_object('total', i % 1000, 'ok', true) END,
                   CASE WHEN s.status = 'ERROR' THEN jsonb_build_object('type', 'ValueError', 'message',
                        'card declined ' || i, 'args', jsonb_build_array('card declined'), 'traceback', '') END,
                   'executor-' || (i % 8), 0, t.created, t.created + interval '5 ms',
                   t.created + make_interval(secs => (i % 5000) / 1000.0),
                   t.created + make_interval(secs => (i % 5000) / 1000.0),
                   q.queue, 0, CASE WHEN q.queue IS NOT NULL THEN t.created + interval '1 ms' END
            FROM generate_series(1, {int(workflows)}) i
            CROSS JOIN LATERAL (SELECT ({names})[1 + abs(hashtext('n' || i)) % {len(NAMES)}] AS name) n
            CROSS JOIN LATERAL (SELECT CASE abs(hashtext('s' || i)) % 20
                                       WHEN 0 THEN 'CANCELLED' WHEN 1 THEN 'ERROR' WHEN 2 THEN 'ERROR'
                                       ELSE 'SUCCESS' END AS status) s
            CROSS JOIN LATERAL (SELECT now() - interval '1 hour'
                                       - make_interval(secs => ({workflows} - i) * {DAYS * 86400.0} / {workflows})
                                       AS created) t
            CROSS JOIN LATERAL (SELECT CASE WHEN abs(hashtext('q' || i)) % 4 = 0
                                       THEN ({queues})[1 + i % {len(QUEUES)}] END AS queue) q
            ORDER BY 1""",
        )
        c.execute(f"ALTER TABLE {schema}.workflows ENABLE TRIGGER USER")
        c.execute(f"ALTER TABLE {schema}.steps DISABLE TRIGGER USER")
        c.execute(
            f"""
            INSERT INTO {schema}.steps (workflow_id, step_id, name, kind, status, attempts, attempt_base,
                                        max_attempts, output, error, started_at, finished_at)
            SELECT w.workflow_id, k, w.name || '.step' || k, 'step',
                   CASE WHEN k = {STEPS} AND w.status = 'ERROR' THEN 'ERROR' ELSE 'SUCCESS' END,
                   CASE WHEN k = {STEPS} AND w.status = 'ERROR' THEN 3 ELSE 1 END, 0, 3,
                   CASE WHEN k = {STEPS} AND w.status = 'ERROR' THEN NULL ELSE to_jsonb(k) END,
                   CASE WHEN k = {STEPS} AND w.status = 'ERROR' THEN w.error END,
                   w.started_at + make_interval(secs => k / 1000.0),
                   w.started_at + make_interval(secs => (k + 1) / 1000.0)
            FROM {schema}.workflows w CROSS JOIN generate_series(1, {STEPS}) k""",
        )
        c.execute(f"ALTER TABLE {schema}.steps ENABLE TRIGGER USER")
        c.execute(
            f"""
            INSERT INTO {schema}.attempts (workflow_id, step_id, attempt, started_at, finished_at, error_type,
                                           error_message, traceback, end_reason)
            SELECT w.workflow_id, {STEPS}, a, w.started_at, w.started_at + interval '1 ms', 'ValueError',
                   'card declined', 'Traceback (most recent call last): ...', 'error'
            FROM {schema}.workflows w CROSS JOIN generate_series(1, 3) a WHERE w.status = 'ERROR'""",
        )
        c.execute(
            f"""
            INSERT INTO {schema}.queues (name, concurrency, worker_concurrency, rate_limit, rate_period)
            VALUES ('emails', 10, 2, 50, 30), ('billing', 5, NULL, NULL, NULL), ('etl', NULL, 4, 100, 60)"""
        )
        c.execute(
            f"""
            INSERT INTO {schema}.executors (executor_id, host, pid, started_at, heartbeat_at, stopped_at, workflows)
            SELECT 'executor-' || i, 'host-' || (i % 2), 1000 + i, now() - interval '{DAYS} days',
                   now() - interval '1 hour', now() - interval '1 hour', {names}
            FROM generate_series(0, 7) i"""
        )
        c.execute(
            f"""
            INSERT INTO {schema}.schedules (name, workflow_name, cron, since_at, last_tick_at, last_workflow_id)
            SELECT 'nightly-' || n, n, '0 3 * * *', now() - interval '{DAYS} days', now() - interval '1 day',
                   (SELECT workflow_id FROM {schema}.workflows WHERE name = n LIMIT 1)
            FROM unnest({names}) n"""
        )
        for statement in rebuild:
            c.execute(statement)
        if SCHEMA_VERSION >= 6:
            c.execute(f"DELETE FROM {schema}.workflow_counts")
            c.execute(
                f"INSERT INTO {schema}.workflow_counts (status, n) "
                f"SELECT status, count(*) FROM {schema}.workflows GROUP BY status"
            )
    with psycopg.connect(url, autocommit=True) as c:
        for table in ("workflows", "steps", "attempts"):
            c.execute(f"VACUUM ANALYZE {schema}.{table}")
    return time.perf_counter() - began


def _drop_indexes(c: psycopg.Connection, schema: str, table: str, keep_key: bool = False) -> list[str]:
    """Drop the indexes of a table (its primary key too unless `keep_key`: other tables' keys refer to it);
    returns the statements that make them again. An index built once over the rows is many times faster
    than a million random inserts into it."""
    key = c.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
        (f"{schema}.{table}",),
    ).fetchone()
    indexes = c.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid = %s::regclass AND NOT indisprimary",
        (f"{schema}.{table}",),
    ).fetchall()
    rebuild = []
    for name, definition in indexes:
        c.execute(f"DROP INDEX {name}")
        rebuild.append(definition)
    if key and not keep_key:
        c.execute(f"ALTER TABLE {schema}.{table} DROP CONSTRAINT {key[0]}")
        rebuild.append(f"ALTER TABLE {schema}.{table} ADD CONSTRAINT {key[0]} {key[1]}")
    return rebuild
