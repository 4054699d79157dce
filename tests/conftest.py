"""Fixtures: a real Postgres ($DURABLE_DATABASE_URL, else the embedded one) and a fresh schema per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from engine import Control, Engine
from engine.config import ENV_URL

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get(ENV_URL)
    if url:
        yield url
        return
    from engine.embedded import embedded_url, running_pid, stop_server

    data = tmp_path_factory.mktemp("embedded")
    url = embedded_url(data)
    os.environ[ENV_URL] = url
    yield url
    pid = running_pid(data)
    if pid is not None:  # the embedded server this session started must not outlive it
        stop_server(pid)


@pytest.fixture
def schema(database_url: str) -> Iterator[str]:
    """Each test gets its own schema, dropped afterwards: tests never see each other's rows."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture
def make_engine(database_url: str, schema: str) -> Iterator:
    """Build launched engines on the test's schema with fast heartbeats; all are shut down at the end."""
    engines: list[Engine] = []

    def make(executor_id: str | None = None, **kwargs) -> Engine:
        kwargs.setdefault("heartbeat_seconds", 0.1)
        kwargs.setdefault("lease_seconds", 1.0)
        eng = Engine(database_url, executor_id or f"exec-{uuid.uuid4().hex[:6]}", schema=schema, **kwargs)
        engines.append(eng.launch())
        return eng

    yield make
    for eng in reversed(engines):
        eng.shutdown(wait=True)


@pytest.fixture
def engine(make_engine) -> Engine:
    return make_engine()


@pytest.fixture
def control(database_url: str, schema: str) -> Iterator[Control]:
    with Control(database_url, schema=schema, lease_seconds=1.0) as ctl:
        yield ctl


@pytest.fixture
def workers(database_url: str, schema: str, tmp_path: Path) -> Iterator:
    """Start `tests.worker_app` (or `module`) worker processes, stopped at the end; each counts its steps in
    tmp_path."""
    from tests.helpers import Worker

    started: list[Worker] = []

    def start(executor_id: str, module: str = "tests.worker_app", **env: str) -> Worker:
        worker = Worker(database_url, schema, executor_id, tmp_path, module=module, **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
