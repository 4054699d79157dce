"""`durable-tui send|events|stream` (issue 9): in-process with `main([...])`, and a `stream --follow` in another
process that prints a stream while it is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from engine import Engine
from tests import messages_app as app
from tests.conftest import ROOT
from tests.helpers import wait_for
from tests.test_cli import cli  # noqa: F401  (fixture)


def waiting(engine: Engine, wid: str) -> bool:
    steps = engine.get_workflow(wid).steps
    return bool(steps) and steps[-1].status == "WAITING"


def test_send_delivers_json_to_the_recv(engine: Engine, cli) -> None:  # noqa: F811
    handle = engine.start_workflow(app.receive, "payment", 10.0, workflow_id="pay-1")
    wait_for(lambda: waiting(engine, "pay-1"))
    assert cli("send", "pay-1", '{"paid": 42}', "--topic", "payment") == (
        0,
        "sent to pay-1 on topic 'payment'\n",
        "",
    )
    assert handle.result(timeout=10) == {"paid": 42}
    code, out, _ = cli("send", "pay-1", "1", "--idempotency-key", "k", "--json")
    assert code == 0 and json.loads(out) == {"workflow_id": "pay-1", "topic": None, "sent": True}
    code, out, _ = cli("send", "pay-1", "1", "--idempotency-key", "k")
    assert code == 0 and out.startswith("not sent again")


def test_bad_json_and_unknown_ids_are_one_line_exit_2(engine: Engine, cli) -> None:  # noqa: F811
    engine.run_workflow(app.receive, None, 0, workflow_id="w")
    for args in (("send", "w", "{oops"), ("send", "ghost", "1"), ("events", "ghost"), ("stream", "ghost", "k")):
        code, out, err = cli(*args)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, args
        assert "Traceback" not in err
    assert "not JSON" in cli("send", "w", "{oops")[2]
    assert "no workflow with id 'ghost'" in cli("events", "ghost")[2]


def test_events_and_stream_print_what_was_recorded(engine: Engine, cli) -> None:  # noqa: F811
    handle = engine.start_workflow(app.publisher, ["a", {"n": 2}], workflow_id="pub")
    for topic in ("go", "next", "next"):
        engine.send("pub", None, topic=topic)
    handle.result(timeout=10)
    code, out, _ = cli("events", "pub")
    header, row = out.splitlines()
    assert code == 0 and header.split()[:2] == ["KEY", "VALUE"] and row.split()[:2] == ["stage", '"done"']
    code, out, _ = cli("events", "pub", "--json")
    assert [(e["key"], e["value"]) for e in json.loads(out)] == [("stage", "done")]
    assert cli("stream", "pub", "progress") == (0, 'a\n{"n": 2}\n', "")
    assert cli("stream", "pub", "progress", "--json") == (0, '"a"\n{"n": 2}\n', "")
    assert cli("stream", "pub", "progress", "--follow") == (0, 'a\n{"n": 2}\n', "")  # closed: it ends


def test_stream_follow_in_another_process_prints_values_as_they_are_written(
    engine: Engine, database_url: str, schema: str
) -> None:
    engine.start_workflow(app.publisher, [1, 2, 3], workflow_id="live")
    engine.send("live", None, topic="go")
    wait_for(lambda: engine.control.stream_values("live", "progress") == [1])
    follower = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "stream", "live", "progress", "--follow", "--json",
         "--database-url", database_url, "--schema", schema],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert follower.stdout is not None
    try:
        assert follower.stdout.readline() == "1\n"  # a late reader starts from the first value
        engine.send("live", None, topic="next")
        assert follower.stdout.readline() == "2\n"  # printed while the workflow is still running
        assert engine.get_workflow("live").status == "PENDING"
        engine.send("live", None, topic="next")
        assert follower.stdout.readline() == "3\n"
        engine.send("live", None, topic="next")
        assert follower.wait(timeout=10) == 0  # the close ended it
    finally:
        follower.kill()
