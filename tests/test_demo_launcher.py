"""`run_demo` (what `durable-tui demo` runs), with the dashboard replaced by a callable.

The launcher starts a real hot-reloading worker and a real load generator; the checks are that work
flows, that the worker writes to its log and not to the terminal, and that nothing outlives it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from demo_app.launcher import LOG_NAME, run_demo
from engine import Control
from tests.conftest import ROOT
from tests.helpers import wait_for

FAST = {
    "DEMO_LATENCY": "0.01",
    "DEMO_PAYMENT_INTERVAL": "0.01",
    "DEMO_COURIER_INTERVAL": "0.01",
    "DEMO_PIPELINE_INTERVAL": "0.01",
    "DEMO_SLOW_SECONDS": "0.2",
    "DEMO_EMAIL_FAILURE_RATE": "0",
}


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for its parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def group_gone(pgid: int) -> bool:
    """No process (the supervisor, its worker, multiprocessing's resource tracker) is left in the group."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.fixture
def demo_env(tmp_path: Path, database_url: str, schema: str, monkeypatch: pytest.MonkeyPatch):
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DURABLE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DEMO_SHOP_SCHEMA", f"{schema}_shop")
    yield tmp_path
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema}_shop CASCADE")


def worker_pids(control: Control) -> list[int]:
    """The live worker and its watchfiles supervisor."""
    worker = wait_for(lambda: [w for w in control.workers() if w.alive], timeout=20, interval=0.05)[0]
    return [worker.pid, parent_of(worker.pid)]


def test_demo_runs_workflows_and_leaves_nothing_behind(
    demo_env: Path, database_url: str, schema: str, control: Control, capfd: pytest.CaptureFixture
) -> None:
    seen: dict[str, list[int]] = {}

    def dashboard(url: str) -> int:
        assert url == database_url
        seen["pids"] = worker_pids(control)
        wait_for(lambda: len(control.list_workflows(status="SUCCESS")) >= 5, timeout=30, interval=0.05)
        return 0

    assert run_demo(database_url, rate="50/s", schema=schema, dashboard=dashboard) == 0

    assert seen["pids"] and not any(running(pid) for pid in seen["pids"])
    wait_for(lambda: group_gone(seen["pids"][1]), timeout=5, interval=0.02)
    assert not [w for w in control.workers() if w.alive]
    ids = {w.workflow_id for w in control.list_workflows(limit=1000)}
    assert "order-0001" in ids and "pipeline-0001" in ids
    log = (demo_env / LOG_NAME).read_text()
    assert "worker local ready" in log and "worker stopped in" in log
    out, err = capfd.readouterr()
    assert "worker local ready" not in out + err, "the worker must not write into the dashboard's terminal"
    assert f"log: {demo_env / LOG_NAME}" in out


def test_ctrl_c_in_the_dashboard_stops_everything(
    demo_env: Path, database_url: str, schema: str, control: Control
) -> None:
    seen: dict[str, list[int]] = {}

    def dashboard(url: str) -> int:
        seen["pids"] = worker_pids(control)
        raise KeyboardInterrupt

    assert run_demo(database_url, schema=schema, dashboard=dashboard) == 130
    assert seen["pids"] and not any(running(pid) for pid in seen["pids"])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_a_killed_launcher_leaves_no_orphan(
    demo_env: Path, database_url: str, schema: str, control: Control, sig: signal.Signals
) -> None:
    """SIGTERM and SIGHUP run the cleanup; SIGKILL runs none, but the worker sees its parent gone and stops."""
    script = (
        "import sys, time\n"
        "from demo_app.launcher import run_demo\n"
        "def dashboard(url):\n"
        "    print('dashboard up', flush=True)\n"
        "    time.sleep(60)\n"
        f"run_demo({database_url!r}, rate='1/s', schema={schema!r}, dashboard=dashboard)\n"
    )
    launcher = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        while "dashboard up" not in (launcher.stdout.readline() if launcher.stdout else "dashboard up"):
            pass
        pids = worker_pids(control)
        launcher.send_signal(sig)
        assert launcher.wait(timeout=10) == -sig
        if sig != signal.SIGKILL:
            assert not any(running(pid) for pid in pids), "stopped before the launcher died"
        wait_for(lambda: not any(running(pid) for pid in pids), timeout=15, interval=0.05)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()


def test_bad_rate_is_one_line(capsys: pytest.CaptureFixture) -> None:
    assert run_demo("postgresql://nobody@127.0.0.1:1/none", rate="fast") == 2
    assert capsys.readouterr().err.strip() == (
        "durable-tui demo: rate must look like 5/s, 30/min or 2 (a positive number per second), not 'fast'"
    )


def test_unreachable_database_is_one_line_without_password(demo_env: Path, capsys: pytest.CaptureFixture) -> None:
    assert run_demo("postgresql://demo:s3cret@127.0.0.1:1/none", dashboard=lambda url: 0) == 1
    err = capsys.readouterr().err
    assert err.startswith("durable-tui demo: cannot reach Postgres at demo@127.0.0.1:1/none")
    assert len(err.strip().splitlines()) == 1 and "s3cret" not in err
    assert not (demo_env / LOG_NAME).exists()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_durable_tui_demo_in_tmux(demo_env: Path, database_url: str, schema: str, control: Control) -> None:
    """The real thing: `durable-tui demo` in a terminal shows demo workflows; `q` stops all of it."""
    session = f"demo-{schema}"
    done = demo_env / "exit-code"
    command = (
        f"cd {demo_env} && {sys.executable} -m tui.cli demo --database-url {shlex.quote(database_url)}"
        f" --schema {schema} --rate 3/s; echo $? > {done}"
    )
    env = [f"-e{key}={os.environ[key]}" for key in (*FAST, "DEMO_SHOP_SCHEMA", "DURABLE_DATA_DIR", "PATH")]
    env.append(f"-ePYTHONPATH={ROOT}")  # this tree's durable-tui, not the one installed
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "40", *env, command], check=True)

    def screen() -> str:
        return subprocess.run(["tmux", "capture-pane", "-t", session, "-p"], capture_output=True, text=True).stdout

    try:
        # The database first (a loaded machine may take a while to finish the first order), then the screen:
        # the header counts what finished, and order rows are listed (newest first, so at 3/s a finished
        # order may already have scrolled off: the count is the check that it finished).
        wait_for(lambda: control.list_workflows(status="SUCCESS"), timeout=60, interval=0.1)
        wait_for(
            lambda: re.search(r"order-\d{4} ", screen()) and re.search(r"SUCCESS [1-9]", screen()),
            timeout=30,
            interval=0.1,
        )
        pids = worker_pids(control)
        assert "worker local ready (pid" not in screen(), "the worker log stays out of the terminal"
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        wait_for(
            lambda: done.exists() and done.read_text().strip(), timeout=20, interval=0.05
        )  # written, not just created
        assert done.read_text().strip() == "0"
        assert not any(running(pid) for pid in pids)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_with_nothing_configured_it_runs_on_an_embedded_postgres_and_stops_it(
    demo_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh machine: no URL anywhere, so Postgres is started in ./.durable, and stopped at the end."""
    monkeypatch.delenv("DURABLE_DATABASE_URL", raising=False)
    monkeypatch.chdir(demo_env)
    monkeypatch.delenv("DURABLE_DATA_DIR")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)  # the embedded server sets it for this process
    seen: dict[str, object] = {}

    def dashboard(url: str) -> int:
        seen["url"] = url
        seen["postmaster"] = int((demo_env / ".durable" / "pgdata" / "postmaster.pid").read_text().split()[0])
        with Control(url) as control:
            wait_for(lambda: control.list_workflows(status="SUCCESS"), timeout=30, interval=0.05)
        return 0

    assert run_demo(rate="20/s", dashboard=dashboard) == 0
    assert f"host={demo_env / '.durable'}" in str(seen["url"])
    assert (demo_env / ".durable" / LOG_NAME).exists()
    assert not running(int(seen["postmaster"])), "the Postgres this run started is stopped"
