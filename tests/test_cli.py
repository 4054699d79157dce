"""The `durable-tui` CLI, called in-process with `main([...])` against the test's schema, plus one real run
of the installed script: outputs, exit codes, and errors that are one line with no traceback or password."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import pytest

from engine import Engine, step, step_context, workflow
from tests.helpers import wait_for
from tui.cli import main

GATE = threading.Event()
FAIL_STRICT = threading.Event()


@step(name="cli_add")
def add(a: int, b: int) -> int:
    return a + b


@step(name="cli_double")
def double(x: int) -> int:
    return 2 * x


@workflow(name="cli_order")
def order(n: int) -> int:
    return double(add(n, 1)) + double(n)


@step(name="cli_wait_gate")
def wait_gate() -> None:
    GATE.wait(10)


@workflow(name="cli_blocked")
def blocked() -> str:
    wait_gate()
    add(1, 1)
    return "released"


@step(name="cli_flaky", interval_seconds=60, max_attempts=2)
def flaky() -> int:
    if step_context().attempt == 1:
        raise RuntimeError("first attempt fails")
    return step_context().attempt


@workflow(name="cli_retrying")
def retrying() -> int:
    return flaky()


@step(name="cli_strict", retries_allowed=False)
def strict() -> str:
    if FAIL_STRICT.is_set():
        raise ValueError("strict step refused")
    return "ok"


@workflow(name="cli_failing")
def failing() -> str:
    return strict()


@pytest.fixture
def gate(engine: Engine) -> Iterator[threading.Event]:
    """Blocks `cli_wait_gate` steps until the test ends (released before the engine shuts down)."""
    GATE.clear()
    yield GATE
    GATE.set()


@pytest.fixture
def cli(database_url: str, schema: str, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run `durable-tui ARGS --database-url ... --schema ...`; return (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--database-url", database_url, "--schema", schema])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def wait_status(engine: Engine, workflow_id: str, *statuses: str, timeout: float = 5.0) -> str:
    return wait_for(lambda: (status := engine.retrieve_workflow(workflow_id).status()) in statuses and status, timeout)


def wait_step(engine: Engine, workflow_id: str, status: str, timeout: float = 5.0) -> None:
    wait_for(lambda: (steps := engine.get_workflow(workflow_id).steps) and steps[-1].status == status, timeout)


def test_list_show_and_json(engine: Engine, cli) -> None:
    engine.run_workflow(order, 3, workflow_id="o-1")
    engine.run_workflow(order, 5, workflow_id="o-2")

    code, out, err = cli("workflows", "list")
    assert code == 0 and err == ""
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["ID", "NAME", "STATUS"]
    assert [r.split()[:3] for r in rows] == [["o-2", "cli_order", "SUCCESS"], ["o-1", "cli_order", "SUCCESS"]]
    assert header.index("STATUS") == rows[0].index("SUCCESS")  # aligned columns

    code, out, _ = cli("workflows", "list", "--json", "--limit", "1")
    data = json.loads(out)
    assert code == 0 and [d["workflow_id"] for d in data] == ["o-2"]
    assert data[0]["created_at"].startswith("20")  # datetimes as ISO strings

    code, out, _ = cli("workflows", "show", "o-1")
    assert code == 0
    assert "o-1" in out and "cli_order" in out and "SUCCESS" in out and "output     14" in out
    assert "cli_add" in out and "cli_double" in out and "attempt 1" in out

    code, out, _ = cli("workflows", "show", "o-1", "--json")
    record = json.loads(out)
    assert record["output"] == 14 and record["inputs"] == {"args": [3], "kwargs": {}}
    assert [s["name"] for s in record["steps"]] == ["cli_add", "cli_double", "cli_double"]
    assert record["steps"][0]["attempt_records"][0]["attempt"] == 1

    code, out, _ = cli("workflows", "list", "--status", "error", "--json")
    assert code == 0 and json.loads(out) == []


def test_cancel_one_and_bulk(engine: Engine, gate: threading.Event, cli) -> None:
    for i in range(3):
        engine.start_workflow(blocked, workflow_id=f"b-{i}")
    for i in range(3):
        wait_step(engine, f"b-{i}", "RUNNING")

    code, out, err = cli("workflows", "cancel", "b-0")
    assert (code, out.strip(), err) == (0, "cancelled 1 workflow(s): b-0", "")

    code, out, _ = cli("workflows", "cancel", "--status", "PENDING", "--name", "cli_blocked", "--json")
    assert code == 0 and json.loads(out)["count"] == 2
    gate.set()
    assert {wait_status(engine, f"b-{i}", "CANCELLED") for i in range(3)} == {"CANCELLED"}
    steps = engine.get_workflow("b-1").steps
    assert [s.name for s in steps] == ["cli_wait_gate"]  # the running step finished, its successor never ran

    code, out, err = cli("workflows", "cancel", "b-1")
    assert code == 2 and out == ""
    assert err.strip() == "durable-tui: error: workflow 'b-1' is CANCELLED: only PENDING or ENQUEUED can be cancelled"


def test_resume_and_delete(engine: Engine, cli) -> None:
    FAIL_STRICT.set()
    try:
        engine.start_workflow(failing, workflow_id="f-1")
        assert wait_status(engine, "f-1", "ERROR") == "ERROR"
    finally:
        FAIL_STRICT.clear()
    code, out, _ = cli("workflows", "show", "f-1")
    assert "error      ValueError: strict step refused" in out

    code, out, _ = cli("workflows", "resume", "f-1")
    assert (code, out.strip()) == (0, "resumed 1 workflow(s): f-1")
    assert engine.retrieve_workflow("f-1").result(timeout=5) == "ok"

    code, _, err = cli("workflows", "delete", "--status", "PENDING")
    assert code == 0
    code, out, _ = cli("workflows", "delete", "--all")
    assert (code, out.strip()) == (0, "deleted 1 workflow(s)")
    code, _, err = cli("workflows", "show", "f-1")
    assert code == 2 and err.strip() == "durable-tui: error: no workflow with id 'f-1'"


def test_retry_now_skips_the_wait(engine: Engine, cli) -> None:
    handle = engine.start_workflow(retrying, workflow_id="r-1")
    wait_step(engine, "r-1", "WAITING_RETRY")
    code, out, _ = cli("workflows", "retry-now", "r-1")
    assert (code, out.strip()) == (0, "retry now: r-1")
    assert handle.result(timeout=5) == 2

    code, _, err = cli("workflows", "retry-now", "r-1")
    assert code == 2 and err.strip() == "durable-tui: error: workflow 'r-1' has no step waiting to retry"


def test_fork_from_step(engine: Engine, cli) -> None:
    engine.run_workflow(order, 3, workflow_id="o-1")
    code, out, _ = cli("workflows", "fork", "o-1", "--from-step", "2", "--new-id", "o-1-again")
    assert (code, out.strip()) == (0, "o-1-again")
    assert engine.retrieve_workflow("o-1-again").result(timeout=5) == 14
    record = engine.get_workflow("o-1-again")
    assert (record.forked_from, record.forked_from_step) == ("o-1", 2)

    code, out, err = cli("workflows", "fork", "o-1", "--from-step", "9")
    assert code == 2 and out == "" and "cannot fork from step 9" in err and len(err.splitlines()) == 1


def test_recover_refuses_a_live_or_finished_workflow(engine: Engine, gate: threading.Event, cli) -> None:
    engine.start_workflow(blocked, workflow_id="b-live")
    wait_step(engine, "b-live", "RUNNING")
    code, _, err = cli("workflows", "recover", "b-live")
    assert code == 2 and "runs on live executor" in err
    code, out, _ = cli("workflows", "recover", "--all", "--json")
    assert code == 0 and json.loads(out)["count"] == 0


def test_faults_add_list_clear(engine: Engine, cli) -> None:
    code, out, _ = cli("faults", "add", "--kind", "fail", "--step", "cli_add", "--count", "2", "--message", "boom")
    assert code == 0
    first = int(out)
    code, out, _ = cli(
        "faults", "add", "--kind", "delay", "--step", "cli_double", "--delay", "0.5", "--every", "--ttl", "60", "--json"
    )
    second = json.loads(out)["fault_id"]

    code, out, _ = cli("faults", "list")
    header, *rows = out.splitlines()
    assert code == 0 and header.split()[:3] == ["ID", "KIND", "STEP"]
    assert [r.split()[:5] for r in rows] == [
        [str(first), "fail", "cli_add", "*", "2"],
        [str(second), "delay", "cli_double", "*", "every"],
    ]
    code, out, _ = cli("faults", "list", "--json")
    assert [f["message"] for f in json.loads(out)] == ["boom", "injected fault"]

    code, _, err = cli("faults", "add", "--kind", "fail", "--step", "cli_add", "--phase", "after")
    assert code == 2 and "phase 'after'" in err

    code, out, _ = cli("faults", "clear", str(first))
    assert (code, out.strip()) == (0, "cleared 1 fault(s)")
    code, out, _ = cli("faults", "clear")
    assert (code, out.strip()) == (0, "cleared 1 fault(s)")
    assert cli("faults", "list")[1].strip() == "no faults"


def test_workers(engine: Engine, cli) -> None:
    code, out, _ = cli("workers")
    assert code == 0
    header, row = out.splitlines()
    assert row.split()[:2] == [engine.executor_id, "alive"] and "cli_order" in row
    code, out, _ = cli("workers", "--json")
    [worker] = json.loads(out)
    assert worker["executor_id"] == engine.executor_id and worker["alive"] is True


@pytest.mark.parametrize(
    "args",
    [
        ["workflows", "cancel"],
        ["workflows", "cancel", "x", "--status", "PENDING"],
        ["workflows", "list", "--status", "NOPE"],
        ["workflows", "frobnicate"],
        ["faults", "add", "--kind", "fail"],
    ],
)
def test_usage_errors_exit_2(cli, args: list[str]) -> None:
    code, out, err = cli(*args)
    assert code == 2 and out == "" and "error:" in err and "Traceback" not in err


def test_options_before_the_subcommand(database_url: str, schema: str, capsys) -> None:
    assert main(["--database-url", database_url, "--schema", schema, "workflows", "list"]) == 0
    assert capsys.readouterr().out.strip() == "no workflows"


def test_unreachable_database_is_one_line_without_password(capsys) -> None:
    code = main(["workflows", "list", "--database-url", "postgresql://u:secret@127.0.0.1:1/x"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "127.0.0.1" in err
    assert "secret" not in err


def test_installed_script_lists_json(engine: Engine, database_url: str, schema: str) -> None:
    engine.run_workflow(order, 1, workflow_id="o-script")
    script = shutil.which("durable-tui") or shutil.which("durable-tui", path=str(sys.prefix) + "/bin")
    assert script, "the durable-tui console script is not installed"
    proc = subprocess.run(
        [script, "workflows", "list", "--json", "--database-url", database_url, "--schema", schema],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert [w["workflow_id"] for w in json.loads(proc.stdout)] == ["o-script"]


def test_unreachable_database_from_the_script() -> None:
    script = shutil.which("durable-tui") or shutil.which("durable-tui", path=str(sys.prefix) + "/bin")
    proc = subprocess.run(
        [script, "workers", "--database-url", "postgresql://u:secret@127.0.0.1:1/x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "secret" not in proc.stderr


def test_no_subcommand_opens_the_dashboard(monkeypatch: pytest.MonkeyPatch) -> None:
    import tui.app

    calls = []
    monkeypatch.setattr(tui.app, "run_dashboard", lambda *a, **k: calls.append((a, k)) or 0)
    assert main(["--read-only", "--schema", "s_one"]) == 0
    assert calls == [((None, True), {"schema": "s_one"})]


def test_demo_subcommand_passes_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    import demo_app.launcher

    calls = []
    monkeypatch.setattr(demo_app.launcher, "run_demo", lambda **k: calls.append(k) or 3)
    assert main(["demo", "--database-url", "postgresql://x@h/db", "--count", "5"]) == 3
    assert calls == [{"database_url": "postgresql://x@h/db", "rate": "2/s", "count": 5, "schema": "durable"}]


def test_dashboard_on_an_unreachable_database_is_one_line(capsys) -> None:
    code = main(["--database-url", "postgresql://u:secret@127.0.0.1:1/x"])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "secret" not in out + err


WORKER = """
import sys, threading
from engine import Engine
with Engine(sys.argv[1], sys.argv[3], schema=sys.argv[2], heartbeat_seconds=0.1):
    print("ready", flush=True)
    threading.Event().wait()
"""


def test_faults_crash_worker_kills_a_live_worker(database_url: str, schema: str, cli) -> None:
    code, _, err = cli("faults", "crash-worker", "nobody")
    assert code == 2 and err.strip() == "durable-tui: error: no worker with executor id 'nobody'"
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, database_url, schema, "doomed"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        code, out, _ = cli("faults", "crash-worker", "doomed")
        assert (code, out.strip()) == (0, "crash sent to worker doomed")
        assert proc.wait(timeout=10) == -9
    finally:
        proc.kill()
