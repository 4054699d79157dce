"""The demo worker: the dev loop's worker (`tui.dev.worker`) on `demo_app.workflows`.

A worker started after another keeps its executor id (default `local`, or $DURABLE_EXECUTOR_ID), so
at launch the engine claims the workflows its predecessor left PENDING and replays them under the
code it has now: that is how a fixed bug rescues a stuck workflow.
"""

from __future__ import annotations

from pathlib import Path

from demo_app.settings import knob
from engine.config import data_dir
from tui.dev.config import DevConfig
from tui.dev.status import STATUS_NAME
from tui.dev.target import Target

PACKAGE_DIR = Path(__file__).resolve().parent
WORKFLOWS_TARGET = Target("demo_app.workflows", PACKAGE_DIR.parent, PACKAGE_DIR / "workflows.py")


def demo_config(schema: str) -> DevConfig:
    """The demo's workflows, reloaded on a save under demo_app/, its shop tables created at start."""
    directory = data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return DevConfig(
        (WORKFLOWS_TARGET,),
        (PACKAGE_DIR,),
        schema,
        directory / STATUS_NAME,
        executor_id=None,
        setup="demo_app.shop:setup",
        stop_grace=knob("DEMO_STOP_GRACE"),
        ignore=(directory,),
    )
