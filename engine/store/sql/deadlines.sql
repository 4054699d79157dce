-- Statements of workflow timeouts: a workflow's deadline is set by a trigger (migration 4) when it becomes
-- PENDING; these cancel, as timed out, the workflows whose deadline has passed, with their descendants.

-- name: deadline_in
-- Fragment: seconds until a claimed workflow's deadline (negative once passed, NULL without one).
extract(epoch FROM deadline_at - clock_timestamp())::float8 AS deadline_in

-- name: timeout_reason
-- Fragment: why workflow `w` was cancelled by a deadline: its own timeout, or its parent's earlier deadline.
CASE WHEN w.timeout_seconds IS NOT NULL AND w.deadline_at < coalesce(
         (SELECT p.deadline_at FROM {schema}.workflows p WHERE p.workflow_id = w.parent_workflow_id), 'infinity')
     THEN 'timed out after ' || w.timeout_seconds || 's'
     ELSE 'timed out with its parent ' || coalesce(w.parent_workflow_id, '') END

-- name: time_out
-- Cancel the workflows whose deadline has passed (these ids, or all with NULL; up to a limit) and their descendants, recording why as the error.
WITH RECURSIVE due AS (
    SELECT d.workflow_id FROM {schema}.workflows d
    WHERE d.deadline_at <= statement_timestamp() AND d.status IN ('PENDING', 'ENQUEUED')
      AND (%(ids)s::text[] IS NULL OR d.workflow_id = ANY(%(ids)s::text[]))
    LIMIT %(limit)s
), tree AS (
    SELECT workflow_id FROM due
    UNION
    SELECT c.workflow_id FROM {schema}.workflows c JOIN tree t ON c.parent_workflow_id = t.workflow_id
)
UPDATE {schema}.workflows w SET status = 'CANCELLED', updated_at = clock_timestamp(), finished_at = clock_timestamp(),
       error = jsonb_build_object('type', 'engine.errors.WorkflowTimedOut', 'message', {timeout_reason},
                                  'args', jsonb_build_array({timeout_reason}))
FROM tree t
WHERE w.workflow_id = t.workflow_id AND w.status = ANY(%(sources)s)
RETURNING w.workflow_id

-- name: deadlines_of
-- Seconds until the deadline of each of these workflows that is still running or queued and has one.
SELECT workflow_id, {deadline_in} FROM {schema}.workflows
WHERE workflow_id = ANY(%s) AND deadline_at IS NOT NULL AND status IN ('PENDING', 'ENQUEUED')
