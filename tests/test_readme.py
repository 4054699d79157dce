"""The README cannot rot: its set-up commands, its API example and its CLI lines are run here."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

from psycopg.conninfo import make_conninfo

from tests.conftest import ROOT
from tests.test_demo_workflows import demo, orders, shop  # noqa: F401  (fixtures)
from tui.cli import main as cli

README = (ROOT / "README.md").read_text()


def block_after(marker: str) -> str:
    match = re.search(re.escape(marker) + r".*?\n```\w*\n(.*?)```", README, re.S)
    assert match, f"no code block after {marker!r}"
    return match.group(1)


def test_readme_opens_with_two_commands_and_ci_runs_the_test_one():
    first = re.search(r"```sh\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert len(first) == 2
    assert "durable-tui demo" in first[0]
    ci = (ROOT / ".ci" / "run").read_text()
    assert first[1] in ci.splitlines()


def test_api_example_runs(database_url, schema, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(block_after("<!-- readme-example"))
    url = make_conninfo(database_url, options=f"-c search_path={schema}")  # its stock table lands in the schema
    env = {**os.environ, "DURABLE_DATABASE_URL": url, "DURABLE_SCHEMA": schema}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "o-1: charged 9.99, 99 apples left",
        "[('reserve', 'SUCCESS', 1), ('charge', 'SUCCESS', 2)]",
    ]


def test_cli_lines_run(engine, demo, shop, database_url, schema, capsys):  # noqa: F811
    order = {**orders(1)[0], "id": "order-0042"}
    engine.start_workflow(demo.checkout.checkout, order, workflow_id="order-0042").result(timeout=30)
    for line in block_after("<!-- readme-cli").strip().splitlines():
        argv = shlex.split(line)
        assert argv[0] == "durable-tui"
        code = cli([*argv[1:], "--database-url", database_url, "--schema", schema])
        assert code == 0, f"{line}: {capsys.readouterr().err}"
