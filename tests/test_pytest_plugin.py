"""The pytest plugin as a user meets it: a test file of their own, in a directory of their own, that uses only
the plugin's public fixtures (loaded through the package's `pytest11` entry point)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.conftest import ROOT

USER_WORKFLOWS = """
from engine import sleep, step, workflow


class PaymentDeclined(Exception):
    pass


@step(interval_seconds=600, max_attempts=3)
def charge(amount: int) -> str:
    return f"charged {amount}"


@step
def email(to: str) -> str:
    return f"mailed {to}"


@workflow
def checkout(amount: int) -> list:
    receipt = charge(amount)
    sleep(3600)
    return [receipt, email("ada@example.com")]
"""

USER_TESTS = """
import time

import pytest

from shop import checkout


def test_a_ten_minute_backoff_takes_no_time(durable_engine, durable_clock, stub_step, steps_of):
    stub_step("charge", raises=ConnectionError("card network down"), times=2)
    started = time.monotonic()
    out = durable_engine.start_workflow(checkout, 42, workflow_id="order-1").result(timeout=10)
    assert out == ["charged 42", "mailed ada@example.com"]
    assert time.monotonic() - started < 1.0
    charge, sleeping, email = steps_of("order-1")
    assert (charge.name, charge.status, charge.attempts, charge.output) == ("charge", "SUCCESS", 3, "charged 42")
    assert sleeping.status == "SUCCESS" and email.output == "mailed ada@example.com"
    assert durable_clock.skew() >= 600 * 3 + 3600  # two backoffs (600 s, 1200 s) and the hour of sleep
    record = durable_engine.get_workflow("order-1").steps[0].attempt_records
    assert record[1].started_at >= record[0].finished_at  # recorded times read as if the time had passed


def test_stubbed_returns_and_step_by_step_time(durable_engine, durable_clock, stub_step, steps_of):
    stub_step("email", returns="stubbed")
    durable_clock.pause()
    handle = durable_engine.start_workflow(checkout, 7, workflow_id="order-2")
    deadline = time.monotonic() + 10
    while [s.status for s in steps_of("order-2")] != ["SUCCESS", "SLEEPING"]:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    durable_clock.advance(1800)
    time.sleep(0.1)
    assert [s.status for s in steps_of("order-2")] == ["SUCCESS", "SLEEPING"]  # half the hour: still asleep
    durable_clock.advance(1800)
    assert handle.result(timeout=10) == ["charged 7", "stubbed"]
"""


def run_pytest(directory: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(directory), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "."],
        cwd=directory, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_plugin_runs_a_users_tests_with_virtual_time(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(textwrap.dedent(USER_WORKFLOWS))
    (tmp_path / "test_shop.py").write_text(textwrap.dedent(USER_TESTS))
    started = time.monotonic()
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    assert time.monotonic() - started < 30


def test_the_readme_testing_example(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    flows = re.search(r"<!-- readme-dev.*?\n```python\n(.*?)```", readme, re.S)
    example = re.search(r"<!-- readme-testing.*?\n```python\n(.*?)```", readme, re.S)
    assert flows and example
    (tmp_path / "flows.py").write_text(flows.group(1))
    (tmp_path / "test_flows.py").write_text(example.group(1))
    done = run_pytest(tmp_path)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr
