"""Starting a workflow by name: `durable-tui workflows start` and the dashboard's `w` dialog, run by a live
worker that registers the name; bad JSON and unknown names are one line and start nothing."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from textual.widgets import Input, OptionList, Static

from engine import Control, Engine, workflow
from tests.helpers import wait_for
from tests.tui_data import make_app, run, settle, until
from tui.cli import main
from tui.detail import DetailScreen
from tui.start_dialog import StartWorkflowScreen


@workflow(name="start.greet")
def greet(name: str, punctuation: str = "!") -> str:
    return f"hello {name}{punctuation}"


@pytest.fixture
def cli(database_url: str, schema: str, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    def call(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--database-url", database_url, "--schema", schema])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def output(control: Control, workflow_id: str) -> object:
    return wait_for(lambda: (r := control.get_workflow(workflow_id)).status == "SUCCESS" and r, timeout=10).output


def test_start_by_name_with_args_and_kwargs(engine: Engine, control: Control, cli) -> None:
    code, out, err = cli("workflows", "start", "start.greet", "--args", '["Ada"]', "--kwargs", '{"punctuation": "?"}')
    assert code == 0 and err == ""
    assert output(control, out.strip()) == "hello Ada?"

    code, out, _ = cli("workflows", "start", "start.greet", "--kwargs", '{"name": "Bo"}', "--id", "bo", "--json")
    assert code == 0
    assert json.loads(out) == {
        "action": "start",
        "workflow_id": "bo",
        "name": "start.greet",
        "started": True,
        "status": "ENQUEUED",
    }
    assert output(control, "bo") == "hello Bo!"


def test_an_existing_id_is_not_started_again(engine: Engine, control: Control, cli) -> None:
    assert cli("workflows", "start", "start.greet", "--args", '["Cy"]', "--id", "cy")[0] == 0
    output(control, "cy")
    code, out, err = cli("workflows", "start", "start.greet", "--args", '["Other"]', "--id", "cy")
    assert (code, out.strip()) == (0, "cy")
    assert err.strip() == "cy exists already (start.greet, SUCCESS): not started again"
    assert control.get_workflow("cy").inputs["args"] == ["Cy"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--args", '["Ada"'], "--args is not valid JSON: Expecting ',' delimiter at line 1 column 7"),
        (
            ["--args", '{"name": "Ada"}'],
            '--args must be a JSON array of positional arguments, e.g. [1, "a"], not an object',
        ),
        (["--kwargs", "[1]"], '--kwargs must be a JSON object of keyword arguments, e.g. {"k": 2}, not an array'),
    ],
)
def test_bad_json_is_one_line_and_starts_nothing(
    engine: Engine, control: Control, cli, flags: list[str], message: str
) -> None:
    code, out, err = cli("workflows", "start", "start.greet", *flags)
    assert (code, out) == (2, "")
    assert err.strip().splitlines() == [f"durable-tui: error: {message}"]
    assert control.count() == 0


def test_a_name_no_live_worker_registers_is_refused(engine: Engine, control: Control, cli) -> None:
    code, _, err = cli("workflows", "start", "start.gret")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("durable-tui: error: no live worker registers a workflow named 'start.gret' (registered: ")
    assert "start.greet" in err
    assert control.count() == 0


def test_with_no_worker_running_it_says_so(control: Control, cli) -> None:
    code, _, err = cli("workflows", "start", "start.greet")
    assert code == 2
    assert err.strip() == (
        "durable-tui: error: no live worker registers a workflow named 'start.greet'"
        " (registered: none: no worker is running)"
    )


def test_dashboard_start_dialog_lands_on_the_new_workflow(engine: Engine, control: Control) -> None:
    async def scenario() -> None:
        app = make_app(control, clock=None)
        async with app.run_test(size=(140, 45)) as pilot:
            await settle(pilot)
            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, StartWorkflowScreen))
            dialog = app.screen
            await until(pilot, lambda: "start.greet" in dialog.names)
            dialog.query_one("#names", OptionList).highlighted = dialog.names.index("start.greet")

            dialog.query_one("#args", Input).value = '["Di"'
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "not valid JSON" in str(dialog.query_one("#form-error", Static).render()))
            assert app.screen is dialog and control.count() == 0

            dialog.query_one("#args", Input).value = '["Di"]'
            dialog.query_one("#workflow-id", Input).value = "di"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen))
            assert app.screen.workflow_id == "di"
            assert output(control, "di") == "hello Di!"

    run(scenario)


def test_read_only_dashboard_offers_no_start(engine: Engine, control: Control) -> None:
    async def scenario() -> None:
        app = make_app(control, clock=None, read_only=True)
        async with app.run_test(size=(140, 45)) as pilot:
            await settle(pilot)
            await pilot.press("w")
            await pilot.pause(0.1)
            assert not isinstance(app.screen, StartWorkflowScreen)

    run(scenario)
