"""How the keys are explained and fitted: full descriptions in help and palette, a footer that fits 80
columns, and the fault form (workflow field, engine refusals shown in the form and as notifications)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widgets import Input, RadioButton, Static
from textual.widgets._footer import FooterKey

from engine import Control
from tests.tui_data import make_app, run, seed_mixed, settle, until
from tui.detail import DetailScreen
from tui.dialogs import FaultForm
from tui.faults import FaultsScreen
from tui.help import HelpScreen
from tui.keys import DashFooter


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


@pytest.fixture
def seeded(database_url: str, schema: str, control: Control) -> Control:
    seed_mixed(database_url, schema)
    return control


def test_help_and_palette_give_full_descriptions(control: Control) -> None:
    async def scenario() -> None:
        app = make_app(control)
        async with app.run_test(size=(150, 60)) as pilot:
            await settle(pilot)
            palette = {c.help: c.title for c in app.get_system_commands(app.screen)}
            assert "recover a PENDING one whose worker died" in palette["key r"]
            assert "Replay from the start" in palette["key f"]
            assert palette["key s"].startswith("Filter by status")
            assert palette["key t"].startswith("Filter by workflow name")
            assert "id prefix" in palette["key /"]
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
            text = help_text(app.screen)
            for words in ("or recover a PENDING one whose worker died", "Replay from the start",
                          "Filter by status", "Filter by workflow name", "Search workflows by id prefix",
                          "Replay from the selected step", "esc/bksp"):
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
            await until(pilot, lambda: isinstance(app.screen, FaultsScreen) and app.screen.faults)
            fault = control.faults()[0]
            assert (fault.kind, fault.step_name, fault.workflow_id, fault.delay_seconds) == \
                ("delay", "shop.charge", "order-7", 1.5)
            assert notified(app, "armed on step shop.charge, workflow order-7")
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, FaultForm))
            app.screen.query_one("#step", Input).value = "shop.ship"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, FaultsScreen) and len(app.screen.faults) == 2)
            shown = {f.step_name: app.screen.table.get_cell(str(f.fault_id), "workflow") for f in app.screen.faults}
            assert shown == {"shop.charge": "order-7", "shop.ship": "any"}
            assert next(f for f in control.faults() if f.step_name == "shop.ship").workflow_id is None

    run(scenario)
