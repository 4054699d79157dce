"""`durable-tui dev` for real, in tmux, as a new user runs it: an empty directory with one module, no
database configured (so the embedded Postgres of that directory), a workflow started by name.

The workflow is stuck retrying until the file is edited and saved; a save with an import error shows
the error (file, line, message) in the dashboard's banner, and the next save brings the worker back;
`q` stops the supervisor, the worker and the Postgres the run started.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import Control
from engine.embedded import embedded_status
from tests.conftest import ROOT
from tests.helpers import wait_for
from tui.dev.launcher import run_dev
from tui.dev.status import LOG_NAME, DevSession

README_FLOWS = re.search(r"<!-- readme-dev.*?\n```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
FLOWS = README_FLOWS.group(1).replace("interval_seconds=1.0", "interval_seconds=0.1") if README_FLOWS else ""

# a new user's shell: none of ours, whatever the tmux server's global environment holds
OURS = ("DURABLE_DATABASE_URL", "DURABLE_DATA_DIR", "DURABLE_SCHEMA", "DURABLE_EXECUTOR_ID")
UNSET = " ".join(f"-u {name}" for name in OURS)

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def alive(pid: int) -> bool:
    """Alive and not a zombie waiting for its parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


class Tmux:
    def __init__(self, name: str, directory: Path, command: str, env: dict[str, str]):
        self.name = name
        flags = [f"-e{key}={value}" for key, value in env.items()]
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-c", str(directory), *flags, command],
            check=True,
        )

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-t", self.name, "-p"], capture_output=True, text=True).stdout

    def press(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def shows(self, pattern: str, timeout: float = 20.0) -> str:
        return wait_for(lambda: re.search(pattern, self.screen()) and self.screen(), timeout=timeout, interval=0.05)

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def cli(directory: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args], cwd=directory, env=env, capture_output=True, text=True, timeout=30
    )


def test_dev_loop_fix_a_stuck_workflow_and_an_import_error_then_quit(tmp_path: Path) -> None:
    """The README's walk-through ("Your own workflows"), with its module, a shorter retry interval."""
    assert "interval_seconds=0.1" in FLOWS and "FIXED = False" in FLOWS
    flows = tmp_path / "flows.py"
    flows.write_text(FLOWS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DURABLE_", "XDG_RUNTIME"))}
    env["PYTHONPATH"] = str(ROOT)
    done = tmp_path / "exit-code"
    term = Tmux(
        f"dev-{tmp_path.name}",
        tmp_path,
        f"env {UNSET} {sys.executable} -m tui.cli dev flows.py; echo $? > {done}",
        {"PYTHONPATH": str(ROOT), "PATH": os.environ["PATH"]},
    )
    try:
        term.shows(r"worker dev ready · code \w+ · greet, hello · watching \./")
        url = embedded_status(tmp_path / ".durable").url
        postmaster = embedded_status(tmp_path / ".durable").pid
        assert url and postmaster and alive(postmaster)

        started = cli(tmp_path, env, "workflows", "start", "hello", "--args", '["Ada"]', "--id", "ada")
        assert (started.returncode, started.stdout.strip()) == (0, "ada"), started.stderr
        with Control(url) as control:
            worker = wait_for(lambda: [w for w in control.workers() if w.alive], timeout=10)[0]
            supervisor = parent_of(worker.pid)

            def attempts() -> int:
                steps = control.get_workflow("ada").steps
                return steps[0].attempts if steps else 0

            wait_for(lambda: attempts() >= 3, timeout=10)
            assert control.get_workflow("ada").status == "PENDING"

            saved = time.monotonic()
            flows.write_text(FLOWS.replace("FIXED = False", "FIXED = True"))
            record = wait_for(lambda: (r := control.get_workflow("ada")).status == "SUCCESS" and r, timeout=15)
            print(f"\ndev: stuck workflow finished {time.monotonic() - saved:.2f} s after the save")
            assert record.output == "hello Ada" and record.executor_id == "dev" and record.steps[0].attempts > 3
            workers = {w.pid for w in control.workers()}

            fixed = FLOWS.replace("FIXED = False", "FIXED = True")
            flows.write_text(fixed + "x = undefined_name\n")
            line = len(fixed.splitlines()) + 1
            term.shows(rf"import error  flows\.py:{line}  NameError: name 'undefined_name' is not defined")
            assert not [w for w in control.workers() if w.alive]

            flows.write_text(FLOWS.replace("FIXED = False", "FIXED = True"))
            term.shows(r"worker dev ready")
            workers |= {w.pid for w in wait_for(lambda: [w for w in control.workers() if w.alive], timeout=10)}

        log = (tmp_path / ".durable" / LOG_NAME).read_text()
        assert "change in flows.py: restarting the worker" in log and "after the file was saved" in log
        assert f"flows.py:{line}  NameError" in log and "worker dev ready (pid" not in term.screen()

        term.press("q")
        wait_for(
            lambda: done.exists() and done.read_text().strip(), timeout=20, interval=0.05
        )  # written, not just created
        assert done.read_text().strip() == "0"
        left = [pid for pid in (supervisor, postmaster, *workers) if alive(pid)]
        assert not left, f"still running after q: {left}"
        with pytest.raises(ProcessLookupError):  # nothing else of the supervisor's process group either
            os.killpg(supervisor, 0)
        assert embedded_status(tmp_path / ".durable").pid is None
    finally:
        term.kill()


def test_a_module_broken_from_the_start_is_shown_and_the_next_save_fixes_it(
    tmp_path: Path, database_url: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop starts even when the code does not import: the dashboard gets the error, not a dead end."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DURABLE_DATA_DIR", str(tmp_path / ".durable"))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pkg = tmp_path / "shop"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "jobs.py").write_text(
        "from engine import workflow\n\n\n@workflow()\ndef nightly() -> int:\n    return 1\n)\n"
    )
    seen: dict[str, object] = {}

    def dashboard(url: str, session: DevSession) -> int:
        status = wait_for(lambda: (s := session.status()) and s.state == "error" and s, timeout=10)
        seen["error"] = (status.where, status.message)
        (pkg / "jobs.py").write_text(
            "from engine import workflow\n\n\n@workflow()\ndef nightly() -> int:\n    return 1\n"
        )
        ready = wait_for(lambda: (s := session.status()) and s.state == "ready" and s, timeout=10)
        seen["ready"] = (ready.executor_id, ready.workflows, ready.pid)
        return 0

    code = run_dev(
        ["shop.jobs"], [], database_url, schema=schema, executor_id="dev", stop_grace=1.0, dashboard=dashboard
    )
    assert code == 0
    assert seen["error"] == ("shop/jobs.py:7", "SyntaxError: unmatched ')'")
    executor, workflows, pid = seen["ready"]  # type: ignore[misc]
    assert (executor, workflows) == ("dev", ["nightly"]) and not alive(pid)
