-- Statements about a session rather than rows: locks, LISTEN, transaction settings, liveness.

-- name: try_lock_executor
-- Take the session advisory lock on an executor id (held until the connection closes); false if taken.
SELECT pg_try_advisory_lock(hashtext('durable-executor:{schema}:' || %s)) AS got

-- name: listen_events
-- Hear the row-change events of this schema (the dashboard's feed).
LISTEN {schema}_events

-- name: listen_control
-- Hear the control messages of this schema (a worker's listener).
LISTEN {schema}_control

-- name: isolation_serializable
-- The current transaction runs SERIALIZABLE.
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE

-- name: isolation_repeatable_read
-- The current transaction runs REPEATABLE READ.
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ

-- name: isolation_read_committed
-- The current transaction runs READ COMMITTED.
SET TRANSACTION ISOLATION LEVEL READ COMMITTED

-- name: ping
-- One round trip that proves the connection is alive.
SELECT 1
