"""Everything a person types, fuzzed with hypothesis against a real database: CLI ids and filters, fault
parameters, workflow arguments, the dashboard's id search. Never a traceback, never a raw driver error:
exit 0, or exit 2 with one line on stderr, and then nothing written. Values travel as bound parameters
only, so text that looks like SQL is just text."""

from __future__ import annotations

import json
from collections.abc import Callable

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from textual.pilot import Pilot
from textual.widgets import Input, Static

from engine import Control, DurableError, workflow
from engine.validation import MAX_ID_LENGTH
from tests.tui_data import make_app, run, settle, until
from tui.cli import main
from tui.dialogs import FaultForm
from tui.workflows import WorkflowsScreen

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TRICKY = "\x00\udc80é😀 -_%'\";\\*\n\t"
typed = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from(TRICKY), max_size=8),
    st.just("x'); DROP TABLE workflows; --"),
    st.text(alphabet="ab", min_size=MAX_ID_LENGTH - 2, max_size=MAX_ID_LENGTH + 5),
)
numbers = st.one_of(typed, st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1e309", "99999999999999999999", "2"]))


def _rows(url: str, schema: str) -> tuple[object, ...]:
    """Every row the CLI could change, in a comparable form."""
    with psycopg.connect(url, autocommit=True) as conn:
        return tuple(
            conn.execute(
                f"SELECT coalesce(string_agg(t::text, '|' ORDER BY t::text), '') FROM {schema}.{table} t"
            ).fetchone()[0]  # type: ignore[index]
            for table in ("workflows", "steps", "faults")
        )


@pytest.fixture
def cli(
    database_url: str, schema: str, control: Control, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str, bool]]:
    """Run the CLI in process; returns (exit code, stdout, stderr, whether any row changed)."""
    control.enqueue_workflow("nobody.runs", workflow_id="seed-1")

    def call(*args: str) -> tuple[int, str, str, bool]:
        before = _rows(database_url, schema)
        code = main([*args, "--database-url", database_url, "--schema", schema])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        assert code in (0, 2), (args, code, err)
        if code == 2:
            assert out == "" and len(err.strip().splitlines()) == 1 and err.startswith("durable-tui"), (args, err)
        return code, out, err, _rows(database_url, schema) != before

    return call


@FUZZ
@given(command=st.sampled_from(["show", "cancel", "resume", "recover", "delete", "retry-now", "fork"]), wid=typed)
@example(command="show", wid="a\x00b")
@example(command="cancel", wid="x" * (MAX_ID_LENGTH + 1))
def test_workflow_ids(cli, command: str, wid: str) -> None:
    code, _, err, changed = cli("workflows", command, wid)
    assert code == 2 and not changed, err  # no such workflow, or an id that cannot be one
    if "\x00" in wid and not wid.startswith("-"):
        assert "NUL byte" in err
    if wid == "x" * (MAX_ID_LENGTH + 1):
        assert err.strip() == "durable-tui: error: a workflow id is 257 characters long; the limit is 256"


@FUZZ
@given(command=st.sampled_from(["list", "cancel", "resume", "recover", "delete"]), name=typed, status=typed)
def test_filters(cli, command: str, name: str, status: str) -> None:
    code, _, err, changed = cli("workflows", command, "--name", name)
    assert not changed, err  # no workflow has such a name
    code, _, err, changed = cli("workflows", command, "--status", status)
    assert code == 2 and not changed, err


@FUZZ
@given(limit=numbers)
def test_list_limit(cli, limit: str) -> None:
    cli("workflows", "list", "--limit", limit)


@FUZZ
@given(
    kind=st.one_of(st.sampled_from(["fail", "delay", "crash"]), typed),
    step=typed,
    count=numbers,
    delay=numbers,
    ttl=numbers,
    message=typed,
    workflow=typed,
)
def test_fault_parameters(cli, control: Control, kind, step, count, delay, ttl, message, workflow) -> None:
    args = ["--kind", kind, "--step", step, "--count", count, "--delay", delay, "--ttl", ttl]
    code, out, err, changed = cli("faults", "add", *args, "--message", message, "--workflow", workflow)
    assert changed == (code == 0), err  # a fault row exactly when it was accepted
    if code == 0:
        [fault] = control.faults()
        assert (fault.step_name, fault.message, fault.workflow_id) == (step, message, workflow)
        control.clear_faults()


@FUZZ
@given(ids=st.lists(numbers, max_size=3))
def test_fault_ids_to_clear(cli, ids: list[str]) -> None:
    cli("faults", "clear", *ids)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | typed,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(typed, inner, max_size=3),
    max_leaves=6,
)


@FUZZ
@given(name=typed, args=st.lists(json_values, max_size=3), wid=typed)
def test_workflow_arguments(database_url: str, schema: str, control: Control, name, args, wid) -> None:
    before = _rows(database_url, schema)
    try:
        written = control.enqueue_workflow(name, *args, workflow_id=wid)
    except DurableError as exc:
        assert "\n" not in str(exc)
        assert _rows(database_url, schema) == before
    else:
        record = control.get_workflow(written)
        assert (record.workflow_id, record.name, record.inputs["args"]) == (wid, name, args)
        control.cancel(wid)
        control.delete(wid)  # the next example starts from an empty table


# A dashboard takes a second to start: each of these tries a list of inputs in one app.
IN_ONE_APP = settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@IN_ONE_APP
@given(terms=st.lists(typed, min_size=3, max_size=3))
def test_dashboard_id_search(control: Control, terms: list[str]) -> None:
    """Whatever is typed into the search: no crash; a term that cannot be an id says why in one line."""
    control.enqueue_workflow("nobody.runs", workflow_id="search-me")

    async def scenario() -> None:
        app = make_app(control, clock=None)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, WorkflowsScreen)
            await pilot.press("slash")
            for term in ["se\x00", "search", *terms]:
                seen = len([n for n in app._notifications if n.title == "Search"])
                screen.query_one("#search").value = ""  # type: ignore[attr-defined]
                await until(pilot, lambda: screen.filters.id_prefix is None)
                screen.query_one("#search").value = term  # type: ignore[attr-defined]
                await settle(pilot)
                refused = [n for n in app._notifications if n.title == "Search"][seen:]
                if refused:
                    assert "\n" not in refused[0].message and screen.filters.id_prefix is None
                else:
                    expected = ["search-me"] if "search-me".startswith(term.strip()) else []
                    await until(pilot, lambda: [r.workflow_id for r in screen.page] == expected)  # noqa: B023
                assert app.is_running

    run(scenario)


def _form_error(form: FaultForm) -> str:
    return str(form.query_one("#form-error", Static).render()).strip()


fault_forms = st.tuples(typed, typed, numbers, numbers, typed)


@IN_ONE_APP
@given(forms=st.lists(fault_forms, min_size=3, max_size=3))
def test_dashboard_fault_form(control: Control, forms: list[tuple[str, str, str, str, str]]) -> None:
    """The fault form: a fault row exactly when the form closes; else it stays open with one line saying why."""
    fixed = [("w.one", "", "99999999999", "1", "m"), ("w\x00one", "", "1", "1", "m")]

    async def scenario() -> None:
        app = make_app(control, clock=None)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            for values in [*fixed, *forms]:
                await _fill_fault_form(pilot, control, *values)

    run(scenario)


async def _fill_fault_form(pilot: Pilot, control: Control, step, workflow, count, delay, message) -> None:
    app = pilot.app
    form = FaultForm(control, "w.placeholder")
    app.push_screen(form)
    await until(pilot, lambda: app.screen is form and bool(form.query("#step")))
    for field, value in (("#step", step), ("#workflow", workflow), ("#count", count), ("#delay", delay)):
        form.query_one(field, Input).value = value
    form.query_one("#message", Input).value = message
    form.action_submit()
    await until(pilot, lambda: not form.busy and (app.screen is not form or _form_error(form)))
    faults = control.faults()
    if app.screen is form:
        assert faults == [] and "\n" not in _form_error(form)
        app.pop_screen()
        await until(pilot, lambda: app.screen is not form)
    else:
        assert len(faults) == 1
        control.clear_faults()


@workflow(name="fuzz.accepts_anything")
def accepts_anything(*args: object, **kwargs: object) -> None:
    return None


json_texts = st.one_of(
    typed,
    st.just('{"a": 1}'),
    st.just("[1, 2"),
    st.just('"\\u0000"'),
    st.just("[NaN]"),
    st.builds(json.dumps, st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=3)),
)


@FUZZ
@given(args=json_texts, kwargs=json_texts, wid=typed)
@example(args="[1, 2", kwargs="{}", wid="ok")
@example(args='["\\u0000"]', kwargs="{}", wid="nul-value")
def test_workflows_start_arguments(cli, engine, control: Control, args: str, kwargs: str, wid: str) -> None:
    """`workflows start` with JSON typed by a person: one line and nothing queued, or started (a live worker
    registers the name: the test's engine)."""
    before = control.count()
    code, _, err, _ = cli(
        "workflows", "start", "fuzz.accepts_anything", "--args", args, "--kwargs", kwargs, "--id", wid
    )
    if code == 2:
        assert control.count() == before, err
