"""Versioned schema migrations, applied at launch under an advisory lock.

Each entry is the SQL that moves the schema from version N-1 to N. `{schema}` is replaced by the
configured schema name. Never edit a released migration: append a new one
(`tests/unit/test_migrations_frozen.py` holds the hash of each released text). The bookkeeping
statements (lock, version table) are in `sql/schema.sql`.
"""

from __future__ import annotations

import psycopg

from engine.errors import SchemaNotReady, SchemaTooNew
from engine.store.names import check_schema_name, control_channel, events_channel
from engine.store.queries import for_schema

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "check_schema_name", "control_channel", "events_channel", "migrate"]

MIGRATIONS: list[str] = [
    # 1: workflows, steps, attempts, executors, faults, and the triggers that feed the dashboard.
    # Steps and attempts carry no foreign keys: a key check locks the workflow row on every checkpoint,
    # and deletes cascade explicitly in the store. Attempts need no trigger of their own: an attempt is
    # always written by the same statement as its step, whose event carries the attempt number.
    """
    CREATE TABLE {schema}.workflows (
        workflow_id        text PRIMARY KEY,
        name               text NOT NULL,
        status             text NOT NULL,
        inputs             jsonb NOT NULL DEFAULT '{{}}',
        output             jsonb,
        error              jsonb,
        executor_id        text,
        parent_workflow_id text,
        parent_step_id     integer,
        forked_from        text,
        forked_from_step   integer,
        recovery_count     integer NOT NULL DEFAULT 0,
        wait_reason        text,
        created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
        started_at         timestamptz,
        updated_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at        timestamptz
    );
    CREATE INDEX workflows_created ON {schema}.workflows (created_at DESC, workflow_id);
    CREATE INDEX workflows_status_created ON {schema}.workflows (status, created_at DESC);
    CREATE INDEX workflows_name_created ON {schema}.workflows (name, created_at DESC);
    CREATE INDEX workflows_id_pattern ON {schema}.workflows (workflow_id text_pattern_ops);
    CREATE INDEX workflows_active_executor ON {schema}.workflows (executor_id)
        WHERE status IN ('PENDING', 'ENQUEUED');
    CREATE INDEX workflows_parent ON {schema}.workflows (parent_workflow_id)
        WHERE parent_workflow_id IS NOT NULL;

    CREATE TABLE {schema}.steps (
        workflow_id       text NOT NULL,
        step_id           integer NOT NULL,
        name              text NOT NULL,
        kind              text NOT NULL DEFAULT 'step',
        status            text NOT NULL,
        attempts          integer NOT NULL DEFAULT 0,
        attempt_base      integer NOT NULL DEFAULT 0,
        max_attempts      integer NOT NULL DEFAULT 1,
        next_attempt_at   timestamptz,
        output            jsonb,
        error             jsonb,
        child_workflow_id text,
        started_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at       timestamptz,
        PRIMARY KEY (workflow_id, step_id)
    );

    CREATE TABLE {schema}.attempts (
        workflow_id   text NOT NULL,
        step_id       integer NOT NULL,
        attempt       integer NOT NULL,
        started_at    timestamptz NOT NULL,
        finished_at   timestamptz,
        error_type    text,
        error_message text,
        traceback     text,
        PRIMARY KEY (workflow_id, step_id, attempt)
    );

    CREATE TABLE {schema}.executors (
        executor_id  text PRIMARY KEY,
        host         text NOT NULL,
        pid          integer NOT NULL,
        started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
        heartbeat_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        code_version text,
        workflows    text[] NOT NULL DEFAULT '{{}}',
        in_flight    integer NOT NULL DEFAULT 0,
        stopped_at   timestamptz
    );

    CREATE TABLE {schema}.faults (
        fault_id      bigserial PRIMARY KEY,
        kind          text NOT NULL CHECK (kind IN ('fail', 'delay', 'crash')),
        workflow_id   text,
        step_name     text NOT NULL,
        remaining     integer,
        delay_seconds double precision NOT NULL DEFAULT 0,
        phase         text NOT NULL DEFAULT 'before' CHECK (phase IN ('before', 'after')),
        message       text NOT NULL DEFAULT 'injected fault',
        created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
        expires_at    timestamptz
    );

    CREATE FUNCTION {schema}.notify_workflow() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM pg_notify('{channel_events}', json_build_object(
                't', 'w', 'id', OLD.workflow_id, 's', 'DELETED')::text);
            RETURN OLD;
        END IF;
        PERFORM pg_notify('{channel_events}', json_build_object(
            't', 'w', 'id', NEW.workflow_id, 's', NEW.status)::text);
        RETURN NEW;
    END $$;
    CREATE TRIGGER workflows_notify AFTER INSERT OR UPDATE OR DELETE ON {schema}.workflows
        FOR EACH ROW EXECUTE FUNCTION {schema}.notify_workflow();

    CREATE FUNCTION {schema}.notify_step() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{channel_events}', json_build_object(
            't', 's', 'id', NEW.workflow_id, 'step', NEW.step_id, 's', NEW.status,
            'n', NEW.attempts)::text);
        RETURN NEW;
    END $$;
    CREATE TRIGGER steps_notify AFTER INSERT OR UPDATE ON {schema}.steps
        FOR EACH ROW EXECUTE FUNCTION {schema}.notify_step();

    CREATE FUNCTION {schema}.notify_executor() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM pg_notify('{channel_events}', json_build_object('t', 'e', 'id', OLD.executor_id)::text);
            RETURN OLD;
        END IF;
        PERFORM pg_notify('{channel_events}', json_build_object('t', 'e', 'id', NEW.executor_id)::text);
        RETURN NEW;
    END $$;
    CREATE TRIGGER executors_notify AFTER INSERT OR UPDATE OR DELETE ON {schema}.executors
        FOR EACH ROW EXECUTE FUNCTION {schema}.notify_executor();

    CREATE FUNCTION {schema}.notify_fault() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{channel_events}', json_build_object('t', 'f')::text);
        PERFORM pg_notify('{channel_control}', json_build_object('op', 'faults')::text);
        RETURN NULL;
    END $$;
    CREATE TRIGGER faults_notify AFTER INSERT OR UPDATE OR DELETE ON {schema}.faults
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_fault();
    """,
    # 2: why each attempt ended, each step's retry limits as shown, what a fork changed, and a controller's
    # request that an executor crash (a worker obeys a crash NOTIFY only with this row's say-so).
    """
    ALTER TABLE {schema}.executors ADD COLUMN crash_requested_at timestamptz;
    ALTER TABLE {schema}.attempts ADD COLUMN end_reason text;
    ALTER TABLE {schema}.steps ADD COLUMN policy text;
    ALTER TABLE {schema}.workflows ADD COLUMN fork_changes jsonb;
    """,
    # 3: queues (issue 10). A queued workflow names its queue, priority, de-duplication id, partition and the
    # earliest time it may start (`not_before`); `dequeued_at` is when a queue last started it (the limiter
    # counts those). The partial unique index is the de-duplication. `queues` holds the definitions the
    # workers import, so controllers see them. A queued workflow leaving PENDING frees a slot: the trigger
    # wakes the workers to claim again at once.
    """
    ALTER TABLE {schema}.workflows
        ADD COLUMN queue_name text,
        ADD COLUMN priority integer NOT NULL DEFAULT 0,
        ADD COLUMN deduplication_id text,
        ADD COLUMN partition_key text NOT NULL DEFAULT '',
        ADD COLUMN not_before timestamptz,
        ADD COLUMN dequeued_at timestamptz,
        ADD COLUMN debounce_key text;
    CREATE UNIQUE INDEX workflows_queue_dedup ON {schema}.workflows (queue_name, deduplication_id)
        WHERE status IN ('ENQUEUED', 'PENDING') AND deduplication_id IS NOT NULL;
    CREATE INDEX workflows_queue_ready ON {schema}.workflows (queue_name, partition_key, priority, created_at)
        WHERE status = 'ENQUEUED' AND queue_name IS NOT NULL;
    CREATE INDEX workflows_queue_pending ON {schema}.workflows (queue_name, partition_key, executor_id)
        WHERE status = 'PENDING' AND queue_name IS NOT NULL;
    CREATE INDEX workflows_queue_dequeued ON {schema}.workflows (queue_name, partition_key, dequeued_at)
        WHERE dequeued_at IS NOT NULL;
    CREATE INDEX workflows_debounce ON {schema}.workflows (name, debounce_key)
        WHERE status = 'ENQUEUED' AND debounce_key IS NOT NULL;
    CREATE INDEX workflows_not_before ON {schema}.workflows (not_before)
        WHERE status = 'ENQUEUED' AND not_before IS NOT NULL;
    CREATE INDEX workflows_queue_unexplained ON {schema}.workflows (queue_name, partition_key)
        WHERE status = 'ENQUEUED' AND queue_name IS NOT NULL AND (wait_reason IS NULL OR not_before IS NOT NULL);

    CREATE TABLE {schema}.queues (
        name               text PRIMARY KEY,
        concurrency        integer,
        worker_concurrency integer,
        rate_limit         integer,
        rate_period        double precision,
        priority_enabled   boolean NOT NULL DEFAULT false,
        partitioned        boolean NOT NULL DEFAULT false,
        updated_at         timestamptz NOT NULL DEFAULT clock_timestamp()
    );

    CREATE FUNCTION {schema}.notify_queue_slot() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{channel_control}', json_build_object('op', 'wake')::text);
        RETURN NULL;
    END $$;
    CREATE TRIGGER workflows_queue_slot AFTER UPDATE OF status ON {schema}.workflows
        FOR EACH ROW WHEN (OLD.status = 'PENDING' AND NEW.status <> 'PENDING' AND NEW.queue_name IS NOT NULL)
        EXECUTE FUNCTION {schema}.notify_queue_slot();
    """,
    # 4: workflow timeouts and schedules (issue 9). A workflow given a timeout records it; its deadline is
    # set by a trigger when it becomes PENDING (at its start, or when a worker takes it from the queue), as
    # the earlier of its own and its parent's, and cleared by a resume (a recovery keeps it): the deadline is
    # the one record every worker enforces. `schedules` holds the schedules the workers define; ticks count
    # from `since_at` (its creation; NULL after a resume until a worker's scheduler sets it to its clock's now)
    # and `last_tick_at`, so a paused schedule replays nothing.
    """
    ALTER TABLE {schema}.workflows
        ADD COLUMN timeout_seconds double precision,
        ADD COLUMN deadline_at timestamptz;
    CREATE INDEX workflows_deadline ON {schema}.workflows (deadline_at)
        WHERE deadline_at IS NOT NULL AND status IN ('PENDING', 'ENQUEUED');

    CREATE FUNCTION {schema}.set_deadline() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.status = 'ENQUEUED' AND OLD.status IN ('SUCCESS', 'ERROR', 'CANCELLED') THEN
            NEW.deadline_at := NULL;
        ELSIF NEW.status = 'PENDING' AND NEW.deadline_at IS NULL
              AND (NEW.timeout_seconds IS NOT NULL OR NEW.parent_workflow_id IS NOT NULL) THEN
            NEW.deadline_at := least(
                clock_timestamp() + make_interval(secs => NEW.timeout_seconds),
                (SELECT p.deadline_at FROM {schema}.workflows p WHERE p.workflow_id = NEW.parent_workflow_id));
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER workflows_deadline BEFORE INSERT OR UPDATE OF status ON {schema}.workflows
        FOR EACH ROW EXECUTE FUNCTION {schema}.set_deadline();

    CREATE TABLE {schema}.schedules (
        name             text PRIMARY KEY,
        workflow_name    text NOT NULL,
        cron             text NOT NULL,
        timeout_seconds  double precision,
        paused           boolean NOT NULL DEFAULT false,
        since_at         timestamptz,
        last_tick_at     timestamptz,
        last_workflow_id text,
        updated_at       timestamptz NOT NULL DEFAULT clock_timestamp()
    );

    CREATE FUNCTION {schema}.notify_schedule() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{channel_events}', json_build_object('t', 'c')::text);
        RETURN NULL;
    END $$;
    CREATE TRIGGER schedules_notify AFTER INSERT OR UPDATE OR DELETE ON {schema}.schedules
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_schedule();
    """,
    # 5: messages, events and streams (issue 9). A message waits in `messages` until a `recv` of its workflow
    # consumes it (`consumed_step`, set by the statement that records that recv); `events` and `streams` keep
    # one row per `set_event` / `write_stream` / `close_stream` step, so a fork from step N keeps what the steps
    # before N wrote (the fork trigger copies them). A new message or event NOTIFYs the control channel with the
    # workflow id: the worker wakes the run waiting for it. Rows go with their workflow (ON DELETE CASCADE).
    """
    CREATE TABLE {schema}.messages (
        message_id      bigserial PRIMARY KEY,
        workflow_id     text NOT NULL REFERENCES {schema}.workflows (workflow_id) ON DELETE CASCADE,
        topic           text NOT NULL DEFAULT '',
        value           jsonb,
        idempotency_key text,
        created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
        consumed_step   integer,
        consumed_at     timestamptz
    );
    CREATE INDEX messages_waiting ON {schema}.messages (workflow_id, topic, message_id) WHERE consumed_step IS NULL;
    CREATE UNIQUE INDEX messages_idempotency ON {schema}.messages (workflow_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;

    CREATE TABLE {schema}.events (
        workflow_id text NOT NULL REFERENCES {schema}.workflows (workflow_id) ON DELETE CASCADE,
        key         text NOT NULL,
        step_id     integer NOT NULL,
        value       jsonb,
        created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (workflow_id, key, step_id)
    );

    CREATE TABLE {schema}.streams (
        workflow_id text NOT NULL REFERENCES {schema}.workflows (workflow_id) ON DELETE CASCADE,
        key         text NOT NULL,
        step_id     integer NOT NULL,
        value       jsonb,
        closed      boolean NOT NULL DEFAULT false,
        created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (workflow_id, key, step_id)
    );

    CREATE FUNCTION {schema}.notify_message() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{channel_control}', json_build_object(
            'op', TG_ARGV[0], 'ids', json_build_array(NEW.workflow_id))::text);
        RETURN NULL;
    END $$;
    CREATE TRIGGER messages_notify AFTER INSERT ON {schema}.messages
        FOR EACH ROW EXECUTE FUNCTION {schema}.notify_message('message');
    CREATE TRIGGER events_notify AFTER INSERT ON {schema}.events
        FOR EACH ROW EXECUTE FUNCTION {schema}.notify_message('event');

    CREATE FUNCTION {schema}.fork_messages() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {schema}.events (workflow_id, key, step_id, value, created_at)
        SELECT NEW.workflow_id, key, step_id, value, created_at FROM {schema}.events
        WHERE workflow_id = NEW.forked_from AND step_id < NEW.forked_from_step;
        INSERT INTO {schema}.streams (workflow_id, key, step_id, value, closed, created_at)
        SELECT NEW.workflow_id, key, step_id, value, closed, created_at FROM {schema}.streams
        WHERE workflow_id = NEW.forked_from AND step_id < NEW.forked_from_step;
        RETURN NULL;
    END $$;
    CREATE TRIGGER workflows_fork_messages AFTER INSERT ON {schema}.workflows
        FOR EACH ROW WHEN (NEW.forked_from IS NOT NULL) EXECUTE FUNCTION {schema}.fork_messages();
    """,
    # 6: the queues each executor serves (those its process defines), so a queued workflow that no live
    # worker serves can say so; and the plain claim's own index, so that a deep queue is not walked by every
    # claim of work in no queue.
    """
    ALTER TABLE {schema}.executors ADD COLUMN queues text[] NOT NULL DEFAULT '{{}}';
    CREATE INDEX workflows_plain_ready ON {schema}.workflows (created_at)
        WHERE status = 'ENQUEUED' AND queue_name IS NULL;
    """,
    # 7: retention (issue 12). The sweep takes the oldest finished workflows in order of `finished_at`, a batch at
    # a time, from this partial index; the cascade from a deleted workflow to its messages needs an index on
    # `messages.workflow_id` (the others are partial), else each deleted row scans the whole table.
    """
    CREATE INDEX workflows_finished ON {schema}.workflows (finished_at)
        WHERE status IN ('SUCCESS', 'ERROR', 'CANCELLED');
    CREATE INDEX messages_workflow ON {schema}.messages (workflow_id);
    """,
    # 8: a long history (issue 12). The header's counts per status come from `workflow_counts`, where triggers
    # append a delta per change of status (a whole statement's inserts or deletes fold into one row per status),
    # so no transaction ever waits on another's counter row; the heartbeat folds the deltas now and then. Counted
    # once here from the rows already present. Indexes for what scanned a million rows: the list's `updated` sort
    # and queue filter, the queue screen's recent starts, the detail's forks.
    """
    CREATE TABLE {schema}.workflow_counts (
        status text NOT NULL,
        n      bigint NOT NULL
    );
    INSERT INTO {schema}.workflow_counts (status, n) SELECT status, count(*) FROM {schema}.workflows GROUP BY status;

    CREATE FUNCTION {schema}.count_status_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {schema}.workflow_counts (status, n) VALUES (OLD.status, -1), (NEW.status, 1);
        RETURN NULL;
    END $$;
    CREATE TRIGGER workflows_count_status AFTER UPDATE OF status ON {schema}.workflows
        FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION {schema}.count_status_change();
    CREATE FUNCTION {schema}.count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {schema}.workflow_counts (status, n) SELECT status, count(*) FROM added GROUP BY status;
        RETURN NULL;
    END $$;
    CREATE TRIGGER workflows_count_inserted AFTER INSERT ON {schema}.workflows
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION {schema}.count_inserted();
    CREATE FUNCTION {schema}.count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {schema}.workflow_counts (status, n) SELECT status, -count(*) FROM gone GROUP BY status;
        RETURN NULL;
    END $$;
    CREATE TRIGGER workflows_count_deleted AFTER DELETE ON {schema}.workflows
        REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION {schema}.count_deleted();

    CREATE INDEX workflows_updated ON {schema}.workflows (updated_at DESC, workflow_id);
    CREATE INDEX workflows_queue_created ON {schema}.workflows (queue_name, created_at DESC)
        WHERE queue_name IS NOT NULL;
    CREATE INDEX workflows_queue_started ON {schema}.workflows (queue_name, dequeued_at) WHERE dequeued_at IS NOT NULL;
    CREATE INDEX workflows_forked_from ON {schema}.workflows (forked_from) WHERE forked_from IS NOT NULL;
    """,
    # 9: a worker's starts and checkpoints notify after their commit (issue 12). A transaction that NOTIFYs holds a
    # lock on the whole database from the start of its commit until the commit is durable, so concurrent commits that
    # notify queue behind one another (no group flush): 8 connections committed 2,700 plain inserts/s but 780 that
    # notified. A worker's start and checkpoint statements set `durable.notify_later` for their own transaction; the
    # row triggers then stay silent and the worker sends the same payloads, many per statement, right after the
    # commit. Every other writer (a controller, a claim, a `@transaction`) still notifies from the triggers.
    """
    DROP TRIGGER workflows_notify ON {schema}.workflows;
    CREATE TRIGGER workflows_notify AFTER INSERT OR UPDATE OR DELETE ON {schema}.workflows
        FOR EACH ROW WHEN (current_setting('durable.notify_later', true) IS DISTINCT FROM 'on')
        EXECUTE FUNCTION {schema}.notify_workflow();
    DROP TRIGGER steps_notify ON {schema}.steps;
    CREATE TRIGGER steps_notify AFTER INSERT OR UPDATE ON {schema}.steps
        FOR EACH ROW WHEN (current_setting('durable.notify_later', true) IS DISTINCT FROM 'on')
        EXECUTE FUNCTION {schema}.notify_step();
    """,
    # 10: a cheaper start and finish (issue 12). Per start, the server ran two PL/pgSQL triggers that rarely do
    # anything: the deadline trigger fired for every insert and every status change (it acts only for a workflow
    # with a timeout or a parent becoming PENDING, or a finished one queued again), and the count of inserts ran a
    # statement-level function over a transition table. The deadline trigger is split by event and WHEN-guarded
    # (the function is unchanged and still decides): an insert calls it only in the case it acts on, an update
    # only towards PENDING or ENQUEUED (a short guard: the full condition, compiled at every execution, cost a
    # finish more than the call it saved), so a plain start or finish calls no function. A worker's start
    # statements now append their own count delta (a CTE, no function call) and mark the statement
    # (`durable.counted` = its statement_timestamp()); the insert trigger skips only the statement that carries
    # that mark, so every other insert, in the same transaction or not, is still counted by the trigger. No index
    # changes: each one serves a list page, a claim or a sweep (bench/history_explain.py).
    """
    DROP TRIGGER workflows_deadline ON {schema}.workflows;
    CREATE TRIGGER workflows_deadline_insert BEFORE INSERT ON {schema}.workflows
        FOR EACH ROW WHEN (NEW.status = 'PENDING' AND NEW.deadline_at IS NULL
                           AND (NEW.timeout_seconds IS NOT NULL OR NEW.parent_workflow_id IS NOT NULL))
        EXECUTE FUNCTION {schema}.set_deadline();
    CREATE TRIGGER workflows_deadline_update BEFORE UPDATE OF status ON {schema}.workflows
        FOR EACH ROW WHEN (NEW.status IN ('PENDING', 'ENQUEUED')) EXECUTE FUNCTION {schema}.set_deadline();

    DROP TRIGGER workflows_count_inserted ON {schema}.workflows;
    CREATE TRIGGER workflows_count_inserted AFTER INSERT ON {schema}.workflows
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT
        WHEN (current_setting('durable.counted', true) IS DISTINCT FROM statement_timestamp()::text)
        EXECUTE FUNCTION {schema}.count_inserted();
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: psycopg.Connection, schema: str) -> int:
    """The version `schema` is at (0 if it has no tables yet); a plain read, no lock and no CREATE needed."""
    statements = for_schema(check_schema_name(schema))
    if not _found(conn, statements["version_table_exists"], f"{schema}.schema_version"):
        return 0
    row = conn.execute(statements["schema_version"]).fetchone()
    return (row[0] if row else None) or 0


def _found(conn: psycopg.Connection, statement: str, name: str) -> bool:
    row = conn.execute(statement, (name,)).fetchone()
    return bool(row and row[0])


def ensure_current(conn: psycopg.Connection, schema: str) -> int:
    """Migrate only if the schema is behind: a role that may only read (a read-only dashboard) can start
    on a current schema, since it then needs no CREATE right and takes no lock."""
    current = schema_version(conn, schema)
    if current == SCHEMA_VERSION:
        return current
    if current > SCHEMA_VERSION:
        raise _too_new(schema, current)
    try:
        return migrate(conn, schema)
    except psycopg.errors.InsufficientPrivilege as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "permission denied"
        raise SchemaNotReady(
            f"schema {schema!r} is at version {current}, not {SCHEMA_VERSION}, and this role may not create or "
            f"upgrade it ({reason}): start a worker whose role owns the schema first"
        ) from None


def _too_new(schema: str, current: int) -> SchemaTooNew:
    return SchemaTooNew(
        f"schema {schema!r} is at version {current}, newer than this engine understands "
        f"({SCHEMA_VERSION}); upgrade durable-tui or use another schema"
    )


def migrate(conn: psycopg.Connection, schema: str) -> int:
    """Bring `schema` up to SCHEMA_VERSION; refuse a schema migrated by newer code. Returns the version.

    An advisory transaction lock serialises concurrent launches, so two workers starting at once never
    race on CREATE TABLE.
    """
    statements = for_schema(check_schema_name(schema))
    with conn.transaction():
        conn.execute(statements["migrate_lock"])
        if not _found(conn, statements["schema_exists"], schema):
            conn.execute(statements["create_schema"])
        conn.execute(statements["create_version_table"])
        row = conn.execute(statements["schema_version"]).fetchone()
        current = (row[0] if row else None) or 0
        if current > SCHEMA_VERSION:
            raise _too_new(schema, current)
        for version in range(current + 1, SCHEMA_VERSION + 1):
            conn.execute(
                MIGRATIONS[version - 1].format(
                    schema=schema,
                    channel_events=events_channel(schema),
                    channel_control=control_channel(schema),
                )
            )
            conn.execute(statements["record_version"], (version,))
    return SCHEMA_VERSION


def drop_schema(conn: psycopg.Connection, schema: str) -> None:
    """Remove the schema with all its rows: for throw-away schemas (tests), never called by the engine."""
    conn.execute(for_schema(check_schema_name(schema))["drop_schema"])
