-- Statements of the control plane: each operation is row changes plus a NOTIFY, in one transaction.
-- The statuses an operation applies to arrive as the parameter %(sources)s (engine.states.allowed_sources).

-- name: notify
-- A message on a channel (delivered at commit).
SELECT pg_notify(%s, %s)

-- name: ops_state
-- Name, status and owner of one workflow, and whether that owner is alive.
SELECT w.name, w.status, w.executor_id, coalesce({executor_alive}, false) AS alive
FROM {schema}.workflows w LEFT JOIN {schema}.executors e USING (executor_id)
WHERE w.workflow_id = %(wid)s

-- name: ids_matching_head
-- Head of a bulk operation's batch of ids: workflows in the operation's source statuses; filters follow.
SELECT w.workflow_id FROM {schema}.workflows w WHERE w.status = ANY(%(sources)s)

-- name: descendants
-- These workflows and all their descendants (children of children...).
WITH RECURSIVE tree AS (
    SELECT workflow_id FROM {schema}.workflows WHERE workflow_id = ANY(%s)
    UNION
    SELECT w.workflow_id FROM {schema}.workflows w JOIN tree t ON w.parent_workflow_id = t.workflow_id)
SELECT workflow_id FROM tree

-- name: cancel
-- Cancel these workflows where their status allows it.
UPDATE {schema}.workflows SET status = 'CANCELLED', updated_at = clock_timestamp(), finished_at = clock_timestamp()
WHERE workflow_id = ANY(%(ids)s) AND status = ANY(%(sources)s)
RETURNING workflow_id

-- name: resume
-- Queue these workflows again where their status allows it, with a fresh count of recoveries; a de-duplication id another live workflow holds now is dropped.
UPDATE {schema}.workflows w SET status = 'ENQUEUED', executor_id = NULL, output = NULL, error = NULL,
       finished_at = NULL, wait_reason = NULL, recovery_count = 0, updated_at = clock_timestamp(),
       deduplication_id = CASE WHEN EXISTS (
           SELECT 1 FROM {schema}.workflows o
           WHERE o.queue_name = w.queue_name AND o.deduplication_id = w.deduplication_id
             AND o.status IN ('ENQUEUED', 'PENDING') AND o.workflow_id <> w.workflow_id)
           THEN NULL ELSE w.deduplication_id END
WHERE w.workflow_id = ANY(%(ids)s) AND w.status = ANY(%(sources)s)
RETURNING workflow_id

-- name: resume_failed_step
-- A resumed workflow's failed last step waits to run again, with a fresh budget of attempts.
UPDATE {schema}.steps st SET status = 'WAITING_RETRY', attempt_base = attempts,
       next_attempt_at = clock_timestamp(), error = NULL, finished_at = NULL
WHERE st.workflow_id = ANY(%s) AND st.status = 'ERROR'
  AND st.step_id = (SELECT max(step_id) FROM {schema}.steps m WHERE m.workflow_id = st.workflow_id)

-- name: requeue_dead
-- Queue again these workflows (where their status allows it) whose executor is dead.
UPDATE {schema}.workflows w SET status = 'ENQUEUED', executor_id = NULL,
       recovery_count = recovery_count + 1, updated_at = clock_timestamp()
WHERE w.workflow_id = ANY(%(ids)s) AND w.status = ANY(%(sources)s)
  AND NOT EXISTS (SELECT 1 FROM {schema}.executors e WHERE e.executor_id = w.executor_id AND {executor_alive})
RETURNING workflow_id

-- name: retry_now
-- Steps of these workflows waiting out a backoff or a sleep are due now.
UPDATE {schema}.steps SET next_attempt_at = clock_timestamp()
WHERE workflow_id = ANY(%(ids)s) AND status = ANY(%(waiting)s)
RETURNING workflow_id

-- name: last_step
-- The highest recorded step id of a workflow (0 without steps).
SELECT coalesce(max(step_id), 0) AS last FROM {schema}.steps WHERE workflow_id = %s

-- name: fork_workflow
-- A new ENQUEUED workflow with the original's name, inputs (or new ones), queue, priority and partition, noting what the fork changed.
INSERT INTO {schema}.workflows (workflow_id, name, status, inputs, forked_from, forked_from_step, fork_changes,
                                queue_name, priority, partition_key)
SELECT %(new)s, name, 'ENQUEUED', coalesce(%(inputs)s::jsonb, inputs), workflow_id, %(from_step)s, %(changes)s::jsonb,
       queue_name, priority, partition_key
FROM {schema}.workflows WHERE workflow_id = %(wid)s

-- name: fork_steps
-- The fork's copies of the original's final steps before the fork point.
INSERT INTO {schema}.steps (workflow_id, step_id, name, kind, status, attempts, attempt_base, max_attempts,
                            output, error, child_workflow_id, started_at, finished_at, policy)
SELECT %(new)s, step_id, name, kind, status, attempts, attempt_base, max_attempts, output, error,
       child_workflow_id, started_at, finished_at, policy
FROM {schema}.steps WHERE workflow_id = %(wid)s AND step_id < %(from_step)s AND status IN ('SUCCESS', 'ERROR')

-- name: fork_attempts
-- The fork's copies of the attempts of the steps it copied.
INSERT INTO {schema}.attempts (workflow_id, step_id, attempt, started_at, finished_at, error_type, error_message,
                               traceback, end_reason)
SELECT %(new)s, a.step_id, a.attempt, a.started_at, a.finished_at, a.error_type, a.error_message, a.traceback,
       a.end_reason
FROM {schema}.attempts a JOIN {schema}.steps st ON st.workflow_id = %(new)s AND st.step_id = a.step_id
WHERE a.workflow_id = %(wid)s AND a.step_id < %(from_step)s

-- name: fork_step_outputs
-- The fork's overridden step outputs (%(outputs)s maps step ids to values): each such step becomes a success.
UPDATE {schema}.steps st SET status = 'SUCCESS', output = o.value, error = NULL
FROM jsonb_each(%(outputs)s::jsonb) AS o(step_id, value)
WHERE st.workflow_id = %(new)s AND st.step_id = o.step_id::int

-- name: recorded_step_ids
-- The step ids of a workflow that have a recorded outcome.
SELECT step_id FROM {schema}.steps WHERE workflow_id = %s AND status IN ('SUCCESS', 'ERROR') ORDER BY step_id

-- name: crash_request
-- Note that a controller asked this live executor to crash: the worker obeys a crash only with this row's say-so.
UPDATE {schema}.executors e SET crash_requested_at = clock_timestamp()
WHERE e.executor_id = %(executor)s AND {executor_alive}
RETURNING executor_id

-- name: delete_workflows
-- Delete these workflows where their status allows it.
DELETE FROM {schema}.workflows WHERE workflow_id = ANY(%(ids)s) AND status = ANY(%(sources)s)
RETURNING workflow_id

-- name: delete_attempts
-- The attempts of deleted workflows (no foreign keys cascade).
DELETE FROM {schema}.attempts WHERE workflow_id = ANY(%s)

-- name: delete_steps
-- The steps of deleted workflows (no foreign keys cascade).
DELETE FROM {schema}.steps WHERE workflow_id = ANY(%s)

-- name: add_fault
-- A new fault; a NULL ttl never expires.
INSERT INTO {schema}.faults (kind, step_name, workflow_id, remaining, delay_seconds, phase, message, expires_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, clock_timestamp() + make_interval(secs => %s::float8))
RETURNING fault_id

-- name: clear_all_faults
-- Remove every fault.
DELETE FROM {schema}.faults

-- name: clear_faults
-- Remove these faults.
DELETE FROM {schema}.faults WHERE fault_id = ANY(%s)
