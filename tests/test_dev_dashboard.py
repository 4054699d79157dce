"""The dashboard of a dev loop: the banner follows the worker's status file (ready, reloading, the import
error with its file and line), and `L` tails the worker's log, following what is appended."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Log

from engine import Control
from tests.tui_data import make_app, run, settle, until
from tui.dev.banner import DevBanner
from tui.dev.log_screen import WorkerLogScreen
from tui.dev.status import DevSession, DevStatus, write_status


def banner_text(app) -> str:
    return str(app.screen.query_one(DevBanner).render())


def test_banner_follows_the_worker_and_the_log_screen_tails_it(control: Control, tmp_path: Path) -> None:
    status_path, log_path = tmp_path / "dev-status.json", tmp_path / "dev-worker.log"
    log_path.write_text("x" * 70_000 + " cut\nfirst line\n")
    write_status(status_path, DevStatus("starting", "start"))
    session = DevSession(status_path, log_path, [tmp_path])

    async def scenario() -> None:
        app = make_app(control, clock=None, dev=session)
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            assert "worker starting" in banner_text(app)

            write_status(
                status_path, DevStatus("ready", executor_id="dev", code_version="ab12cd34", workflows=["hello"])
            )
            await until(pilot, lambda: "worker dev ready · code ab12cd34 · hello" in banner_text(app))
            assert app.screen.query_one(DevBanner).has_class("ready")

            error = DevStatus("error", "import", str(tmp_path / "flows.py"), 3, "NameError: name 'x' is not defined")
            write_status(status_path, error)
            await until(pilot, lambda: "import error" in banner_text(app))
            assert f"{tmp_path / 'flows.py'}:3  NameError: name 'x' is not defined" in banner_text(app)
            assert app.screen.query_one(DevBanner).has_class("error")

            write_status(status_path, DevStatus("starting", "change in flows.py"))
            await until(pilot, lambda: "worker starting: change in flows.py" in banner_text(app))

            await pilot.press("L")
            await until(pilot, lambda: isinstance(app.screen, WorkerLogScreen))
            log = app.screen.query_one(Log)
            await until(pilot, lambda: log.line_count > 0)
            assert log.lines[0] == "first line", "a tail that starts inside a line drops the piece"
            with log_path.open("a") as f:
                f.write("worker dev ready (pid 1)\nhalf a li")
            await until(pilot, lambda: "worker dev ready (pid 1)" in log.lines)
            assert not any("half a li" in line for line in log.lines), "only whole lines are shown"
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, WorkerLogScreen))

    run(scenario)


def test_without_a_dev_loop_there_is_no_banner_and_no_log(control: Control) -> None:
    async def scenario() -> None:
        app = make_app(control, clock=None)
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            assert not app.screen.query(DevBanner)
            await pilot.press("L")
            await pilot.pause(0.1)
            assert not isinstance(app.screen, WorkerLogScreen)

    run(scenario)
