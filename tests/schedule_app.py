"""A worker process for schedule tests: `python -m tests.schedule_app URL SCHEMA EXECUTOR_ID DIR`.

Its schedule `every-second` runs `sa.tick` at each second; the run's step appends `<scheduled_at> <pid>` to
DIR/ticks, so a test can see that each tick ran once across processes.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from engine import scheduled, step, workflow
from tests.worker_main import serve

DIR = Path(".")


@step(name="sa.note")
def note(scheduled_at: str) -> None:
    with open(DIR / "ticks", "a") as f:
        f.write(f"{scheduled_at} {os.getpid()}\n")


@scheduled("* * * * * *", name="every-second")
@workflow(name="sa.tick")
def tick(scheduled_at: datetime, actual_at: datetime) -> str:
    note(scheduled_at.isoformat())
    return scheduled_at.isoformat()


def _set_dir(path: Path) -> None:
    global DIR
    DIR = path


if __name__ == "__main__":
    serve(_set_dir)
