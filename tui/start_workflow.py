"""Starting a workflow by its registered name, from the CLI (`workflows start`) and the dashboard (`w`).

The name must be registered by a live worker: a typo, or a worker that is down, is said at once in one
line instead of leaving a workflow ENQUEUED that nothing will run. Arguments are JSON (an array of
positional arguments, an object of keyword arguments); bad JSON is one line and starts nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine import Control
from engine.errors import DurableError, WorkflowNotFound


class BadInputs(DurableError):
    """Arguments that are not the JSON a workflow call needs (one readable line)."""


@dataclass(frozen=True)
class Started:
    workflow_id: str
    name: str
    created: bool
    existing_status: str | None = None


def parse_inputs(args_text: str, kwargs_text: str) -> tuple[list[Any], dict[str, Any]]:
    """`[1, "a"]` and `{"k": 2}` (empty means none) into positional and keyword arguments."""
    args = _parse("--args", args_text, [])
    kwargs = _parse("--kwargs", kwargs_text, {})
    if not isinstance(args, list):
        raise BadInputs(f'--args must be a JSON array of positional arguments, e.g. [1, "a"], not {_kind(args)}')
    if not isinstance(kwargs, dict):
        raise BadInputs(f'--kwargs must be a JSON object of keyword arguments, e.g. {{"k": 2}}, not {_kind(kwargs)}')
    return args, kwargs


def _parse(label: str, text: str, empty: Any) -> Any:
    if not text.strip():
        return empty
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputs(f"{label} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def live_registrations(control: Control) -> dict[str, list[str]]:
    """Every workflow name a live worker registers, with the executor ids of those workers, by name."""
    names: dict[str, list[str]] = {}
    for worker in control.workers():
        if worker.alive:
            for name in worker.workflows or []:
                names.setdefault(name, []).append(worker.executor_id)
    return dict(sorted(names.items()))


def start_by_name(
    control: Control,
    name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    workflow_id: str | None = None,
    queue: str | None = None,
) -> Started:
    """Queue `name(*args, **kwargs)` for a live worker that registers it; an existing id is not started again."""
    registered = live_registrations(control)
    if name not in registered:
        known = ", ".join(registered) or "none: no worker is running"
        raise DurableError(f"no live worker registers a workflow named {name!r} (registered: {known})")
    if workflow_id:
        try:
            existing = control.get_workflow(workflow_id)
        except WorkflowNotFound:
            existing = None
        if existing is not None:
            return Started(workflow_id, existing.name, False, existing.status)
    if queue is not None:
        return Started(control.enqueue_queued(name, args, kwargs, queue, workflow_id=workflow_id), name, True)
    wid, created = control.enqueue_named(name, args, kwargs, workflow_id=workflow_id)
    return Started(wid, name, created)
