"""The benchmarks and the demo's load command run (tiny sizes): the commands the README names stay working.

Figures are not asserted here: targets are for the benchmarks' own tables, never for tests.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from engine import Control
from tests.conftest import ROOT


def run(args: list[str], database_url: str, timeout: float = 120, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "DURABLE_DATABASE_URL": database_url, **env},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize(
    "args, heading",
    [
        (["bench/steps.py", "--runs", "1", "--systems", "ours,raw"], "ratio ours / raw"),
        (["bench/recovery.py", "--workflows", "20", "--runs", "1", "--systems", "ours"], "target: ours <= 1 s"),
        (["bench/start.py", "--workflows", "20", "--systems", "ours,raw"], "ratio start call ours / raw"),
        (["bench/queues.py", "--workflows", "20", "--workers", "1,2"], "ratio queue / direct throughput, 2 worker(s)"),
        (["bench/control_latency.py", "--trials", "2"], "target: median reaction"),
        (["bench/messages.py", "--messages", "5", "--systems", "ours", "--idle", "0.3"], "target: no query while"),
        (
            [
                "bench/history.py",
                "--workflows",
                "2000",
                "--runs",
                "1",
                "--starts",
                "5",
                "--samples",
                "1",
                "--paints",
                "1",
                "--explain",
            ],
            "cost with history",
        ),
        (
            [
                "bench/tui_latency.py",
                "--rows",
                "2000",
                "--samples",
                "5",
                "--burst-seconds",
                "0.5",
                "--idle-seconds",
                "0.5",
            ],
            "first paint",
        ),
    ],
)
def test_benchmark_runs_and_prints_its_table(args, heading, database_url):
    assert heading in run(args, database_url)


def test_demo_load_queues_readable_ids(database_url, schema):
    out = run(["-m", "demo_app", "load", "--rate", "100/s", "--count", "3", "--schema", schema], database_url)
    assert "queued 3 workflow(s)" in out
    with Control(database_url, schema=schema) as ctl:
        ids = sorted(w.workflow_id for w in ctl.list_workflows())
    assert len(ids) == 3 and all(i.startswith(("order-", "pipeline-")) for i in ids)
