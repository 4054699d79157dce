-- Bookkeeping of migrations (the migrations' own text is in migrations.py, frozen once released).

-- name: migrate_lock
-- Serialise concurrent launches migrating one schema (released at commit).
SELECT pg_advisory_xact_lock(hashtext('durable-migrate:{schema}'))

-- name: schema_exists
-- Whether the schema exists (asked first: even CREATE SCHEMA IF NOT EXISTS needs CREATE on the database).
SELECT to_regnamespace(%s) IS NOT NULL AS found

-- name: create_schema
-- The schema, when it does not exist yet.
CREATE SCHEMA {schema}

-- name: version_table_exists
-- Whether the schema has its version table (a plain read: no lock, no CREATE right needed).
SELECT to_regclass(%s) IS NOT NULL AS found

-- name: create_version_table
-- The table of applied migration versions, if it is new.
CREATE TABLE IF NOT EXISTS {schema}.schema_version (version integer NOT NULL)

-- name: schema_version
-- The highest applied migration version (NULL for a new schema).
SELECT max(version) AS version FROM {schema}.schema_version

-- name: record_version
-- One more migration applied.
INSERT INTO {schema}.schema_version (version) VALUES (%s)

-- name: drop_schema
-- The schema and everything in it (the test harness's isolated schemas, when a test ends).
DROP SCHEMA IF EXISTS {schema} CASCADE
