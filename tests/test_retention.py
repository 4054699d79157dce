"""Retention: finished workflows older than an age go, with their rows in every table, a batch at a time,
without blocking a running workflow's checkpoints; by a worker (`Engine(retention_seconds=...)`), by
`Control.delete_older_than`, and by `durable-tui workflows delete --older-than`."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from engine import Control, Engine, close_stream, set_event, step, workflow, write_stream
from engine.clock import VirtualClock
from engine.errors import InvalidInput
from engine.states import Operation, allowed_sources
from tests.helpers import wait_for
from tui.cli import main

TABLES = ("workflows", "steps", "attempts", "messages", "events", "streams")
GATE = threading.Event()
FLAKY: dict[str, int] = {}


@step(name="ret_flaky", max_attempts=3, interval_seconds=0.001)
def flaky(wid: str) -> int:
    FLAKY[wid] = FLAKY.get(wid, 0) + 1
    if FLAKY[wid] == 1:
        raise RuntimeError("first attempt fails")
    return FLAKY[wid]


@step(name="ret_wait_gate")
def wait_gate() -> None:
    GATE.wait(10)


@step(name="ret_noop")
def noop(i: int) -> int:
    return i


@workflow(name="ret_talker")
def talker(wid: str, fail: bool = False) -> int:
    """Leaves a row in every table: steps, a failed attempt, an event, a stream (a message is sent to it)."""
    set_event("k", 1)
    write_stream("s", "v")
    close_stream("s")
    value = flaky(wid)
    if fail:
        raise ValueError("fails on purpose")
    return value


@workflow(name="ret_blocked")
def blocked() -> str:
    wait_gate()
    return "done"


@workflow(name="ret_steps")
def many_steps(n: int) -> int:
    return sum(noop(i) for i in range(n))


@pytest.fixture(autouse=True)
def _open_gate() -> object:
    GATE.clear()
    yield
    GATE.set()


def sql(database_url: str, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else []


def rows_of(database_url: str, schema: str, ids: list[str]) -> dict[str, int]:
    """Rows of these workflows in each table."""
    return {
        table: sql(database_url, f"SELECT count(*) FROM {schema}.{table} WHERE workflow_id = ANY(%s)", (ids,))[0][0]
        for table in TABLES
    }


def age(database_url: str, schema: str, ids: list[str], seconds: int = 7200) -> None:
    """Make these finished workflows look as if they finished `seconds` earlier."""
    sql(
        database_url,
        f"UPDATE {schema}.workflows SET finished_at = finished_at - make_interval(secs => %s) "
        "WHERE workflow_id = ANY(%s)",
        (seconds, ids),
    )


def old_rows(database_url: str, schema: str, count: int, prefix: str = "old") -> None:
    """`count` workflows that finished two hours ago, each with a step and an attempt (built by SQL: fast)."""
    for statement in (
        f"""INSERT INTO {schema}.workflows (workflow_id, name, status, created_at, finished_at)
        SELECT %(p)s || i, 'ret_bulk', 'SUCCESS', now() - interval '3 hours', now() - interval '2 hours'
        FROM generate_series(1, %(n)s) i""",
        f"""INSERT INTO {schema}.steps (workflow_id, step_id, name, status)
        SELECT %(p)s || i, 1, 'ret_noop', 'SUCCESS' FROM generate_series(1, %(n)s) i""",
        f"""INSERT INTO {schema}.attempts (workflow_id, step_id, attempt, started_at)
        SELECT %(p)s || i, 1, 1, now() FROM generate_series(1, %(n)s) i""",
    ):
        sql(database_url, statement, {"p": prefix, "n": count})


def finish_talkers(engine: Engine, ids: list[str]) -> None:
    for wid in ids:
        handle = engine.start_workflow(talker, wid, fail=wid.endswith("error"), workflow_id=wid)
        with pytest.raises(ValueError) if wid.endswith("error") else contextlib.nullcontext():
            handle.result(timeout=10)
        assert engine.send(wid, {"late": True}, topic="t")


def test_the_finished_statuses_are_those_delete_applies_to() -> None:
    """The retention statements name SUCCESS, ERROR and CANCELLED literally (the partial index needs them)."""
    assert sorted(allowed_sources(Operation.DELETE)) == ["CANCELLED", "ERROR", "SUCCESS"]


def test_deletes_only_old_finished_workflows_with_their_rows_everywhere(
    engine: Engine, control: Control, database_url: str, schema: str
) -> None:
    old = ["old-success", "old-error"]
    finish_talkers(engine, [*old, "recent"])
    engine.start_workflow(blocked, workflow_id="old-cancelled")
    wait_for(lambda: engine.get_workflow("old-cancelled").steps)
    control.cancel("old-cancelled")
    GATE.set()
    wait_for(lambda: engine.get_workflow("old-cancelled").status == "CANCELLED")
    old.append("old-cancelled")
    GATE.clear()
    engine.start_workflow(blocked, workflow_id="running")
    control.enqueue_workflow("ret_unregistered", workflow_id="enqueued")
    age(database_url, schema, old)
    before = rows_of(database_url, schema, old)
    assert all(before[t] > 0 for t in TABLES), before

    assert control.delete_older_than(3600, dry_run=True) == 3
    assert rows_of(database_url, schema, old) == before
    assert control.delete_older_than(3600) == 3
    assert rows_of(database_url, schema, old) == dict.fromkeys(TABLES, 0)

    kept = rows_of(database_url, schema, ["recent"])
    assert all(kept[t] > 0 for t in TABLES), kept
    assert {w.workflow_id for w in control.list_workflows()} == {"recent", "running", "enqueued"}
    GATE.set()


def test_a_finished_parent_stays_while_its_child_runs(
    engine: Engine, control: Control, database_url: str, schema: str
) -> None:
    finish_talkers(engine, ["parent"])
    engine.start_workflow(blocked, workflow_id="child")
    wait_for(lambda: engine.get_workflow("child").steps)
    sql(database_url, f"UPDATE {schema}.workflows SET parent_workflow_id = 'parent' WHERE workflow_id = 'child'")
    age(database_url, schema, ["parent"])
    assert control.delete_older_than(3600) == 0
    GATE.set()
    engine.retrieve_workflow("child").result(timeout=5)
    assert control.delete_older_than(3600) == 1
    assert rows_of(database_url, schema, ["parent"])["workflows"] == 0


def test_more_rows_than_a_batch_go_a_batch_at_a_time(
    engine: Engine, control: Control, database_url: str, schema: str
) -> None:
    old_rows(database_url, schema, 2500)
    assert engine.store.retention.delete_batch(3600, limit=1000) == 1000
    assert control.delete_older_than(3600, dry_run=True) == 1500
    assert control.delete_older_than(3600) == 1500
    assert sql(database_url, f"SELECT count(*) FROM {schema}.steps")[0][0] == 0
    assert sql(database_url, f"SELECT count(*) FROM {schema}.attempts")[0][0] == 0


def test_checkpoints_go_on_while_a_sweep_holds_its_rows(engine: Engine, database_url: str, schema: str) -> None:
    """A batch of 3000 deletions is left uncommitted (its row locks and advisory lock held) while a workflow
    records 50 steps: it finishes, and a second sweep gives way instead of waiting."""
    old_rows(database_url, schema, 3000)
    store = engine.store.retention
    with psycopg.connect(database_url) as conn:
        assert store.batch_in(conn, 3600, 0.0, 5000, wait=True) == 3000
        assert engine.start_workflow(many_steps, 50).result(timeout=5) == sum(range(50))
        assert store.delete_batch(3600, wait=False) is None
        conn.rollback()
    assert store.delete_batch(3600, wait=False) == 1000


def test_a_worker_sweeps_on_its_clock(make_engine: Callable[..., Engine], database_url: str, schema: str) -> None:
    clock = VirtualClock()
    engine = make_engine(clock=clock, retention_seconds=3600)
    assert engine.retention is not None
    finish_talkers(engine, ["first", "second"])
    assert rows_of(database_url, schema, ["first", "second"])["workflows"] == 2
    clock.advance(7200)
    wait_for(lambda: rows_of(database_url, schema, ["first", "second"]) == dict.fromkeys(TABLES, 0), timeout=5)
    finish_talkers(engine, ["third"])
    engine.start_workflow(blocked, workflow_id="running")
    clock.advance(1800)
    assert engine.retention.sweep() == 0
    assert {w.workflow_id for w in engine.control.list_workflows()} == {"third", "running"}
    GATE.set()


def test_a_worker_sweeps_when_the_oldest_comes_of_age(make_engine: Callable[..., Engine]) -> None:
    """On the real clock, with nothing to poll: the service sleeps until the workflow is 0.3 s old, then deletes."""
    engine = make_engine(retention_seconds=0.3, heartbeat_seconds=5.0)
    finish_talkers(engine, ["young"])
    assert engine.get_workflow("young").status == "SUCCESS"
    wait_for(lambda: not engine.control.list_workflows(), timeout=3)
    assert engine.retention is not None and engine.retention.deleted == 1


def test_a_worker_finding_a_sweep_in_progress_looks_again_a_beat_later(
    make_engine: Callable[..., Engine], control: Control, database_url: str, schema: str
) -> None:
    old_rows(database_url, schema, 10)
    with psycopg.connect(database_url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{schema}.retention",))
        engine = make_engine(retention_seconds=3600)
        time.sleep(0.3)
        assert control.delete_older_than(3600, dry_run=True) == 10
        conn.commit()
    wait_for(lambda: control.delete_older_than(3600, dry_run=True) == 0, timeout=3)
    assert engine.retention is not None and engine.retention.deleted == 10


def test_retention_is_off_by_default_and_checked(engine: Engine) -> None:
    assert engine.retention is None
    with pytest.raises(InvalidInput, match="retention_seconds must be a number"):
        Engine(retention_seconds=-1)
    for age in (0, None):
        with pytest.raises(InvalidInput, match="the age must be a number"):
            engine.control.delete_older_than(age)  # type: ignore[arg-type]


def test_cli_delete_older_than(
    engine: Engine, database_url: str, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    finish_talkers(engine, ["cli-old", "cli-new"])
    age(database_url, schema, ["cli-old"], 8 * 86400)

    def cli(*args: str) -> tuple[int, str, str]:
        code = main(["workflows", "delete", *args, "--database-url", database_url, "--schema", schema])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = cli("--older-than", "7d", "--dry-run")
    assert (code, out.strip(), err) == (0, "would delete 1 workflow(s) finished more than 7d ago", "")
    code, out, _ = cli("--older-than", "7d", "--json")
    assert code == 0 and json.loads(out) == {
        "action": "delete",
        "count": 1,
        "older_than_seconds": 7 * 86400,
        "dry_run": False,
    }
    assert rows_of(database_url, schema, ["cli-old"])["workflows"] == 0
    assert rows_of(database_url, schema, ["cli-new"])["workflows"] == 1

    code, out, err = cli("--older-than", "7x")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "durable-tui workflows delete: error: argument --older-than: '7x' is not a duration: "
        "a number and a unit, e.g. 30s, 15m, 12h, 7d (see --help)"
    ]
    code, _, err = cli("cli-new", "--older-than", "15m")
    assert code == 2 and "takes no workflow id" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("--dry-run")
    assert code == 2 and "--dry-run goes with --older-than" in err
