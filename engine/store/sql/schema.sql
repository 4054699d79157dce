-- Bookkeeping of migrations (the migrations' own text is in migrations.py, frozen once released).

-- name: migrate_lock
-- Serialise concurrent launches migrating one schema (released at commit).
SELECT pg_advisory_xact_lock(hashtext('durable-migrate:{schema}'))

-- name: create_schema
-- The schema, if it is new.
CREATE SCHEMA IF NOT EXISTS {schema}

-- name: create_version_table
-- The table of applied migration versions, if it is new.
CREATE TABLE IF NOT EXISTS {schema}.schema_version (version integer NOT NULL)

-- name: schema_version
-- The highest applied migration version (NULL for a new schema).
SELECT max(version) AS version FROM {schema}.schema_version

-- name: record_version
-- One more migration applied.
INSERT INTO {schema}.schema_version (version) VALUES (%s)
