"""`durable-tui schedules ...`: listing (table and JSON), pause/resume/trigger/backfill, one-line errors (exit 2)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import wait_for
from tests.test_schedules import clock, define  # noqa: F401 (fixtures)
from tui.cli import main


@pytest.fixture
def cli(database_url, schema, capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--database-url", database_url, "--schema", schema])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_schedules_commands(define, make_engine, control, clock, cli):  # noqa: F811
    define("cli-report")
    make_engine(clock=clock)
    code, out, err = cli("schedules", "list")
    assert (code, err) == (0, "")
    header, row = out.splitlines()
    assert header.split()[:4] == ["SCHEDULE", "CRON", "STATE", "NEXT"]
    assert row.startswith("cli-report") and "running" in row
    assert cli("schedules", "pause", "cli-report")[:2] == (0, "paused schedule cli-report\n")
    code, out, _ = cli("schedules", "list", "--json")
    (listed,) = json.loads(out)
    assert (listed["name"], listed["paused"], listed["next_at"], listed["cron"]) == (
        "cli-report",
        True,
        None,
        "* * * * *",
    )
    assert cli("schedules", "resume", "cli-report")[0] == 0
    code, out, _ = cli("schedules", "trigger", "cli-report", "--json")
    wid = json.loads(out)["workflow_id"]
    wait_for(lambda: control.get_workflow(wid).status == "SUCCESS")
    code, out, _ = cli(
        "schedules", "backfill", "cli-report", "2026-01-01T00:00+00:00", "2026-01-01T00:03+00:00", "--json"
    )
    assert json.loads(out) == [f"sched:cli-report:2026-01-01T00:0{m}:00+00:00" for m in range(3)]


@pytest.mark.parametrize(
    "args, message",
    [
        (("pause", "nope"), "no schedule named 'nope'"),
        (("trigger", "nope"), "no schedule named 'nope'"),
        (("backfill", "nope", "yesterday", "today"), "START must be an ISO date and time"),
        (("resume",), "the following arguments are required: NAME"),
    ],
)
def test_schedules_errors_are_one_line(cli, control, args, message):
    code, out, err = cli("schedules", *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
