-- Statements of retention: finished workflows older than an age are deleted, a batch per short transaction.
-- %(age)s is the age in seconds, %(skew)s the skew of the engine's clock (finished_at is recorded on it).
-- statement_timestamp(), not clock_timestamp(): a stable cutoff lets the index bound the scan.

-- name: retention_expired
-- Fragment: a finished workflow older than the age, none of whose children still runs (its row stays their parent).
o.status IN ('SUCCESS', 'ERROR', 'CANCELLED')
AND o.finished_at < statement_timestamp() + make_interval(secs => %(skew)s::float8 - %(age)s::float8)
AND NOT EXISTS (SELECT 1 FROM {schema}.workflows c
                WHERE c.parent_workflow_id = o.workflow_id AND c.status IN ('ENQUEUED', 'PENDING'))

-- name: retention_try_lock
-- One sweep batch at a time across the workers: false when another one holds it (released at commit).
SELECT pg_try_advisory_xact_lock(hashtext(%(key)s))

-- name: retention_lock
-- One batch at a time across the workers and controllers: waits for the batch in progress (released at commit).
SELECT pg_advisory_xact_lock(hashtext(%(key)s))

-- name: retention_delete
-- Up to %(limit)s expired workflows, oldest first, skipping rows another transaction holds, with their steps and attempts (messages, events and streams cascade).
WITH gone AS (
    DELETE FROM {schema}.workflows w WHERE w.workflow_id IN (
        SELECT o.workflow_id FROM {schema}.workflows o WHERE {retention_expired}
        ORDER BY o.finished_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
    RETURNING w.workflow_id
), steps AS (
    DELETE FROM {schema}.steps WHERE workflow_id IN (SELECT workflow_id FROM gone)
), attempts AS (
    DELETE FROM {schema}.attempts WHERE workflow_id IN (SELECT workflow_id FROM gone)
)
SELECT count(*) FROM gone

-- name: retention_count
-- How many workflows a sweep would delete now (a dry run).
SELECT count(*) FROM {schema}.workflows o WHERE {retention_expired}

-- name: retention_next_due
-- When the oldest expired-to-be workflow reaches the age, on the engine's clock (NULL: no finished workflow).
SELECT min(o.finished_at) + make_interval(secs => %(age)s::float8) FROM {schema}.workflows o
WHERE o.status IN ('SUCCESS', 'ERROR', 'CANCELLED')
  AND NOT EXISTS (SELECT 1 FROM {schema}.workflows c
                  WHERE c.parent_workflow_id = o.workflow_id AND c.status IN ('ENQUEUED', 'PENDING'))
