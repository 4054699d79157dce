"""How the keys are explained and fitted: full descriptions in help and palette, a footer that fits 80
columns, and the fault form (workflow field, engine refusals shown in the form and as notifications)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from rich.console import Console
from textual.widgets import Input, RadioButton, Static
from textual.widgets._footer import FooterKey

from engine import Control
from tests.tui_data import T0, make_app, run, seed_mixed, settle, until
from tui.detail import DetailScreen
from tui.dialogs import ConfirmScreen, FaultForm
from tui.faults import FaultsScreen
from tui.help import HelpScreen
from tui.keys import DashFooter
from tui.workers import WorkersScreen
from tui.workflows import WorkflowsScreen


def footer_keys(app) -> dict[str, str]:
    """Key → label of what the footer of the current screen shows (the palette key included)."""
    return {k.key: k.description for footer in app.screen.query(DashFooter) for k in footer.query(FooterKey)}


def help_text(screen: HelpScreen) -> str:
    """The help screen's text, rendered wide (so that no description wraps)."""
    console = Console(width=300, record=True, file=io.StringIO())
    for static in screen.query(Static):
        console.print(static.content)
    return console.export_text()


def notified(app, text: str) -> bool:
    return any(text in str(n.message) for n in app._notifications)


def select(app, wid: str) -> None:
    app.screen.table.move_cursor(row=[r.workflow_id for r in app.screen.page].index(wid), animate=False)


def greyed(app) -> set[str]:
    """Keys the footer of the current screen shows greyed."""
    return {
        k.key for footer in app.screen.query(DashFooter) for k in footer.query(FooterKey) if k.has_class("-disabled")
    }


ACTIONS = {"k": "cancel", "r": "resume", "n": "retry_now", "f": "fork", "d": "delete"}
# What applies, by the engine's checks, to each seeded workflow at T0 (exec-1 alive, order-1004 waiting
# to retry, order-1005 cancelled while its step waited).
APPLIES = {
    "order-1006": "kf",
    "order-1005": "rfd",
    "order-1004": "knf",
    "order-1003": "rfd",
    "order-1002": "fd",
    "order-1001": "fd",
}


def states(app, keys: str = "krnfd") -> dict[str, bool | None]:
    return {k: app.screen.check_action(ACTIONS[k], ()) for k in keys}


@pytest.fixture
def seeded(database_url: str, schema: str, control: Control) -> Control:
    seed_mixed(database_url, schema)
    return control


def test_help_and_palette_give_full_descriptions(seeded: Control) -> None:
    async def scenario() -> None:
        app = make_app(seeded)
        async with app.run_test(size=(150, 60)) as pilot:
            await settle(pilot)
            select(app, "order-1003")
            await until(pilot, lambda: app.screen.check_action("resume", ()))
            palette = {c.help: c.title for c in app.get_system_commands(app.screen)}
            assert "key k" not in palette, "the palette offers only what applies to the ERROR workflow"
            assert "recover a PENDING one whose worker died" in palette["key r"]
            assert "Fork: a new workflow that re-runs this one from the start" in palette["key f"]
            assert palette["key s"].startswith("Filter by status")
            assert palette["key t"].startswith("Filter by workflow name")
            assert "id prefix" in palette["key /"]
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
            text = help_text(app.screen)
            for words in (
                "or recover a PENDING one whose worker died",
                "Fork: a new workflow that re-runs this one from the start",
                "Filter by status",
                "Filter by workflow name",
                "Search workflows by id prefix",
                "Fork from the selected step",
                "esc/bksp",
            ):
                assert words in text, words

    run(scenario)


def test_footer_fits_80_columns_keeping_the_main_keys(seeded: Control) -> None:
    async def scenario() -> None:
        app = make_app(seeded)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            footer = app.screen.query_one(DashFooter)
            await until(pilot, lambda: "k" in footer_keys(app))
            shown = footer_keys(app)
            for key in ("k", "r", "n", "slash", "s", "question_mark", "ctrl+p"):
                assert key in shown, (key, shown)
            assert "D" not in shown and "K" not in shown
            assert footer.virtual_size.width <= 80
            app.open_workflow("order-1004")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and "F" in footer_keys(app))
            shown = footer_keys(app)
            for key in ("k", "r", "n", "F", "i", "question_mark", "ctrl+p"):
                assert key in shown, (key, shown)
            assert app.screen.query_one(DashFooter).virtual_size.width <= 80
            await pilot.resize_terminal(150, 24)
            await until(pilot, lambda: "l" in footer_keys(app))
            assert {"escape", "f", "d", "v", "q"} <= set(footer_keys(app))

    run(scenario)


def test_fault_form_targets_one_workflow_or_all_and_shows_refusals(control: Control) -> None:
    async def scenario() -> None:
        app = make_app(control)
        async with app.run_test(size=(150, 45)) as pilot:
            await settle(pilot)
            await pilot.press("3")
            await until(pilot, lambda: isinstance(app.screen, FaultsScreen))
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, FaultForm))
            form = app.screen
            await until(pilot, lambda: app.focused is form.query_one("#step"))
            await pilot.press(*"shop.charge")
            assert form.query_one("#step", Input).value == "shop.charge"
            form.query_one("#workflow", Input).value = "order-7"
            form.query_one("#kind").query(RadioButton)[1].value = True
            form.query_one("#delay", Input).value = "0"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "delay_seconds > 0" in str(form.query_one("#form-error", Static).render()))
            assert app.screen is form and notified(app, "a delay fault needs delay_seconds > 0")
            assert not control.faults()
            form.query_one("#delay", Input).value = "1.5"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, FaultsScreen) and app.screen.records)
            fault = control.faults()[0]
            assert (fault.kind, fault.step_name, fault.workflow_id, fault.delay_seconds) == (
                "delay",
                "shop.charge",
                "order-7",
                1.5,
            )
            assert notified(app, "armed on step shop.charge, workflow order-7")
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, FaultForm))
            app.screen.query_one("#step", Input).value = "shop.ship"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, FaultsScreen) and len(app.screen.records) == 2)
            shown = {f.step_name: app.screen.table.get_cell(str(f.fault_id), "workflow") for f in app.screen.records}
            assert shown == {"shop.charge": "order-7", "shop.ship": "any"}
            assert next(f for f in control.faults() if f.step_name == "shop.ship").workflow_id is None

    run(scenario)


def test_keys_that_cannot_apply_are_greyed(seeded: Control) -> None:
    async def scenario() -> None:
        app = make_app(seeded)
        async with app.run_test(size=(150, 40)) as pilot:
            await settle(pilot)
            assert [r.workflow_id for r in app.screen.page] == list(APPLIES)
            for i, (wid, keys) in enumerate(APPLIES.items()):
                if i:
                    await pilot.press("down")
                want = {k: True if k in keys else None for k in "krnfd"}
                await until(pilot, lambda w=want: states(app) == w)
                assert app.screen.selected().workflow_id == wid
                await until(pilot, lambda k=keys: greyed(app) & set("krnfd") == set("krnfd") - set(k))
            assert not greyed(app) & {"K", "R", "D"}

            await pilot.press("slash", *"zzz", "enter")
            await until(pilot, lambda: {"K", "R", "D", *"krnfd"} <= greyed(app))
            await pilot.press("slash", "backspace", "enter")
            await until(pilot, lambda: not greyed(app) & {"K", "R", "D"})

            select(app, "order-1004")
            await until(pilot, lambda: states(app, "kr") == {"k": True, "r": None})
            seeded.cancel("order-1004")
            await until(pilot, lambda: states(app, "kr") == {"k": None, "r": True})
            await until(pilot, lambda: "k" in greyed(app) and "r" not in greyed(app))

            app.open_workflow("order-1003")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.record is not None)
            assert states(app) == {"k": None, "r": True, "n": None, "f": True, "d": True}
            assert app.screen.check_action("fork_step", ()) is True
            await until(pilot, lambda: greyed(app) & {*"krnfdF"} == {"k", "n"})

    run(scenario)


def test_recover_applies_once_the_worker_is_dead(seeded: Control) -> None:
    """A minute after T0, exec-1 has missed its lease: `r` recovers its PENDING workflow, list and detail."""

    async def scenario() -> None:
        app = make_app(seeded, clock=lambda: T0 + timedelta(minutes=1))
        async with app.run_test(size=(150, 40)) as pilot:
            await settle(pilot)
            select(app, "order-1004")
            await until(pilot, lambda: states(app) == {"k": True, "r": True, "n": True, "f": True, "d": None})
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.record is not None)
            await until(pilot, lambda: states(app) == {"k": True, "r": True, "n": True, "f": True, "d": None})
            await until(pilot, lambda: greyed(app) & {*"krnfd"} == {"d"})

    run(scenario)


def test_search_gives_the_keys_back_to_the_list(seeded: Control) -> None:
    async def scenario() -> None:
        app = make_app(seeded)
        async with app.run_test(size=(150, 40)) as pilot:
            await settle(pilot)
            screen = app.screen
            search = screen.query_one("#search", Input)
            await pilot.press("slash", *"order-1004")
            await until(pilot, lambda: [r.workflow_id for r in screen.page] == ["order-1004"])
            assert app.focused is search
            await pilot.press("enter")
            assert app.focused is screen.table and search.display and search.value == "order-1004"
            await pilot.press("k")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert app.screen.targets == ["order-1004"]
            await pilot.press("n")
            await until(pilot, lambda: app.screen is screen)

            await pilot.press("slash", *"order-100")
            assert app.focused is search
            await pilot.press("escape")
            assert app.focused is screen.table and not search.display and search.value == ""
            await until(pilot, lambda: len(screen.page) == 6 and screen.filters.id_prefix is None)
            await pilot.press("down", "2")
            await until(pilot, lambda: isinstance(app.screen, WorkersScreen))

    run(scenario)


def test_search_on_an_empty_database_leaves_the_box(control: Control) -> None:
    async def scenario() -> None:
        app = make_app(control)
        async with app.run_test(size=(150, 40)) as pilot:
            await settle(pilot)
            await pilot.press("slash", *"x", "enter")
            screen = app.screen
            assert isinstance(screen, WorkflowsScreen) and app.focused is screen.table  # empty, it says so itself
            await pilot.press("2")
            await until(pilot, lambda: isinstance(app.screen, WorkersScreen))

    run(scenario)
