-- Statements of a running worker: the hot path of a step, workflow lifecycle, executors, claims, faults.
-- A checkpoint is one statement: the `steps` upsert and the `attempts` insert share a data-modifying CTE.
-- Arrays of many values are binary parameters (`%b`): psycopg's text format escapes every element with a regular
-- expression (about 15 us each here, 2.5 us in binary), which a recovery of 1000 workflows paid some 100 ms for.

-- name: executor_alive
-- Fragment: executor `e` is alive: not stopped, and its heartbeat is younger than the lease or its process holds its lock, or the server started less than a lease ago (a restart drops every lock and no beat could be written while it was down: a live process takes both back within a lease); needs %(lease)s.
(e.stopped_at IS NULL AND (e.heartbeat_at > clock_timestamp() - make_interval(secs => %(lease)s)
                           OR pg_postmaster_start_time() > clock_timestamp() - make_interval(secs => %(lease)s)
                           OR hashtext('durable-executor:{schema}:' || e.executor_id)::bigint = ANY({held_executor_locks})))

-- name: held_executor_locks
-- Fragment: the keys of the session advisory locks held now in this database (uncorrelated: read once per statement).
ARRAY(SELECT (l.classid::bigint << 32) | l.objid::bigint FROM pg_locks l
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))

-- name: owned_by_me
-- Fragment: workflow %(wid)s is still owned by this executor %(me)s (a checkpoint's fence; a cancel keeps the owner).
EXISTS (SELECT 1 FROM {schema}.workflows fw WHERE fw.workflow_id = %(wid)s AND fw.executor_id = %(me)s)

-- name: notify_later
-- Fragment: with %(later)s 'on', this transaction's workflow and step row triggers stay silent and the worker sends their notifications after the commit (migration 9).
(set_config('durable.notify_later', %(later)s, true) IS NOT NULL)

-- name: counted_here
-- Fragment: this statement appends its own count delta to `workflow_counts`; the insert trigger skips the statement whose statement_timestamp() is the mark (migration 10), never another one of the same transaction.
(set_config('durable.counted', statement_timestamp()::text, true) IS NOT NULL)

-- name: count_added
-- Fragment: a CTE appending the count delta of the rows the statement's `added` CTE inserted (it returns their status); with `counted_here` in that insert, the statement counts itself and the insert trigger skips it.
counted AS (
    INSERT INTO {schema}.workflow_counts (status, n) SELECT status, count(*) FROM added GROUP BY status
)

-- name: step_note
-- Fragment: the notification of step row `st`, as its trigger sends it.
json_build_object('t', 's', 'id', st.workflow_id, 'step', st.step_id, 's', st.status, 'n', st.attempts)::text

-- name: workflow_note
-- Fragment: the notification of the workflow row being written, as its trigger sends it.
json_build_object('t', 'w', 'id', workflow_id, 's', status)::text

-- name: now
-- Fragment: the time recorded for a workflow's events: the database clock, plus the skew of a virtual clock in tests.
(clock_timestamp() + make_interval(secs => %(skew)s::float8))

-- name: record_step
-- One attempt's outcome, if the workflow is still ours: upsert the step row unless it is final, and insert its attempt row; returns the step's notification (no row: nothing written).
WITH s AS (
    INSERT INTO {schema}.steps AS st (workflow_id, step_id, name, kind, status, attempts, max_attempts,
                                      next_attempt_at, output, error, child_workflow_id, started_at, finished_at,
                                      policy)
    SELECT %(wid)s, %(sid)s, %(name)s, %(kind)s, %(status)s, %(attempt)s, %(max)s,
           {now} + make_interval(secs => %(delay)s::float8),
           %(output)s::jsonb, %(error)s::jsonb, %(child)s, %(started)s,
           CASE WHEN %(final)s THEN {now} END, %(policy)s
    WHERE {owned_by_me} AND {notify_later}
    ON CONFLICT (workflow_id, step_id) DO UPDATE SET
        status = excluded.status, attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at,
        output = excluded.output, error = excluded.error, finished_at = excluded.finished_at,
        child_workflow_id = coalesce(excluded.child_workflow_id, st.child_workflow_id),
        policy = coalesce(excluded.policy, st.policy)
    WHERE st.status NOT IN ('SUCCESS', 'ERROR') AND st.name = excluded.name
    RETURNING {step_note} AS note
), a AS (
    INSERT INTO {schema}.attempts (workflow_id, step_id, attempt, started_at, finished_at,
                                   error_type, error_message, traceback, end_reason)
    SELECT %(wid)s, %(sid)s, %(attempt)s, %(started)s, {now}, %(etype)s, %(emsg)s, %(etb)s, %(reason)s
    WHERE %(with_attempt)s AND EXISTS (SELECT 1 FROM s)
    ON CONFLICT DO NOTHING
)
SELECT note FROM s

-- name: record_first_success
-- The commonest checkpoint, a success at the first attempt, if the workflow is still ours: a single-row upsert (the row is attempt 1); returns the step's notification.
INSERT INTO {schema}.steps AS st (workflow_id, step_id, name, kind, status, attempts, max_attempts, output,
                                  child_workflow_id, started_at, finished_at)
SELECT %(wid)s, %(sid)s, %(name)s, %(kind)s, 'SUCCESS', 1, %(max)s, %(output)s::jsonb, %(child)s, %(started)s, {now}
WHERE {owned_by_me} AND {notify_later}
ON CONFLICT (workflow_id, step_id) DO UPDATE SET
    status = 'SUCCESS', attempts = 1, output = excluded.output, finished_at = excluded.finished_at,
    next_attempt_at = NULL, child_workflow_id = coalesce(excluded.child_workflow_id, st.child_workflow_id)
WHERE st.status NOT IN ('SUCCESS', 'ERROR') AND st.name = excluded.name
RETURNING {step_note}

-- name: first_successes
-- Fragment: the insert of `record_first_successes` (parameters wids, sids, names, kinds, maxes, outputs, children, starteds, skews, owners, later). Each owner is checked by id (a nested loop into the primary key): the LIMIT, never reached, makes a generic plan count `v` as one row, where ten made a young table's plan a hash join over a sequential scan of every workflow, at every merged checkpoint (tests/test_hot_plans.py).
INSERT INTO {schema}.steps AS st (workflow_id, step_id, name, kind, status, attempts, max_attempts, output,
                                  child_workflow_id, started_at, finished_at)
SELECT v.wid, v.sid, v.name, v.kind, 'SUCCESS', 1, v.max, v.output::jsonb, v.child, v.started,
       clock_timestamp() + make_interval(secs => v.skew)
FROM (SELECT * FROM unnest(%(wids)b::text[], %(sids)b::int[], %(names)b::text[], %(kinds)b::text[],
                           %(maxes)b::int[], %(outputs)b::text[], %(children)b::text[], %(starteds)b::timestamptz[],
                           %(skews)b::float8[], %(owners)b::text[])
                    AS u(wid, sid, name, kind, max, output, child, started, skew, owner)
      LIMIT cardinality(%(wids)b::text[])) AS v
WHERE EXISTS (SELECT 1 FROM {schema}.workflows fw WHERE fw.workflow_id = v.wid AND fw.executor_id = v.owner)
  AND {notify_later}
ON CONFLICT (workflow_id, step_id) DO UPDATE SET
    status = 'SUCCESS', attempts = 1, output = excluded.output, finished_at = excluded.finished_at,
    next_attempt_at = NULL, child_workflow_id = coalesce(excluded.child_workflow_id, st.child_workflow_id)
WHERE st.status NOT IN ('SUCCESS', 'ERROR') AND st.name = excluded.name
RETURNING st.workflow_id, st.step_id, {step_note}

-- name: record_first_successes
-- Group commit: many first-attempt successes (of different workflows) in one statement, each written as `record_first_success` writes it, if its workflow is still its owner's; returns the id, step id and notification of each step written.
{first_successes}

-- name: mark_step
-- A step in progress made visible; never moves a step backwards (only a later attempt, or the same running one).
INSERT INTO {schema}.steps AS st (workflow_id, step_id, name, kind, status, attempts, max_attempts,
                                  child_workflow_id, started_at, policy)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (workflow_id, step_id) DO UPDATE SET
    status = excluded.status, attempts = excluded.attempts, next_attempt_at = NULL,
    child_workflow_id = coalesce(excluded.child_workflow_id, st.child_workflow_id),
    policy = coalesce(excluded.policy, st.policy)
WHERE st.status NOT IN ('SUCCESS', 'ERROR')
  AND (st.attempts < excluded.attempts OR (st.attempts = excluded.attempts AND st.status = 'RUNNING'))

-- name: enqueue_workflow
-- A new ENQUEUED workflow for any worker that has its name; an existing id is left as it is (the id is the idempotency key). Counts itself, as a start does (no trigger function runs). Its row trigger stays silent: the caller sends the returned notification right after the commit (`notify_enqueued`), so the commit does not queue behind other notifying commits.
WITH added AS (
    INSERT INTO {schema}.workflows (workflow_id, name, status, inputs, timeout_seconds)
    SELECT %(wid)s, %(name)s, 'ENQUEUED', %(inputs)s::jsonb, %(timeout)s
    WHERE {notify_later} AND {counted_here}
    ON CONFLICT (workflow_id) DO NOTHING
    RETURNING status, {workflow_note} AS note
), {count_added}
SELECT note FROM added

-- name: notify_enqueued
-- After an enqueue's commit (into a queue or not): its row's notification (%(events)s, the dashboard's channel) and a wake for the workers (%(control)s), in one short transaction that changes no row (and so waits for no WAL flush: it writes nothing before its commit record).
SELECT pg_notify(%(events)s, %(note)s), pg_notify(%(control)s, %(wake)s)

-- name: start_workflow
-- A new PENDING workflow of this executor, started now; an existing id is left as it is (the id is the idempotency key). Counts itself (no trigger function runs for a plain start). Returns its notification, sent after the commit.
WITH added AS (
    INSERT INTO {schema}.workflows (workflow_id, name, status, inputs, executor_id, parent_workflow_id,
                                    parent_step_id, started_at, timeout_seconds)
    SELECT %(wid)s, %(name)s, 'PENDING', %(inputs)s::jsonb, %(me)s, %(parent)s, %(parent_step)s, clock_timestamp(),
           %(timeout)s
    WHERE {notify_later} AND {counted_here}
    ON CONFLICT (workflow_id) DO NOTHING
    RETURNING status, {workflow_note} AS note
), {count_added}
SELECT note FROM added

-- name: start_workflows
-- New PENDING workflows of this executor, one per id, in one statement; existing ids are left as they are. Counts them itself. Returns the new ones' ids and notifications.
WITH added AS (
    INSERT INTO {schema}.workflows (workflow_id, name, status, inputs, executor_id, started_at, timeout_seconds)
    SELECT v.workflow_id, %(name)s, 'PENDING', v.inputs::jsonb, %(me)s, clock_timestamp(), %(timeout)s
    FROM unnest(%(ids)b::text[], %(inputs)b::text[]) AS v(workflow_id, inputs)
    WHERE {notify_later} AND {counted_here}
    ON CONFLICT (workflow_id) DO NOTHING
    RETURNING workflow_id, status, {workflow_note} AS note
), {count_added}
SELECT workflow_id, note FROM added

-- name: names_of_workflows
-- The names of these workflows, by id.
SELECT workflow_id, name FROM {schema}.workflows WHERE workflow_id = ANY(%s)

-- name: notify_many
-- Send the notifications of rows committed with their triggers silenced, one per payload, in one transaction.
SELECT count(*) FROM (SELECT pg_notify(%s, note) FROM unnest(%b::text[]) AS note) sent

-- name: finishes
-- Fragment: the update of `finish_workflows` (parameters ids, statuses, results, errors, me, skew, later), returning each changed row's id and notification.
UPDATE {schema}.workflows w SET status = v.status, output = v.output::jsonb, error = v.error::jsonb,
       finished_at = {now}, updated_at = clock_timestamp()
FROM (SELECT u.*, 'PENDING'::text AS was, %(me)s::text AS owner
      FROM unnest(%(ids)b::text[], %(statuses)b::text[], %(results)b::text[], %(errors)b::text[])
           AS u(workflow_id, status, output, error)
      LIMIT cardinality(%(ids)b::text[])) AS v
WHERE w.workflow_id = v.workflow_id AND w.status IS NOT DISTINCT FROM v.was AND w.executor_id = v.owner
  AND {notify_later}
RETURNING w.workflow_id, json_build_object('t', 'w', 'id', w.workflow_id, 's', w.status)::text AS note

-- name: finish_workflows
-- Outcomes of many workflows in one statement (ids of the rows changed: the group commit reads a row); only those still PENDING and owned by this executor change. Each row is found by id (a nested loop over `v` into an index on workflow_id) whatever the statistics and the table's age: status and owner are tested against columns of `v` at the join, the status with IS NOT DISTINCT FROM, so no index on status (the partial workflows_active_executor, workflows_status_created) serves them (with statistics taken while few rows were PENDING, those walked every active row of the executor at each finish) and the table keeps its full size in the estimate; the LIMIT, never reached, makes a generic plan count `v` as one row, so even on an empty table one probe costs less than a sequential scan (this holds up to random_page_cost 6; at 7 or more an empty table's generic plan is a sequential scan again) (tests/test_hot_plans.py). Its row trigger stays silent and the statement sends the rows' notifications itself, so they go with its own commit whatever else the transaction holds: a workflow's end must wake its waiters for certain, and the group commit may write it in one transaction with checkpoints that silenced the triggers (`notify_later`) for the rest of it.
WITH finished AS (
{finishes}
)
SELECT f.workflow_id FROM finished f, pg_notify(%(events)s, f.note) AS sent

-- name: record_first_successes_and_finish
-- Group commit: the commonest batch of two statements, first successes and a finish, as one statement sent in autocommit (one round trip, no transaction block: a pipelined BEGIN, two statements and COMMIT cost this process four times the client work of one statement); the rows of `record_first_successes`, then the finished ids with NULL step ids. The two touch different workflows (a workflow ends only after its last checkpoint returned).
WITH written AS (
{first_successes}
), finished AS (
{finishes}
)
SELECT * FROM written
UNION ALL
SELECT f.workflow_id, NULL, NULL FROM finished f, pg_notify(%(events)s, f.note) AS sent

-- name: steps_for_run
-- Every recorded step of these workflows, with what is left of each one's wait, for replay.
SELECT workflow_id, step_id, name, kind, status, attempts, attempt_base, output, error, child_workflow_id,
       greatest(0, extract(epoch FROM next_attempt_at - {now}))::float8 AS wait_remaining
FROM {schema}.steps WHERE workflow_id = ANY(%(ids)b::text[])

-- name: open_step_errors
-- Errors of the attempts of unfinished steps since their last resume, oldest first.
SELECT a.workflow_id, a.step_id, a.error_type, a.error_message
FROM {schema}.attempts a JOIN {schema}.steps st USING (workflow_id, step_id)
WHERE a.workflow_id = ANY(%b::text[]) AND st.status NOT IN ('SUCCESS', 'ERROR') AND a.error_type IS NOT NULL
  AND a.attempt > st.attempt_base
ORDER BY a.workflow_id, a.step_id, a.attempt

-- name: hold_workflow
-- Lock a workflow's row for the rest of a transaction, if this executor owns it: no one adopts, cancels or resumes it meanwhile.
SELECT 1 FROM {schema}.workflows WHERE workflow_id = %s AND executor_id = %s FOR SHARE

-- name: workflow_state
-- Name, status and owner of one workflow.
SELECT name, status, executor_id FROM {schema}.workflows WHERE workflow_id = %s

-- name: workflow_outcome
-- Status, output and error of one workflow.
SELECT status, output, error FROM {schema}.workflows WHERE workflow_id = %s

-- name: claim_columns
-- Fragment: what a claim returns of each workflow `w` it takes: `recorded`, it has steps to replay (a fresh one has none to read); the seconds left to its deadline.
RETURNING w.workflow_id, w.name, w.inputs, w.status,
          EXISTS (SELECT 1 FROM {schema}.steps s WHERE s.workflow_id = w.workflow_id) AS recorded, {deadline_in}

-- name: executor_died
-- Whether an executor's last run ended without a clean stop (it was killed): asked at launch, before its row is renewed.
SELECT stopped_at IS NULL AS died FROM {schema}.executors WHERE executor_id = %s

-- name: poison_reason
-- Fragment: why a workflow was stopped for killing its worker at every run (needs `p.recovery_count`, `p.most`).
('its worker died ' || (p.recovery_count + 1) || ' times while running it (max_recovery_attempts=' || p.most
 || '): stopped here; resume it to try again')

-- name: poison_error
-- Fragment: the recorded error of a poison workflow, as a MaxRecoveryAttemptsExceeded.
jsonb_build_object('type', 'engine.errors.MaxRecoveryAttemptsExceeded', 'message', {poison_reason},
                   'args', jsonb_build_array({poison_reason}))

-- name: claim_own
-- At launch: this executor's own PENDING workflows; after its death each counts a recovery, and past its limit ends ERROR (poison).
WITH picked AS (
    SELECT c.workflow_id, c.recovery_count, coalesce(l.most, %(default_limit)s) AS most
    FROM {schema}.workflows c
    LEFT JOIN unnest(%(names)s::text[], %(limits)s::int[]) AS l(name, most) ON l.name = c.name
    WHERE c.status = 'PENDING' AND c.executor_id = %(me)s
    FOR UPDATE OF c
), poisoned AS (
    UPDATE {schema}.workflows w SET status = 'ERROR', recovery_count = p.recovery_count + 1, error = {poison_error},
           finished_at = clock_timestamp(), updated_at = clock_timestamp()
    FROM picked p WHERE w.workflow_id = p.workflow_id AND %(died)s AND p.recovery_count + 1 > p.most
)
UPDATE {schema}.workflows w SET recovery_count = w.recovery_count + CASE WHEN %(died)s THEN 1 ELSE 0 END,
       updated_at = clock_timestamp()
FROM picked p WHERE w.workflow_id = p.workflow_id AND NOT (%(died)s AND p.recovery_count + 1 > p.most)
RETURNING w.workflow_id, w.name, w.inputs, w.status, {deadline_in}

-- name: claim_stranded
-- These PENDING workflows of this executor that no thread runs any more (after an outage: not a recovery).
UPDATE {schema}.workflows w SET updated_at = clock_timestamp()
WHERE workflow_id = ANY(%s) AND status = 'PENDING' AND executor_id = %s
{claim_columns}

-- name: claim_dead
-- Adopt dead executors' PENDING workflows (of names this worker has, skipping rows others claim); a death counts as in claim_own.
WITH picked AS (
    SELECT c.workflow_id, c.recovery_count, l.most, e.stopped_at IS NULL AS died
    FROM {schema}.workflows c
    JOIN unnest(%(names)s::text[], %(limits)s::int[]) AS l(name, most) ON l.name = c.name
    LEFT JOIN {schema}.executors e ON e.executor_id = c.executor_id
    WHERE c.status = 'PENDING' AND c.executor_id IS DISTINCT FROM %(me)s AND NOT coalesce({executor_alive}, false)
    LIMIT %(limit)s
    FOR UPDATE OF c SKIP LOCKED
), poisoned AS (
    UPDATE {schema}.workflows w SET status = 'ERROR', recovery_count = p.recovery_count + 1, error = {poison_error},
           finished_at = clock_timestamp(), updated_at = clock_timestamp()
    FROM picked p WHERE w.workflow_id = p.workflow_id AND p.died AND p.recovery_count + 1 > p.most
)
UPDATE {schema}.workflows w SET executor_id = %(me)s,
       recovery_count = w.recovery_count + CASE WHEN p.died THEN 1 ELSE 0 END, updated_at = clock_timestamp()
FROM picked p WHERE w.workflow_id = p.workflow_id AND NOT (p.died AND p.recovery_count + 1 > p.most)
RETURNING w.workflow_id, w.name, w.inputs, w.status, {deadline_in}

-- name: claim_enqueued
-- Take the oldest due ENQUEUED workflows of no queue, of names this worker has, skipping rows others claim.
UPDATE {schema}.workflows w SET status = 'PENDING', executor_id = %(me)s, wait_reason = NULL,
       started_at = coalesce(started_at, clock_timestamp()), updated_at = clock_timestamp()
WHERE workflow_id IN (
    SELECT workflow_id FROM {schema}.workflows c
    WHERE c.status = 'ENQUEUED' AND c.name = ANY(%(names)s) AND c.queue_name IS NULL
      AND (c.not_before IS NULL OR c.not_before <= clock_timestamp())
    ORDER BY c.created_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED)
{claim_columns}

-- name: explain_waiting
-- Say why queued work waits when no live worker registers its name.
UPDATE {schema}.workflows w SET wait_reason = 'no live worker registers ' || quote_ident(w.name)
WHERE w.status = 'ENQUEUED' AND w.wait_reason IS NULL
  AND NOT EXISTS (SELECT 1 FROM {schema}.executors e WHERE w.name = ANY(e.workflows) AND {executor_alive})

-- name: register_executor
-- An executor's row at launch (a restarted executor id starts afresh).
INSERT INTO {schema}.executors (executor_id, host, pid, code_version, workflows, queues)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (executor_id) DO UPDATE SET
    host = excluded.host, pid = excluded.pid, code_version = excluded.code_version,
    workflows = excluded.workflows, queues = excluded.queues, started_at = clock_timestamp(), heartbeat_at = clock_timestamp(),
    crash_requested_at = NULL,
    in_flight = 0, stopped_at = NULL

-- name: heartbeat
-- The executor is alive, running this many workflows.
UPDATE {schema}.executors SET heartbeat_at = clock_timestamp(), in_flight = %s WHERE executor_id = %s

-- name: stop_executor
-- The executor stopped cleanly: its workflows can be adopted at once.
UPDATE {schema}.executors SET stopped_at = clock_timestamp(), in_flight = 0 WHERE executor_id = %s

-- name: fault_columns
-- Fragment: the columns of a fault record.
fault_id, kind, workflow_id, step_name, remaining, delay_seconds, phase, message, created_at, expires_at

-- name: active_faults
-- Faults with uses left that have not expired.
SELECT {fault_columns}
FROM {schema}.faults
WHERE (remaining IS NULL OR remaining > 0) AND (expires_at IS NULL OR expires_at > clock_timestamp())

-- name: consume_fault
-- Take one use of a fault; no row when another worker took the last one.
UPDATE {schema}.faults SET remaining = remaining - 1
WHERE fault_id = %s AND (remaining IS NULL OR remaining > 0)
  AND (expires_at IS NULL OR expires_at > clock_timestamp())
RETURNING fault_id

-- name: cancelled_among
-- Which of these workflows are really CANCELLED (a worker checks before it obeys a cancel NOTIFY).
SELECT workflow_id FROM {schema}.workflows WHERE workflow_id = ANY(%s) AND status = 'CANCELLED'

-- name: due_among
-- Which of these workflows have a wait that is really due now (a worker checks before it obeys a retry-now).
SELECT DISTINCT workflow_id FROM {schema}.steps
WHERE workflow_id = ANY(%s) AND status IN ('WAITING_RETRY', 'SLEEPING', 'WAITING') AND next_attempt_at <= clock_timestamp()

-- name: crash_requested
-- Whether a controller asked this executor to crash since it started.
SELECT coalesce(crash_requested_at >= started_at, false) AS asked FROM {schema}.executors WHERE executor_id = %s
