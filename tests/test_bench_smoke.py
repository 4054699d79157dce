"""The benchmarks and the demo's load command run (tiny sizes): the commands the README names stay working.

Figures are not asserted here: targets are for the benchmarks' own tables, never for tests.
"""

from __future__ import annotations

import json
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


def test_suite_quick_prints_one_table_and_writes_the_json(database_url, tmp_path):
    """`python -m bench --quick` runs every part (each script's `measure`, their worker subprocesses run as
    `python bench/x.py`) with DBOS hidden, so the "not installed" path is the one taken."""
    hidden = tmp_path / "hide" / "dbos"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text('raise ImportError("DBOS hidden by the smoke test")\n')
    results = tmp_path / "results.json"
    path = os.pathsep.join(p for p in (str(hidden.parent), os.environ.get("PYTHONPATH", "")) if p)
    out = run(["-m", "bench", "--quick", "--json", str(results)], database_url, timeout=300, PYTHONPATH=path)
    header = next(line for line in out.splitlines() if line.startswith("figure"))
    assert header.split() == ["figure", "ours", "DBOS", "raw", "floor", "ratio(s)", "target", "met?"]
    assert "DBOS not installed" in out and f"JSON: {results}" in out
    found = json.loads(results.read_text())
    figures = {f["figure"]: f for f in found["figures"]}
    assert set(found["seconds"]) == {"steps", "start", "recovery", "workers", "queues", "history", "tui", "control"}
    assert figures["per step, 100-step workflow (median call)"]["dbos"] == "not installed"
    assert figures["per step, 100-step workflow (median call)"]["values"]["raw_ms"] > 0
    assert figures["start_workflow call in a burst, vs raw alone (median)"]["values"]["ours_ms"] > 0
    assert figures["recover 20 PENDING after SIGKILL, restart"]["values"]["ours_s"] > 0
    assert [f["values"]["limit"] for name, f in figures.items() if "worker process" in name]
    assert any("concurrency=100 queue" in name for name in figures)
    assert figures["cancel -> workflow stopped (median, from the call)"]["values"]["ours_ms"] > 0
    assert found["details"]["history"]["explain"] and found["details"]["tui"]["burst_commits"] > 0


@pytest.mark.parametrize(
    "args, heading",
    [
        (["bench/steps.py", "--runs", "1", "--systems", "ours,raw"], "ratio ours / raw"),
        (["bench/messages.py", "--messages", "5", "--systems", "ours", "--idle", "0.3"], "target: no query while"),
    ],
)
def test_a_script_runs_alone_and_prints_its_table(args, heading, database_url):
    """Each script stays runnable on its own; the suite covers the rest of their code."""
    assert heading in run(args, database_url)


def test_demo_load_queues_readable_ids(database_url, schema):
    out = run(["-m", "demo_app", "load", "--rate", "100/s", "--count", "3", "--schema", schema], database_url)
    assert "queued 3 workflow(s)" in out
    with Control(database_url, schema=schema) as ctl:
        ids = sorted(w.workflow_id for w in ctl.list_workflows())
    assert len(ids) == 3 and all(i.startswith(("order-", "pipeline-")) for i in ids)
