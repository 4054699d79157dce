"""The embedded Postgres: pgserver in ./.durable, or initdb/pg_ctl from PATH, or one clear error."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from engine import DatabaseUnavailable, Engine, embedded, step, workflow
from engine.config import describe_url
from engine.database import resolve_database_url


@step(name="emb.hello")
def hello(name):
    return f"hello {name}"


@workflow(name="emb.wf")
def greet(name):
    return hello(name)


def test_default_is_embedded_pgserver_in_dot_durable(tmp_path, monkeypatch):
    pytest.importorskip("pgserver")
    monkeypatch.delenv("DURABLE_DATABASE_URL", raising=False)
    monkeypatch.delenv("DURABLE_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    url = resolve_database_url()
    try:
        assert (tmp_path / ".durable" / "pgdata").is_dir()
        assert resolve_database_url() == url  # a second process (or call) reuses the running server
        with Engine(executor_id="emb") as eng:
            assert eng.run_workflow(greet, "there") == "hello there"
    finally:
        pid = embedded.running_pid(tmp_path / ".durable")
        assert pid is not None
        embedded.stop_server(pid)
        assert embedded.running_pid(tmp_path / ".durable") is None


def test_fallback_to_initdb_and_pg_ctl():
    if embedded._find("pg_ctl") is None:
        pytest.skip("no pg_ctl on this machine")
    parent = Path(tempfile.mkdtemp(prefix="durable-fallback-"))
    parent.chmod(0o755)  # run as root, the server runs as `postgres`, which must reach its directory
    pgdata = parent / "pgdata-local"
    url = embedded._pg_ctl_url(pgdata)
    try:
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        subprocess.run(
            [
                *embedded._as_server_owner(pgdata),
                embedded._find("pg_ctl"),
                "-D",
                str(pgdata),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(parent, ignore_errors=True)


def test_no_postgres_at_all_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded, "_find", lambda tool: None)
    with pytest.raises(DatabaseUnavailable, match=r"\$DURABLE_DATABASE_URL"):
        embedded._pg_ctl_url(tmp_path / "nothing")


def test_describe_url_never_shows_the_password():
    assert describe_url("postgresql://app:s3cret@db.example:6543/orders") == "app@db.example:6543/orders"
    assert "s3cret" not in describe_url("host=db password=s3cret dbname=x")
