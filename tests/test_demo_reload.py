"""Hot reload for real: a copy of demo_app run by `worker --reload`, its bug fixed by editing the file.

The workflow is stuck retrying the buggy step; the edit makes watchfiles restart the worker, the new
process (same executor id) claims the workflow at launch and finishes it under the new code.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from demo_app import CHECKOUT, PIPELINE
from demo_app.load import make_batch, make_order
from engine import Control
from engine.config import ENV_URL
from tests.conftest import ROOT
from tests.helpers import wait_for

FAST = {
    "DEMO_LATENCY": "0.01",
    "DEMO_TAX_INTERVAL": "0.05",
    "DEMO_TAX_MAX_ATTEMPTS": "100000",
    "DEMO_PAYMENT_FAILURE_RATE": "0",
    "DEMO_EMAIL_FAILURE_RATE": "0",
    "DEMO_COURIER_FAILURE_RATE": "0",
    "DEMO_PIPELINE_FAILURE_RATE": "0",
    "DEMO_SLOW_SECONDS": "1",
}


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def reloading_worker(tmp_path: Path, database_url: str, schema: str) -> Iterator[tuple[Path, subprocess.Popen]]:
    shutil.copytree(ROOT / "demo_app", tmp_path / "demo_app", ignore=shutil.ignore_patterns("__pycache__"))
    log = (tmp_path / "worker.log").open("wb")
    env = {**os.environ, **FAST, ENV_URL: database_url, "DEMO_SHOP_SCHEMA": f"{schema}_shop", "PYTHONPATH": str(ROOT)}
    env.pop("DURABLE_EXECUTOR_ID", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "demo_app", "worker", "--reload", "--schema", schema],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield tmp_path, proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    log.close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema}_shop CASCADE")


def test_fixing_the_bug_rescues_the_stuck_workflow(reloading_worker, control: Control) -> None:
    tmp, proc = reloading_worker
    log = tmp / "worker.log"
    first = wait_for(lambda: [w for w in control.workers() if w.alive], timeout=20, interval=0.05)[0]
    assert first.executor_id == "local"

    order = make_order(7)
    assert order["country"] == "NO"
    control.enqueue_workflow(CHECKOUT, order, workflow_id=order["id"])

    def tax_attempts() -> int:
        steps = control.get_workflow(order["id"]).steps
        return steps[1].attempts if len(steps) > 1 else 0

    wait_for(lambda: tax_attempts() >= 3, timeout=20, interval=0.02)
    assert control.get_workflow(order["id"]).status == "PENDING"

    source = tmp / "demo_app" / "tax.py"
    text = source.read_text()
    assert "\nBUG = True\n" in text
    saved = time.monotonic()
    source.write_text(text.replace("\nBUG = True\n", "\nBUG = False\n"))

    second = wait_for(
        lambda: [w for w in control.workers() if w.alive and w.pid != first.pid], timeout=20, interval=0.02
    )[0]
    restarted = time.monotonic() - saved
    record = wait_for(
        lambda: (r := control.get_workflow(order["id"])).status == "SUCCESS" and r, timeout=20, interval=0.02
    )
    finished = time.monotonic() - saved
    print(
        f"\nhot reload: new worker registered {restarted:.2f} s after the save, stuck workflow finished "
        f"{finished:.2f} s after it"
    )

    assert second.executor_id == "local" and second.code_version != first.code_version
    assert restarted < 5
    assert record.executor_id == "local"  # the new worker went on with it (a reload is no recovery: no death)
    tax = record.steps[1]
    assert (tax.name, tax.status) == ("compute-tax", "SUCCESS") and tax.attempts > 3
    assert tax.output == round(record.steps[0].output * 0.25, 2), "Norway's VAT, computed by the new code"
    assert "change in demo_app/tax.py: restarting the worker" in log.read_text()
    assert "after the file was saved" in log.read_text()

    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    wait_for(lambda: not group_alive(proc.pid), timeout=10, interval=0.02)
    assert "worker stopped in" in log.read_text()


def test_a_crashed_worker_is_restarted_and_recovers_its_workflow(reloading_worker, control: Control) -> None:
    tmp, _ = reloading_worker
    first = wait_for(lambda: [w for w in control.workers() if w.alive], timeout=20, interval=0.05)[0]
    batch = make_batch(1)
    control.enqueue_workflow(PIPELINE, batch, workflow_id=batch["id"])

    def slow_step_running() -> bool:
        steps = control.get_workflow(batch["id"]).steps
        return len(steps) >= 9 and steps[8].status == "RUNNING"

    wait_for(slow_step_running, timeout=20, interval=0.02)
    crashed = time.monotonic()
    control.crash_worker("local")

    second = wait_for(
        lambda: [w for w in control.workers() if w.alive and w.pid != first.pid], timeout=20, interval=0.02
    )[0]
    restarted = time.monotonic() - crashed
    record = wait_for(
        lambda: (r := control.get_workflow(batch["id"])).status == "SUCCESS" and r, timeout=20, interval=0.02
    )
    print(f"\ncrash: new worker registered {restarted:.2f} s after the crash")

    assert second.executor_id == "local" and record.recovery_count >= 1
    assert [s.name for s in record.steps][8] == "aggregate-daily" and len(record.steps) == 13
    assert "worker died of SIGKILL" in (tmp / "worker.log").read_text()


def test_saving_broken_code_waits_for_the_next_save(reloading_worker, control: Control) -> None:
    tmp, _ = reloading_worker
    log = tmp / "worker.log"
    first = wait_for(lambda: [w for w in control.workers() if w.alive], timeout=20, interval=0.05)[0]
    source = tmp / "demo_app" / "tax.py"
    good = source.read_text()

    source.write_text(good + "\ndef half_typed(:\n")
    wait_for(lambda: "worker exited with code 1" in log.read_text(), timeout=20, interval=0.02)
    assert "SyntaxError" in log.read_text()
    assert not [w for w in control.workers() if w.alive]

    source.write_text(good)
    second = wait_for(lambda: [w for w in control.workers() if w.alive], timeout=20, interval=0.02)[0]
    assert second.pid != first.pid and second.code_version == first.code_version
