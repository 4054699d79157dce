"""Database rights and secrets, on a private Postgres that checks passwords (scram), with two roles:

- `durable_worker` owns the schema and nothing else (no superuser, no CREATE on the database, no TEMP);
- `durable_reader` has USAGE on the schema and SELECT on its tables, nothing more.

A worker runs under the first; the CLI and `durable-tui --read-only` under the second, which can read
everything and change nothing, not even through the CLI. No password shows anywhere.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from engine import Control
from tests.helpers import Worker, wait_for
from tests.private_pg import PrivatePostgres
from tests.tui_data import make_app, run, settle, until
from tui.cli import main
from tui.workflows import WorkflowsScreen

SCHEMA = "sec"
WORKER_PASSWORD = "w0rker-Pa55-xyzzy"
READER_PASSWORD = "re4der-Pa55-plugh"
SECRETS = (WORKER_PASSWORD, READER_PASSWORD, "wrong-Pa55-frotz", "unreach-Pa55-gnusto")


@pytest.fixture(scope="module")
def pg() -> Iterator[PrivatePostgres]:
    """The grants the README documents, and nothing else (TEMP revoked to show it is not needed)."""
    with PrivatePostgres(passwords=True) as server:
        for statement in (
            "REVOKE TEMP ON DATABASE postgres FROM PUBLIC",
            f"CREATE ROLE durable_worker LOGIN PASSWORD '{WORKER_PASSWORD}'",
            f"CREATE ROLE durable_reader LOGIN PASSWORD '{READER_PASSWORD}'",
            f"CREATE SCHEMA {SCHEMA} AUTHORIZATION durable_worker",
            f"GRANT USAGE ON SCHEMA {SCHEMA} TO durable_reader",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE durable_worker IN SCHEMA {SCHEMA} "
            "GRANT SELECT ON TABLES TO durable_reader",
        ):
            server.execute(statement)
        yield server


@pytest.fixture(scope="module")
def worker(pg: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """A worker under the owner role; it migrates the schema. Seeds one workflow in each interesting state."""
    proc = Worker(pg.url("durable_worker", WORKER_PASSWORD), SCHEMA, "sec-worker", tmp_path_factory.mktemp("sec"))
    with Control(pg.url("durable_worker", WORKER_PASSWORD), schema=SCHEMA) as ctl:
        ctl.enqueue_workflow("w.five_steps", 1, workflow_id="done")
        wait_for(lambda: ctl.get_workflow("done").status == "SUCCESS")
        ctl.enqueue_workflow("nobody.runs", workflow_id="queued")
        ctl.enqueue_workflow("nobody.runs", workflow_id="stopped")
        ctl.cancel("stopped")
        ctl.add_fault("fail", "w.one", count=3)
        wait_for(lambda: ctl.get_workflow("queued").wait_reason)  # the worker's last own change to these rows
    yield proc
    proc.stop()


def _rows(pg: PrivatePostgres) -> tuple[object, ...]:
    with psycopg.connect(pg.url(), autocommit=True) as conn:
        return tuple(
            conn.execute(
                f"SELECT coalesce(string_agg(t::text, '|' ORDER BY t::text), '') FROM {SCHEMA}.{table} t"
            ).fetchone()[0]  # type: ignore[index]
            for table in ("workflows", "steps", "attempts", "faults")
        )


def _screen_text(app) -> str:  # type: ignore[no-untyped-def]
    """What the terminal shows, as text (the SVG export escapes spaces)."""
    return html.unescape(app.export_screenshot()).replace("\xa0", " ")


def _cli(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--database-url", url, "--schema", SCHEMA])
    out, err = capsys.readouterr()
    assert not any(secret in out + err for secret in SECRETS)
    return code, out, err


def test_the_reader_reads_everything(pg: PrivatePostgres, worker: Worker, capsys) -> None:
    reader = pg.url("durable_reader", READER_PASSWORD)
    code, out, _ = _cli(capsys, reader, "workflows", "list")
    assert code == 0 and {"done", "queued", "stopped"} <= set(out.split())
    assert _cli(capsys, reader, "workflows", "show", "done")[0] == 0
    code, out, _ = _cli(capsys, reader, "workers")
    assert code == 0 and "sec-worker" in out and "alive" in out
    assert _cli(capsys, reader, "faults", "list")[0] == 0


MUTATIONS = [
    ["workflows", "cancel", "queued"],
    ["workflows", "cancel", "--all"],
    ["workflows", "resume", "stopped"],
    ["workflows", "resume", "--all"],
    ["workflows", "delete", "done"],
    ["workflows", "delete", "--all"],
    ["workflows", "fork", "done", "--from-step", "2"],
    ["faults", "add", "--kind", "fail", "--step", "w.two"],
    ["faults", "clear"],
    ["faults", "crash-worker", "sec-worker"],
]


@pytest.mark.parametrize("args", MUTATIONS, ids=[" ".join(a) for a in MUTATIONS])
def test_the_reader_changes_nothing_through_the_cli(pg: PrivatePostgres, worker: Worker, capsys, args) -> None:
    before = _rows(pg)
    code, out, err = _cli(capsys, pg.url("durable_reader", READER_PASSWORD), *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "not allowed for this database role" in err and "permission denied" in err
    assert _rows(pg) == before
    assert worker.proc.poll() is None  # the crash order was refused too


def test_read_only_dashboard_under_the_reader(pg: PrivatePostgres, worker: Worker) -> None:
    before = _rows(pg)
    with Control(pg.url("durable_reader", READER_PASSWORD), schema=SCHEMA) as control:

        async def scenario() -> None:
            app = make_app(control, clock=None, where=None, read_only=True)
            async with app.run_test(size=(160, 30)) as pilot:
                await settle(pilot)
                screen = app.screen
                assert isinstance(screen, WorkflowsScreen)
                await until(pilot, lambda: {r.workflow_id for r in screen.page} == {"done", "queued", "stopped"})
                for key in ("k", "r", "d", "f", "K", "R", "D", "x"):
                    await pilot.press(key)
                    await pilot.press("enter")
                    await settle(pilot)
                await pilot.press("2")
                await settle(pilot)
                text = _screen_text(app)
                assert "durable_reader@" in text and "[read-only]" in text
                assert not any(secret in text for secret in SECRETS)

        run(scenario)
    assert _rows(pg) == before and worker.proc.poll() is None


def test_no_password_in_errors(pg: PrivatePostgres, worker: Worker, capsys, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    cases = {
        "unreachable": ("postgresql://u:unreach-Pa55-gnusto@127.0.0.1:1/x", SCHEMA, "cannot reach Postgres"),
        "wrong password": (pg.url("durable_reader", "wrong-Pa55-frotz"), SCHEMA, "password authentication failed"),
        "missing schema": (pg.url("durable_reader", READER_PASSWORD), "nowhere", "may not create or upgrade it"),
    }
    for label, (url, schema, expected) in cases.items():
        code = main(["workflows", "list", "--database-url", url, "--schema", schema])
        out, err = capsys.readouterr()
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (label, err)
        assert expected in err, (label, err)
        assert not any(secret in err for secret in SECRETS), label
    assert not any(secret in caplog.text for secret in SECRETS)


def test_no_password_in_the_worker_log_or_the_dashboard_through_an_outage(
    pg: PrivatePostgres, worker: Worker, tmp_path: Path
) -> None:
    """Last in the module: it restarts the database under the worker, which logs its reconnects."""
    with Control(pg.url("durable_reader", READER_PASSWORD), schema=SCHEMA) as control:

        async def scenario() -> None:
            app = make_app(control, clock=None, where=None, read_only=True)
            async with app.run_test(size=(160, 30)) as pilot:
                await settle(pilot)
                await asyncio.to_thread(pg.stop, "immediate")
                await until(pilot, lambda: app.connected is False)
                await pilot.pause(0.5)  # the worker's heartbeat and listener fail meanwhile
                down = _screen_text(app)
                assert "DATABASE UNREACHABLE" in down
                assert not any(secret in down for secret in SECRETS)
                await asyncio.to_thread(pg.start)
                await until(pilot, lambda: app.connected is True, timeout=15)

        run(scenario)
    worker.stop()
    log = worker.proc.stderr.read() if worker.proc.stderr else ""
    assert "cannot reach Postgres" in log or "heartbeat failed" in log or "lost its connection" in log, log
    assert not any(secret in log for secret in SECRETS)


def test_a_forged_control_message_from_the_reader_changes_nothing(pg: PrivatePostgres, tmp_path: Path) -> None:
    """NOTIFY needs no right at all: a worker must not obey a crash or cancel order that no row change backs.

    Any role that can connect may send on the control channel, so the order itself proves nothing; the
    worker must check the rows (a CANCELLED workflow, a crash request) before it acts.
    """
    owner = pg.url("durable_worker", WORKER_PASSWORD)
    (tmp_path / "hold-three").touch()
    target = Worker(owner, SCHEMA, "sec-forged", tmp_path)
    try:
        with Control(owner, schema=SCHEMA) as ctl:
            ctl.clear_faults()  # the module's worker fixture armed one on w.one
            ctl.enqueue_workflow("w.five_steps", 2, workflow_id="forged-target")
            wait_for(lambda: (tmp_path / "three").exists())
            with psycopg.connect(pg.url("durable_reader", READER_PASSWORD), autocommit=True) as reader:
                for order in ({"op": "cancel", "ids": ["forged-target"]}, {"op": "crash", "executor": "sec-forged"}):
                    reader.execute("SELECT pg_notify(%s, %s)", (f"{SCHEMA}_control", json.dumps(order)))
            (tmp_path / "hold-three").unlink()
            wait_for(lambda: ctl.get_workflow("forged-target").status != "PENDING", timeout=10)
            assert ctl.get_workflow("forged-target").status == "SUCCESS"
        assert target.proc.poll() is None, "a forged crash order killed the worker"
    finally:
        target.stop()
