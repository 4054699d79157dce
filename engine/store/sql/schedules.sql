-- Statements of schedules: the definitions the workers record at launch, their state (paused, last tick), and
-- the idempotent start of a tick's workflow (its id is derived from the schedule and the tick time).

-- name: record_schedule
-- A schedule a worker defines, recorded at its launch: a new one counts ticks from %(now)s; paused and the last tick are kept.
INSERT INTO {schema}.schedules (name, workflow_name, cron, timeout_seconds, since_at)
VALUES (%(name)s, %(workflow)s, %(cron)s, %(timeout)s, %(now)s)
ON CONFLICT (name) DO UPDATE SET workflow_name = excluded.workflow_name, cron = excluded.cron,
    timeout_seconds = excluded.timeout_seconds, updated_at = clock_timestamp()
WHERE (schedules.workflow_name, schedules.cron, schedules.timeout_seconds)
      IS DISTINCT FROM (excluded.workflow_name, excluded.cron, excluded.timeout_seconds)

-- name: schedule_columns
-- Fragment: a schedule's record, with the status of its last run (`s` the schedule).
s.name, s.workflow_name, s.cron, s.paused, s.since_at, s.last_tick_at, s.last_workflow_id,
(SELECT w.status FROM {schema}.workflows w WHERE w.workflow_id = s.last_workflow_id) AS last_status

-- name: schedules_all
-- Every recorded schedule, by name.
SELECT {schedule_columns} FROM {schema}.schedules s ORDER BY s.name

-- name: schedules_named
-- These schedules.
SELECT {schedule_columns} FROM {schema}.schedules s WHERE s.name = ANY(%s) ORDER BY s.name

-- name: start_scheduled
-- Queue the runs of a schedule (ids, scheduled times, actual time) with its workflow's timeout, each id at most once: an existing id is left as it is.
INSERT INTO {schema}.workflows (workflow_id, name, status, inputs, timeout_seconds)
SELECT t.workflow_id, %(workflow)s, 'ENQUEUED',
       jsonb_build_object('args', jsonb_build_array(t.scheduled_at, %(actual)s::text), 'kwargs', jsonb_build_object()),
       (SELECT s.timeout_seconds FROM {schema}.schedules s WHERE s.name = %(schedule)s)
FROM unnest(%(ids)s::text[], %(times)s::text[]) AS t(workflow_id, scheduled_at)
ON CONFLICT (workflow_id) DO NOTHING
RETURNING workflow_id

-- name: note_tick
-- The schedule's latest tick and its run (an older tick, fired late by another worker, changes nothing).
UPDATE {schema}.schedules SET last_tick_at = %(tick)s, last_workflow_id = %(wid)s, updated_at = clock_timestamp()
WHERE name = %(name)s AND (last_tick_at IS NULL OR last_tick_at < %(tick)s)

-- name: note_run
-- A run of the schedule started outside its ticks (trigger): its latest run.
UPDATE {schema}.schedules SET last_workflow_id = %(wid)s, updated_at = clock_timestamp() WHERE name = %(name)s

-- name: pause_schedule
-- Pause a schedule: no tick runs until it is resumed.
UPDATE {schema}.schedules SET paused = true, updated_at = clock_timestamp() WHERE name = %s RETURNING name

-- name: resume_schedule
-- Resume a paused schedule: ticks count from when a worker's scheduler next reads it (those missed while paused are not run).
UPDATE {schema}.schedules SET paused = false, updated_at = clock_timestamp(),
    since_at = CASE WHEN paused THEN NULL ELSE since_at END
WHERE name = %s RETURNING name

-- name: set_since
-- A resumed schedule counts ticks from this moment (the first scheduler to read it sets it, on its own clock).
UPDATE {schema}.schedules SET since_at = %s WHERE name = %s AND since_at IS NULL
