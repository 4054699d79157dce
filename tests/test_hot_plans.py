"""The plans of hot prepared statements, read with EXPLAIN rather than timed: a prepared statement keeps the
generic plan made at its first executions, so a plan that is only right for some statistics or table sizes
stays wrong for the life of a worker's connection."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql as pgsql

from engine.store.migrations import migrate
from engine.store.queries import for_schema

ME = "me"
BY_ID = {"workflows_pkey", "workflows_id_pattern"}
"""The indexes whose only column is workflow_id (the second is the pkey's column for LIKE prefixes)."""

FINISH_TYPES = {
    "ids": "text[]",
    "statuses": "text[]",
    "results": "text[]",
    "errors": "text[]",
    "me": "text",
    "skew": "float8",
    "later": "text",
    "events": "text",
}


FIRST_SUCCESS_TYPES = {
    "wids": "text[]",
    "sids": "int[]",
    "names": "text[]",
    "kinds": "text[]",
    "maxes": "int[]",
    "outputs": "text[]",
    "children": "text[]",
    "starteds": "timestamptz[]",
    "skews": "float8[]",
    "owners": "text[]",
    "later": "text",
}


@pytest.fixture
def conn(database_url: str, schema: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection on a freshly created schema: the young table a worker's first finishes see."""
    with psycopg.connect(database_url, autocommit=True) as c:
        migrate(c, schema)
        yield c


def start(conn: psycopg.Connection[Any], schema: str, ids: list[str], me: str = ME) -> None:
    params = {"ids": ids, "name": "n", "inputs": ["{}"] * len(ids), "me": me, "timeout": None, "later": "on"}
    conn.execute(for_schema(schema)["start_workflows"], params).fetchall()


def generic_plan(conn: psycopg.Connection[Any], statement: str, types: dict[str, str], params: dict[str, Any]) -> Any:
    """The generic plan the server would cache for `statement` once prepared (PG 15 has no EXPLAIN GENERIC_PLAN)."""
    names: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    text = re.sub(r"%\((\w+)\)[sbt]", number, statement)
    args = pgsql.SQL(", ").join(pgsql.SQL("{}::{}").format(params[n], pgsql.SQL(types[n])) for n in names)
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        conn.execute(f"PREPARE hot ({', '.join(types[n] for n in names)}) AS {text}")
        try:
            row = conn.execute(pgsql.SQL("EXPLAIN (FORMAT JSON) EXECUTE hot ({})").format(args)).fetchone()
        finally:
            conn.execute("DEALLOCATE hot")
    assert row is not None
    return row[0][0]["Plan"]


def scans_of(plan: Any, relation: str) -> list[dict[str, Any]]:
    """Every node of `plan` that reads `relation`."""
    found = [plan] if plan.get("Relation Name") == relation and plan["Node Type"] != "ModifyTable" else []
    for child in plan.get("Plans", []):
        found += scans_of(child, relation)
    return found


def assert_finds_by_id(plan: Any, scans: int = 1) -> None:
    found = scans_of(plan, "workflows")
    assert len(found) == scans, plan
    for scan in found:
        assert scan["Node Type"] == "Index Scan", plan  # never a Seq Scan, nor a bitmap over a status index
        assert scan["Index Name"] in BY_ID, plan  # never workflows_active_executor nor workflows_status_created
        assert "workflow_id" in scan["Index Cond"], plan


def finish_params(ids: list[str], me: str = ME) -> dict[str, Any]:
    n = len(ids)
    return {
        "ids": ids,
        "statuses": ["SUCCESS"] * n,
        "results": ["1"] * n,
        "errors": [None] * n,
        "me": me,
        "skew": 0.0,
        "later": "on",
        "events": "nobody_listens",
    }


def test_finish_finds_its_rows_by_id_on_a_young_table(conn: psycopg.Connection[Any], schema: str) -> None:
    finish = for_schema(schema)["finish_workflows"]
    batch = finish_params([f"p{i}" for i in range(20)])
    assert_finds_by_id(generic_plan(conn, finish, FINISH_TYPES, batch))  # empty, just created
    start(conn, schema, [f"p{i}" for i in range(1000)])
    assert_finds_by_id(generic_plan(conn, finish, FINISH_TYPES, batch))  # many PENDING rows, never analyzed


def test_finish_finds_its_rows_by_id_with_statistics_from_few_pending(
    conn: psycopg.Connection[Any], schema: str
) -> None:
    """The trap found by profiling: statistics say almost nothing is PENDING, so an index on status looks
    selective, while this executor has a thousand PENDING rows."""
    conn.execute(
        f"INSERT INTO {schema}.workflows (workflow_id, name, status, executor_id) "
        f"SELECT 'old' || g, 'n', 'SUCCESS', %s FROM generate_series(1, 3000) g",
        (ME,),
    )
    conn.execute(f"ANALYZE {schema}.workflows")
    start(conn, schema, [f"p{i}" for i in range(1000)])
    finish = for_schema(schema)["finish_workflows"]
    assert_finds_by_id(generic_plan(conn, finish, FINISH_TYPES, finish_params([f"p{i}" for i in range(20)])))


def test_finish_changes_only_pending_rows_of_this_executor(conn: psycopg.Connection[Any], schema: str) -> None:
    start(conn, schema, ["mine", "done", "cancelled"])
    start(conn, schema, ["theirs"], me="other")
    conn.execute(f"UPDATE {schema}.workflows SET status = 'SUCCESS' WHERE workflow_id = 'done'")
    conn.execute(f"UPDATE {schema}.workflows SET status = 'CANCELLED' WHERE workflow_id = 'cancelled'")
    ids = ["mine", "done", "cancelled", "theirs", "absent"]
    params = finish_params(ids) | {"statuses": ["ERROR"] * len(ids)}
    for _ in range(8):  # past psycopg's and the server's thresholds, so the cached plan runs too
        conn.execute(for_schema(schema)["finish_workflows"], params)
        conn.execute(f"UPDATE {schema}.workflows SET status = 'PENDING' WHERE workflow_id = 'mine'")
    conn.execute(for_schema(schema)["finish_workflows"], params)
    rows = dict(conn.execute(f"SELECT workflow_id, status FROM {schema}.workflows").fetchall())
    assert rows == {"mine": "ERROR", "done": "SUCCESS", "cancelled": "CANCELLED", "theirs": "PENDING"}


def first_success_params(ids: list[str]) -> dict[str, Any]:
    n = len(ids)
    return {
        "wids": ids,
        "sids": [1] * n,
        "names": ["s"] * n,
        "kinds": ["step"] * n,
        "maxes": [1] * n,
        "outputs": ["1"] * n,
        "children": [None] * n,
        "starteds": ["2026-12-01T00:00:00Z"] * n,
        "skews": [0.0] * n,
        "owners": [ME] * n,
        "later": "on",
    }


def test_merged_checkpoints_find_their_owners_by_id_on_a_young_table(
    conn: psycopg.Connection[Any], schema: str
) -> None:
    """The owner check of merged first successes, alone and joint with a finish: with the array counted as ten rows,
    a young table's generic plan hashed it and read every workflow at every merged checkpoint."""
    sql = for_schema(schema)
    start(conn, schema, [f"p{i}" for i in range(2000)])
    steps = first_success_params([f"p{i}" for i in range(10)])
    assert_finds_by_id(generic_plan(conn, sql["record_first_successes"], FIRST_SUCCESS_TYPES, steps))
    joint = steps | finish_params([f"p{i}" for i in range(10, 20)])
    types = FIRST_SUCCESS_TYPES | FINISH_TYPES
    assert_finds_by_id(generic_plan(conn, sql["record_first_successes_and_finish"], types, joint), scans=2)
