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

-- name: retention_pick
-- Up to %(limit)s expired workflows, oldest first, locked; rows another transaction holds are left for a later batch.
SELECT o.workflow_id FROM {schema}.workflows o WHERE {retention_expired}
ORDER BY o.finished_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED

-- name: retention_count
-- How many workflows a sweep would delete now (a dry run).
SELECT count(*) FROM {schema}.workflows o WHERE {retention_expired}

-- name: retention_next_due
-- When the oldest finished workflow without running children reaches the age, on the clock it was recorded on (none: no row); read in index order.
SELECT o.finished_at + make_interval(secs => %(age)s::float8) FROM {schema}.workflows o
WHERE o.status IN ('SUCCESS', 'ERROR', 'CANCELLED')
  AND NOT EXISTS (SELECT 1 FROM {schema}.workflows c
                  WHERE c.parent_workflow_id = o.workflow_id AND c.status IN ('ENQUEUED', 'PENDING'))
ORDER BY o.finished_at LIMIT 1
