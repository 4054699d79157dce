-- Statements of queues (issue 10): definitions, queued inserts, the claim under a per-queue lock, debounce.

-- name: upsert_queue
-- A worker records the definition of a queue it imports, so controllers and the dashboard see it.
INSERT INTO {schema}.queues (name, concurrency, worker_concurrency, rate_limit, rate_period, priority_enabled,
                             partitioned)
VALUES (%(name)s, %(concurrency)s, %(worker_concurrency)s, %(rate_limit)s, %(rate_period)s, %(priority_enabled)s,
        %(partitioned)s)
ON CONFLICT (name) DO UPDATE SET
    concurrency = excluded.concurrency, worker_concurrency = excluded.worker_concurrency,
    rate_limit = excluded.rate_limit, rate_period = excluded.rate_period,
    priority_enabled = excluded.priority_enabled, partitioned = excluded.partitioned, updated_at = clock_timestamp()

-- name: serve_queues
-- The queues an executor serves (those its process defines), after a queue was defined since its launch.
UPDATE {schema}.executors SET queues = %s WHERE executor_id = %s

-- name: queue_unserved
-- Fragment: why workflow `w` waits when no live executor serves its queue (else NULL); needs %(lease)s.
(CASE WHEN w.status = 'ENQUEUED' AND w.queue_name IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM {schema}.executors e WHERE w.queue_name = ANY(e.queues) AND {executor_alive})
      THEN 'no worker serves queue ' || w.queue_name END)

-- name: queue_definition
-- One queue's recorded definition.
SELECT name, concurrency, worker_concurrency, rate_limit, rate_period, priority_enabled, partitioned
FROM {schema}.queues WHERE name = %s

-- name: queue_figures
-- Every recorded queue with its live figures: queued, running, started in the limiter's period, oldest queued (each from a partial index: finished workflows are never read; the closed range makes the planner pick the (queue, dequeued_at) index).
SELECT q.name, q.concurrency, q.worker_concurrency, q.rate_limit, q.rate_period, q.priority_enabled, q.partitioned,
       (SELECT count(*) FROM {schema}.workflows w WHERE w.status = 'ENQUEUED' AND w.queue_name = q.name) AS enqueued,
       (SELECT count(*) FROM {schema}.workflows w WHERE w.status = 'PENDING' AND w.queue_name = q.name) AS pending,
       (SELECT count(*) FROM {schema}.workflows w
        WHERE w.queue_name = q.name AND w.dequeued_at >= statement_timestamp() - make_interval(secs => coalesce(q.rate_period, 0))
          AND w.dequeued_at <= 'infinity') AS started_in_period,
       (SELECT min(w.created_at) FROM {schema}.workflows w WHERE w.status = 'ENQUEUED' AND w.queue_name = q.name)
           AS oldest_enqueued_at
FROM {schema}.queues q ORDER BY q.name

-- name: queue_starts
-- How many workflows of each recorded queue started in each bucket of %(bucket)s seconds back from now, over %(span)s seconds (a range of the (queue, dequeued_at) index per queue).
SELECT q.name AS queue_name, floor(extract(epoch FROM clock_timestamp() - w.dequeued_at) / %(bucket)s)::int AS ago,
       count(*)::int
FROM {schema}.queues q JOIN {schema}.workflows w ON w.queue_name = q.name
WHERE w.dequeued_at IS NOT NULL AND w.dequeued_at >= statement_timestamp() - make_interval(secs => %(span)s::float8)
GROUP BY 1, 2

-- name: insert_queued
-- A new ENQUEUED workflow in a queue, its row trigger silent and counting itself (no trigger function runs); returns its notification, sent after the commit with the workers' wake (`notify_enqueued`, or a worker's notifier). An existing id is left as it is: no row, no wake. A live duplicate raises a unique violation.
WITH added AS (
    INSERT INTO {schema}.workflows (workflow_id, name, status, inputs, queue_name, priority, deduplication_id,
                                    partition_key, not_before, wait_reason, timeout_seconds)
    SELECT %(wid)s, %(name)s, 'ENQUEUED', %(inputs)s::jsonb, %(queue)s, %(priority)s, %(dedup)s, %(partition)s,
           t.at, 'starts at ' || to_char(t.at, 'YYYY-MM-DD HH24:MI:SS.MS TZ'), %(timeout)s
    FROM (SELECT CASE WHEN %(delay)s::float8 IS NOT NULL
                      THEN clock_timestamp() + make_interval(secs => %(delay)s::float8) END AS at) t
    WHERE {notify_later} AND {counted_here}
    ON CONFLICT (workflow_id) DO NOTHING
    RETURNING status, {workflow_note} AS note
), {count_added}
SELECT note FROM added

-- name: deduplicated_by
-- The live workflow that holds a de-duplication id in a queue.
SELECT workflow_id FROM {schema}.workflows
WHERE queue_name = %s AND deduplication_id = %s AND status IN ('ENQUEUED', 'PENDING')

-- name: claim_settings
-- Fragment: settings of a claim's transaction. Its statements are planned once per connection and that plan kept (each plan took about a millisecond of the server's CPU at every claim) and without sequential scans (a plan made while the table is still small, which it often is when a worker connects, would otherwise read the whole table at every claim once it has grown: 10 ms at 2,000 rows); its commit does not wait for the WAL flush (a claim lost in a crash leaves its workflows ENQUEUED, claimed again; a later checkpoint's flush makes it durable).
set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true),
set_config('synchronous_commit', 'off', true)

-- name: survey_settings
-- The settings of a claim (`claim_settings`) for the statements of the wake-up's survey (one implicit transaction, up to its pipeline's Sync).
SELECT {claim_settings}

-- name: queue_lock
-- Serialises the claims of one queue partition across workers, until the claim's transaction ends. For that transaction: the row triggers stay silent (the claim returns their notifications, sent after its commit, so the commit takes no database-wide notify lock), and `claim_settings`.
SELECT pg_advisory_xact_lock(hashtext(%s)), set_config('durable.notify_later', 'on', true), {claim_settings}

-- name: queue_outlook
-- Which of these queues hold due workflows of these names (a claim looks only at those; stops at the first of each), and seconds until the next delayed one of these names is due (NULL: none waits).
SELECT ARRAY(SELECT q.name FROM unnest(%(queues)s::text[]) AS q(name)
             WHERE EXISTS (SELECT 1 FROM {schema}.workflows w
                           WHERE w.status = 'ENQUEUED' AND w.queue_name = q.name AND w.name = ANY(%(names)s)
                             AND (w.not_before IS NULL OR w.not_before <= clock_timestamp()))) AS due,
       (SELECT extract(epoch FROM min(not_before) - clock_timestamp())::float8 FROM {schema}.workflows
        WHERE status = 'ENQUEUED' AND name = ANY(%(names)s) AND not_before > clock_timestamp()) AS next_due_in

-- name: ready_partitions
-- The partitions of a queue with workflows that are due.
SELECT DISTINCT partition_key FROM {schema}.workflows
WHERE status = 'ENQUEUED' AND queue_name = %(queue)s AND name = ANY(%(names)s)
  AND (not_before IS NULL OR not_before <= clock_timestamp())

-- name: rate_window_opens
-- Seconds until the limiter lets one more start: when the limit-th newest start leaves the period.
SELECT extract(epoch FROM d.dequeued_at + make_interval(secs => %(period)s::float8) - clock_timestamp())::float8
FROM (SELECT dequeued_at FROM {schema}.workflows
      WHERE queue_name = %(queue)s AND partition_key = %(partition)s AND dequeued_at IS NOT NULL
      ORDER BY dequeued_at DESC OFFSET %(limit)s - 1 LIMIT 1) d

-- name: claim_queue
-- After the partition's lock: count what it holds (each count once; the worker's own and the starts in the period only for a queue with that limit), start up to what its limits leave (by priority, 0 for all in a queue without, then enqueue order: the index's order), tell 100 due rows not yet told why the rest wait; each row says whether the limits are now reached, the starts in the period and the notifications of the rows told (one row with no workflow when none started).
WITH counts AS MATERIALIZED (
    SELECT
        (SELECT count(*) FROM {schema}.workflows
         WHERE status = 'PENDING' AND queue_name = %(queue)s AND partition_key = %(partition)s) AS pending,
        CASE WHEN %(worker_concurrency)s::int IS NULL THEN 0 ELSE
        (SELECT count(*) FROM {schema}.workflows
         WHERE status = 'PENDING' AND queue_name = %(queue)s AND executor_id = %(me)s) END AS mine,
        CASE WHEN %(rate_limit)s::int IS NULL THEN 0 ELSE
        (SELECT count(*) FROM (SELECT 1 FROM {schema}.workflows
                               WHERE queue_name = %(queue)s AND partition_key = %(partition)s AND dequeued_at IS NOT NULL
                                 AND dequeued_at >= statement_timestamp() - make_interval(secs => %(period)s::float8)
                               ORDER BY dequeued_at DESC LIMIT %(rate_limit)s::int) s) END AS started
), room AS MATERIALIZED (
    SELECT pending, started, allowed, greatest(0, least(%(capacity)s::int, allowed)) AS n
    FROM (SELECT pending, started,
                 least(coalesce(%(concurrency)s::int - pending, %(capacity)s::int),
                       coalesce(%(worker_concurrency)s::int - mine, %(capacity)s::int),
                       coalesce(%(rate_limit)s::int - started, %(capacity)s::int)) AS allowed
          FROM counts) l
), picked AS (
    SELECT c.workflow_id FROM {schema}.workflows c
    WHERE c.status = 'ENQUEUED' AND c.queue_name = %(queue)s AND c.partition_key = %(partition)s
      AND c.name = ANY(%(names)s) AND (c.not_before IS NULL OR c.not_before <= clock_timestamp())
    ORDER BY c.priority, c.created_at
    LIMIT (SELECT n FROM room)
    FOR UPDATE SKIP LOCKED
), reason AS (
    SELECT CASE WHEN r.pending + t.n >= %(concurrency)s::int
                THEN %(where)s || ' full (' || (r.pending + t.n) || '/' || %(concurrency)s::int || ')'
                WHEN r.started + t.n >= %(rate_limit)s::int THEN %(rate_reason)s END AS text
    FROM room r CROSS JOIN (SELECT count(*) AS n FROM picked) t
), told AS (
    UPDATE {schema}.workflows SET wait_reason = (SELECT text FROM reason), not_before = NULL
    WHERE workflow_id IN (
        SELECT workflow_id FROM {schema}.workflows
        WHERE (SELECT text FROM reason) IS NOT NULL
          AND status = 'ENQUEUED' AND queue_name = %(queue)s AND partition_key = %(partition)s
          AND (wait_reason IS NULL OR not_before IS NOT NULL) AND (not_before IS NULL OR not_before <= clock_timestamp())
          AND workflow_id NOT IN (SELECT workflow_id FROM picked)
        LIMIT 100
        FOR UPDATE SKIP LOCKED)
    RETURNING {workflow_note} AS note
), moment AS MATERIALIZED (
    SELECT clock_timestamp() AS at
), claimed AS (
    -- one moment for both: started_at equal to dequeued_at says this claim started it first, so (unless forked, with
    -- copied steps) it has no steps and `recorded` needs no look at them
    UPDATE {schema}.workflows w SET status = 'PENDING', executor_id = %(me)s, wait_reason = NULL,
           started_at = coalesce(started_at, (SELECT at FROM moment)), dequeued_at = (SELECT at FROM moment),
           updated_at = clock_timestamp()
    WHERE w.workflow_id = ANY(ARRAY(SELECT workflow_id FROM picked))
    RETURNING w.workflow_id, w.name, w.inputs, w.status,
              CASE WHEN w.started_at = w.dequeued_at AND w.forked_from IS NULL THEN false
                   ELSE EXISTS (SELECT 1 FROM {schema}.steps s WHERE s.workflow_id = w.workflow_id) END AS recorded,
              {deadline_in}, {workflow_note} AS note
)
SELECT c.workflow_id, c.name, c.inputs, c.status, c.recorded, c.deadline_in, c.note,
       r.allowed <= (SELECT count(*) FROM picked) AS saturated, r.started + (SELECT count(*) FROM picked) AS started,
       ARRAY(SELECT note FROM told) AS told
FROM room r LEFT JOIN claimed c ON true

-- name: debounce_lock
-- Serialises the calls of one debounce key.
SELECT pg_advisory_xact_lock(hashtext(%s))

-- name: debounce_push
-- A call within the period: the waiting workflow takes the latest inputs, due a period from now but at most timeout after the first call.
UPDATE {schema}.workflows SET inputs = %(inputs)s::jsonb, updated_at = clock_timestamp(),
       not_before = CASE WHEN %(timeout)s::float8 IS NULL
                         THEN clock_timestamp() + make_interval(secs => %(period)s::float8)
                         ELSE least(clock_timestamp() + make_interval(secs => %(period)s::float8),
                                    created_at + make_interval(secs => %(timeout)s::float8)) END
WHERE status = 'ENQUEUED' AND name = %(name)s AND debounce_key = %(key)s
RETURNING workflow_id

-- name: debounce_insert
-- The first call for a key (or the first since its last run started): a workflow due once the key is quiet.
INSERT INTO {schema}.workflows (workflow_id, name, status, inputs, queue_name, debounce_key, not_before)
VALUES (%(wid)s, %(name)s, 'ENQUEUED', %(inputs)s::jsonb, %(queue)s, %(key)s,
        clock_timestamp() + make_interval(secs => least(%(period)s::float8, coalesce(%(timeout)s::float8,
                                                                                    %(period)s::float8))))
RETURNING workflow_id
