-- Read statements: records for the API, the CLI and the dashboard.
-- The workflow list is composed from fixed blocks: a head ending in `WHERE <condition>`, then any of the
-- `workflow_filter_*` blocks (each `AND ...` with its own parameter), then one `workflow_sort_*` block,
-- then a page block. Every combination was checked with EXPLAIN ANALYZE on a history of a million workflows
-- (bench/history.py --explain).

-- name: db_now
-- The database clock: countdowns are computed against it, not the local one.
SELECT clock_timestamp() AS now

-- name: workflows_by_id
-- Full workflow rows; a queued workflow that no live worker serves says so (needs %(lease)s).
SELECT workflow_id, name, status, inputs, output, error, executor_id, parent_workflow_id, parent_step_id,
       forked_from, forked_from_step, fork_changes, recovery_count,
       coalesce({queue_unserved}, wait_reason) AS wait_reason, created_at, started_at, updated_at, finished_at,
       queue_name, priority, deduplication_id, partition_key, not_before, timeout_seconds, deadline_at
FROM {schema}.workflows w WHERE workflow_id = ANY(%(ids)s)

-- name: steps_by_workflow
-- Full step rows of these workflows, in order.
SELECT workflow_id, step_id, name, kind, status, attempts, attempt_base, max_attempts, next_attempt_at,
       output, error, child_workflow_id, started_at, finished_at, policy
FROM {schema}.steps WHERE workflow_id = ANY(%s) ORDER BY workflow_id, step_id

-- name: attempts_by_workflow
-- Attempt rows of these workflows, in order.
SELECT workflow_id, step_id, attempt, started_at, finished_at, error_type, error_message, traceback, end_reason
FROM {schema}.attempts WHERE workflow_id = ANY(%s) ORDER BY workflow_id, step_id, attempt

-- name: children_of
-- Child workflows of these workflows, by the parent's step.
SELECT parent_workflow_id AS parent, workflow_id AS child FROM {schema}.workflows
WHERE parent_workflow_id = ANY(%s) ORDER BY parent_step_id

-- name: forks_of
-- Forks made of these workflows, oldest first.
SELECT forked_from AS origin, workflow_id AS fork FROM {schema}.workflows
WHERE forked_from = ANY(%s) ORDER BY created_at

-- name: workflow_ids_head
-- Head of the list of ids (list_workflows): filters and a sort follow.
SELECT w.workflow_id FROM {schema}.workflows w WHERE true

-- name: workflow_summaries_head
-- Head of a page of the workflow list: the page's rows are picked first (filters, a sort and a page follow, then `workflow_summaries_tail` and the sort again), so the joins below run for those rows only, not for every row the sort reads; whether a live worker serves the queue needs %(lease)s.
SELECT w.workflow_id, w.name, w.status, w.executor_id, w.created_at, w.started_at, w.finished_at,
       w.updated_at, left(w.inputs::text, 120) AS inputs_preview,
       st.step_id, st.name AS step_name, st.status AS step_status, st.attempts - st.attempt_base AS attempt,
       st.max_attempts - st.attempt_base AS max_attempts, st.next_attempt_at,
       coalesce(u.reason, w.wait_reason) AS wait_reason, w.queue_name, w.not_before, rl.next_slot_at,
       u.reason IS NOT NULL AS queue_unserved
FROM (SELECT w.* FROM {schema}.workflows w WHERE true

-- name: workflow_summaries_tail
-- Tail of a page of the workflow list: each row's latest step, no full values, its queue's next rate slot, whether a live worker serves its queue.
) w
CROSS JOIN LATERAL (SELECT {queue_unserved} AS reason) u
LEFT JOIN LATERAL (SELECT * FROM {schema}.steps s WHERE s.workflow_id = w.workflow_id
                   ORDER BY s.step_id DESC LIMIT 1) st ON true
LEFT JOIN LATERAL (SELECT d.dequeued_at + make_interval(secs => q.rate_period) AS next_slot_at
                   FROM {schema}.queues q
                   CROSS JOIN LATERAL (SELECT x.dequeued_at FROM {schema}.workflows x
                                       WHERE x.queue_name = q.name AND x.partition_key = w.partition_key
                                         AND x.dequeued_at IS NOT NULL
                                       ORDER BY x.dequeued_at DESC OFFSET q.rate_limit - 1 LIMIT 1) d
                   WHERE w.status = 'ENQUEUED' AND q.name = w.queue_name AND q.rate_limit IS NOT NULL) rl ON true

-- name: workflow_count_head
-- Head of the count of the workflow list: filters follow.
SELECT count(*) AS n FROM {schema}.workflows w WHERE true

-- name: workflow_filter_status
-- List filter: one status.
AND w.status = %(status)s

-- name: workflow_filter_name
-- List filter: one workflow name.
AND w.name = %(name)s

-- name: workflow_filter_queue
-- List filter: the workflows of one queue.
AND w.queue_name = %(queue)s

-- name: workflow_filter_id_prefix
-- List filter: ids starting with a prefix (a LIKE pattern with its wildcards escaped; text_pattern_ops index).
AND w.workflow_id LIKE %(id_prefix)s

-- name: workflow_sort_created
-- List order: newest first.
ORDER BY w.created_at DESC, w.workflow_id

-- name: workflow_sort_created_asc
-- List order: oldest first.
ORDER BY w.created_at ASC, w.workflow_id

-- name: workflow_sort_updated
-- List order: most recently changed first.
ORDER BY w.updated_at DESC, w.workflow_id

-- name: workflow_sort_name
-- List order: by name, newest first within a name.
ORDER BY w.name, w.created_at DESC

-- name: workflow_sort_status
-- List order: by status, newest first within a status.
ORDER BY w.status, w.created_at DESC

-- name: workflow_sort_id
-- List order: by id.
ORDER BY w.workflow_id

-- name: workflow_limit
-- List page: the first rows only.
LIMIT %(limit)s

-- name: workflow_page
-- List page: a window of rows.
LIMIT %(limit)s OFFSET %(offset)s

-- name: status_counts
-- How many workflows have each status: the sum of the deltas its triggers append (migration 6), never a count of the history.
SELECT status, sum(n)::bigint AS n FROM {schema}.workflow_counts GROUP BY status HAVING sum(n) > 0

-- name: workflow_names
-- Every distinct workflow name, by a skip scan of the name index (fast however many rows).
WITH RECURSIVE n AS (
    (SELECT name FROM {schema}.workflows ORDER BY name LIMIT 1)
    UNION ALL
    SELECT (SELECT name FROM {schema}.workflows WHERE name > n.name ORDER BY name LIMIT 1)
    FROM n WHERE n.name IS NOT NULL)
SELECT name FROM n WHERE name IS NOT NULL

-- name: executors
-- Every executor, newest first, with its heartbeat's age and whether it is alive.
SELECT e.executor_id, e.host, e.pid, e.started_at, e.heartbeat_at, e.code_version, e.workflows, e.in_flight,
       e.stopped_at, extract(epoch FROM clock_timestamp() - e.heartbeat_at)::float8 AS heartbeat_age,
       {executor_alive} AS alive
FROM {schema}.executors e ORDER BY e.started_at DESC

-- name: faults
-- Every fault, in the order they were added.
SELECT {fault_columns} FROM {schema}.faults ORDER BY fault_id
