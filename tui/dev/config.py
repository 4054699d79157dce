"""What a dev loop runs: handed from the launcher to the supervisor (as JSON on its command line) and from
the supervisor to each worker process it spawns."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.dev.target import Target

DEV_EXECUTOR_ID = "dev"
DEFAULT_STOP_GRACE = 1.0


@dataclass(frozen=True)
class DevConfig:
    """`targets`: the modules to import; `watch`: directories whose .py saves restart the worker;
    `executor_id`: kept across restarts, so the new worker claims the old one's workflows;
    `setup`: optional `module:function` called with the database URL before the engine launches
    (the demo creates its shop tables there); `stop_grace`: seconds a stopping worker waits for its
    running steps before it exits anyway (they run again after the restart, as after a crash);
    `ignore`: directories never watched (the embedded Postgres's files)."""

    targets: tuple[Target, ...]
    watch: tuple[Path, ...]
    schema: str
    status_path: Path
    executor_id: str | None = DEV_EXECUTOR_ID
    setup: str | None = None
    stop_grace: float = DEFAULT_STOP_GRACE
    ignore: tuple[Path, ...] = field(default_factory=tuple)

    def to_json(self) -> str:
        return json.dumps(
            {
                "targets": [t.to_dict() for t in self.targets],
                "watch": [str(p) for p in self.watch],
                "schema": self.schema,
                "status_path": str(self.status_path),
                "executor_id": self.executor_id,
                "setup": self.setup,
                "stop_grace": self.stop_grace,
                "ignore": [str(p) for p in self.ignore],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> DevConfig:
        data: dict[str, Any] = json.loads(text)
        return cls(
            targets=tuple(Target.from_dict(t) for t in data["targets"]),
            watch=tuple(Path(p) for p in data["watch"]),
            schema=data["schema"],
            status_path=Path(data["status_path"]),
            executor_id=data["executor_id"],
            setup=data["setup"],
            stop_grace=float(data["stop_grace"]),
            ignore=tuple(Path(p) for p in data["ignore"]),
        )
