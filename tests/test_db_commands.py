"""`durable-tui db status|stop|url` on the embedded Postgres of a fresh directory: none, started, stopped."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from engine.embedded import embedded_status, stop_server
from tui.cli import main


@pytest.fixture
def fresh_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with no database configured: the commands use its ./.durable."""
    monkeypatch.chdir(tmp_path)
    for name in ("DURABLE_DATABASE_URL", "DURABLE_DATA_DIR", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path
    pid = embedded_status(tmp_path / ".durable").pid
    if pid is not None:
        stop_server(pid)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    def call(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return call


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_status_url_stop_of_the_embedded_database(fresh_dir: Path, cli) -> None:
    data = fresh_dir / ".durable"
    code, out, _ = cli("db", "status")
    assert code == 0 and "state      none: no embedded database was created here" in out
    assert not (data / "pgdata").exists(), "status never creates or starts a database"
    assert cli("db", "stop")[1].strip() == "no embedded database here: nothing to stop"

    code, url, _ = cli("db", "url")  # like every command that needs the database, it starts it
    assert code == 0 and url.startswith("postgresql://postgres@/postgres?host=") and ":@" not in url
    with psycopg.connect(url.strip()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)

    code, out, _ = cli("db", "status", "--json")
    status = json.loads(out)
    pid = status["pid"]
    assert status["running"] and alive(pid) and status["size_bytes"] > 1_000_000
    assert status["data_dir"] == str(data) and status["url"].startswith("postgresql://postgres@/postgres?host=")
    code, out, _ = cli("db", "status")
    assert f"state      running, pid {pid}" in out and "size       " in out and "MB" in out

    code, out, _ = cli("db", "stop")
    assert (code, out.strip()) == (0, f"stopped the embedded Postgres (pid {pid})")
    assert not alive(pid)
    code, out, _ = cli("db", "status")
    assert "state      stopped" in out
    assert cli("db", "stop")[1].strip() == "not running: nothing to stop"


def test_url_never_prints_a_password(fresh_dir: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli("db", "url", "--database-url", "postgresql://app:s3cret@db.example:5432/shop?sslmode=require")
    assert (code, out.strip()) == (0, "postgresql://app@db.example:5432/shop?sslmode=require")
    code, out, _ = cli("db", "url", "--database-url", "host=db user=app password=s3cret dbname=shop")
    assert code == 0 and "s3cret" not in out and "host=db" in out

    monkeypatch.setenv("DURABLE_DATABASE_URL", "postgresql://app:s3cret@db.example/shop")
    code, out, _ = cli("db", "status")
    assert "note       commands here use postgresql://app@db.example/shop" in out and "s3cret" not in out
    assert not (fresh_dir / ".durable" / "pgdata").exists()
