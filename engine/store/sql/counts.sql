-- Statements of the counts per status (migration 6): triggers append deltas to `workflow_counts`; these fold them.

-- name: fold_counts
-- Replace the deltas no other transaction holds by one row per status (skipping locked rows: two workers folding at once never wait); only once they pile up.
WITH gone AS (
    DELETE FROM {schema}.workflow_counts WHERE ctid IN (
        SELECT ctid FROM {schema}.workflow_counts
        WHERE (SELECT count(*) FROM {schema}.workflow_counts) > %(least)s
        FOR UPDATE SKIP LOCKED)
    RETURNING status, n
)
INSERT INTO {schema}.workflow_counts (status, n)
SELECT status, sum(n) FROM gone GROUP BY status HAVING sum(n) <> 0
