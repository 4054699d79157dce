-- Messages, events and streams (issue 9). Inside a workflow each call is a step at its position: the step row
-- and the row it writes (a consumed message, an event, a stream value) change in one statement, so one
-- transaction, guarded like every checkpoint (a step that has an outcome is never written again).

-- name: done_step
-- Fragment (a CTE `s`): the step at this position recorded as done, if CTE `ready` has a row, the workflow is still ours and the step has no outcome yet.
s AS (
    INSERT INTO {schema}.steps AS st (workflow_id, step_id, name, kind, status, attempts, max_attempts, output,
                                      started_at, finished_at)
    SELECT %(wid)s, %(sid)s, %(name)s, %(kind)s, 'SUCCESS', 1, 1, %(output)s::jsonb, %(started)s, {now} FROM ready
    WHERE {owned_by_me}
    ON CONFLICT (workflow_id, step_id) DO UPDATE SET
        status = 'SUCCESS', attempts = 1, output = excluded.output, finished_at = excluded.finished_at,
        next_attempt_at = NULL
    WHERE st.status NOT IN ('SUCCESS', 'ERROR') AND st.name = excluded.name
    RETURNING 1
)

-- name: wait_step
-- Fragment (CTEs `decided`, `s`, `w`): a waiting step's outcome is CTE `got` when it has a row, null once the deadline (recorded at first entry) passed, else the wait goes on (all only while the workflow is ours); the workflow's wait_reason says what it waits for.
decided AS (
    SELECT d.deadline, d.found, d.found OR d.deadline <= {now} AS done
    FROM (SELECT coalesce((SELECT p.next_attempt_at FROM {schema}.steps p
                           WHERE p.workflow_id = %(wid)s AND p.step_id = %(sid)s AND p.status = 'WAITING'),
                          {now} + make_interval(secs => %(timeout)s::float8)) AS deadline,
                 EXISTS (SELECT 1 FROM got) AS found) d
), s AS (
    INSERT INTO {schema}.steps AS st (workflow_id, step_id, name, kind, status, attempts, max_attempts,
                                      next_attempt_at, output, started_at, finished_at)
    SELECT %(wid)s, %(sid)s, %(name)s, %(kind)s, CASE WHEN d.done THEN 'SUCCESS' ELSE 'WAITING' END, 1, 1,
           CASE WHEN d.done THEN NULL ELSE d.deadline END, (SELECT value FROM got), %(started)s,
           CASE WHEN d.done THEN {now} END
    FROM decided d
    WHERE {owned_by_me}
    ON CONFLICT (workflow_id, step_id) DO UPDATE SET
        status = excluded.status, output = excluded.output, finished_at = excluded.finished_at,
        next_attempt_at = excluded.next_attempt_at
    WHERE st.status NOT IN ('SUCCESS', 'ERROR') AND st.name = excluded.name
    RETURNING st.status, st.next_attempt_at
), w AS (
    UPDATE {schema}.workflows wf SET wait_reason = CASE WHEN s.status = 'WAITING' THEN %(reason)s END
    FROM s
    WHERE wf.workflow_id = %(wid)s
      AND wf.wait_reason IS DISTINCT FROM (CASE WHEN s.status = 'WAITING' THEN %(reason)s END)
)

-- name: wait_result
-- Fragment: what a waiting step's statement returns (no row: the step already had an outcome).
SELECT s.status, (SELECT value FROM got) AS value, (SELECT found FROM decided) AS found,
       greatest(0, extract(epoch FROM s.next_attempt_at - {now}))::float8 AS remaining
FROM s

-- name: receive
-- A recv at its position: consume the topic's oldest waiting message and record it as the step's outcome in one statement (so one transaction), else record or keep the wait.
WITH got AS (
    SELECT message_id, value FROM {schema}.messages
    WHERE workflow_id = %(wid)s AND topic = %(topic)s AND consumed_step IS NULL
    ORDER BY message_id LIMIT 1
    FOR UPDATE
), {wait_step}, consumed AS (
    UPDATE {schema}.messages m SET consumed_step = %(sid)s, consumed_at = {now}
    FROM got WHERE m.message_id = got.message_id AND EXISTS (SELECT 1 FROM s WHERE s.status = 'SUCCESS')
)
{wait_result}

-- name: await_event
-- A get_event at its position: the event's latest value as the step's outcome, else record or keep the wait.
WITH got AS (
    SELECT value FROM {schema}.events WHERE workflow_id = %(target)s AND key = %(key)s
    ORDER BY step_id DESC LIMIT 1
), {wait_step}
{wait_result}

-- name: send_step
-- A send at its position: the message and the step's record in one statement; nothing when the target does not exist.
WITH ready AS (
    SELECT workflow_id FROM {schema}.workflows WHERE workflow_id = %(target)s
), {done_step}, m AS (
    INSERT INTO {schema}.messages (workflow_id, topic, value)
    SELECT %(target)s, %(topic)s, %(value)s::jsonb FROM s
)
SELECT EXISTS (SELECT 1 FROM ready) AS found, EXISTS (SELECT 1 FROM s) AS recorded

-- name: set_event_step
-- A set_event at its position: the event's value and the step's record in one statement.
WITH ready AS (SELECT 1), {done_step}, e AS (
    INSERT INTO {schema}.events (workflow_id, key, step_id, value, created_at)
    SELECT %(wid)s, %(key)s, %(sid)s, %(value)s::jsonb, {now} FROM s
    ON CONFLICT DO NOTHING
)
SELECT count(*) AS recorded FROM s

-- name: stream_step
-- A write_stream or close_stream at its position: the stream's row and the step's record in one statement.
WITH ready AS (SELECT 1), {done_step}, v AS (
    INSERT INTO {schema}.streams (workflow_id, key, step_id, value, closed, created_at)
    SELECT %(wid)s, %(key)s, %(sid)s, %(value)s::jsonb, %(closed)s, {now} FROM s
    ON CONFLICT DO NOTHING
)
SELECT count(*) AS recorded FROM s

-- name: send_message
-- A message from outside any workflow; a repeated idempotency key sends nothing. Says whether the workflow exists.
WITH target AS (
    SELECT workflow_id FROM {schema}.workflows WHERE workflow_id = %(target)s
), m AS (
    INSERT INTO {schema}.messages (workflow_id, topic, value, idempotency_key)
    SELECT %(target)s, %(topic)s, %(value)s::jsonb, %(key)s FROM target
    ON CONFLICT (workflow_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING message_id
)
SELECT EXISTS (SELECT 1 FROM target) AS found, EXISTS (SELECT 1 FROM m) AS sent

-- name: latest_event
-- The latest value of one event of a workflow (no row: not set yet).
SELECT value FROM {schema}.events WHERE workflow_id = %s AND key = %s ORDER BY step_id DESC LIMIT 1

-- name: events_of
-- The latest value of each event of a workflow, with when it was set, by key.
SELECT DISTINCT ON (key) key, value, created_at AS set_at, step_id
FROM {schema}.events WHERE workflow_id = %s ORDER BY key, step_id DESC

-- name: stream_after
-- The workflow's status, and the values of one of its streams written after a position (in order).
SELECT wf.status, x.step_id, x.value, x.closed
FROM {schema}.workflows wf
LEFT JOIN {schema}.streams x ON x.workflow_id = wf.workflow_id AND x.key = %(key)s AND x.step_id > %(after)s
WHERE wf.workflow_id = %(wid)s
ORDER BY x.step_id

-- name: streams_of
-- The last values of each stream of a workflow (up to a limit per stream), how many it holds, and whether it is closed.
SELECT key, step_id, value, closed, created_at AS written_at, total
FROM (SELECT x.*, row_number() OVER (PARTITION BY key ORDER BY step_id DESC) AS newest,
             count(*) FILTER (WHERE NOT closed) OVER (PARTITION BY key) AS total
      FROM {schema}.streams x WHERE workflow_id = %(wid)s) ranked
WHERE newest <= %(tail)s
ORDER BY key, step_id

-- name: messages_waiting
-- How many messages wait for a workflow, by topic.
SELECT topic, count(*) AS n FROM {schema}.messages WHERE workflow_id = %s AND consumed_step IS NULL
GROUP BY topic ORDER BY topic
