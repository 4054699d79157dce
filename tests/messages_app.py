"""Workflows that use messages, events, streams and `sleep_until`, run in-process by tests and as a worker
process (`python -m tests.messages_app URL SCHEMA EXECUTOR_ID DIR`) that a test can SIGKILL mid-wait."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from engine import close_stream, get_event, recv, send, set_event, sleep, sleep_until, step, workflow, write_stream
from tests.worker_main import serve

DIR = Path(".")


@workflow(name="m.receive")
def receive(topic: str | None, timeout: float) -> Any:
    return recv(topic, timeout)


@workflow(name="m.nap_then_receive")
def nap_then_receive(seconds: float) -> Any:
    sleep(seconds)
    return recv("x", 5)


@workflow(name="m.gated")
def gated(n: int, topic: str, timeout: float) -> list[Any]:
    """Waits for a message on `gate` first, then takes `n` messages of `topic`: messages sent before it waits wait."""
    recv("gate", 30)
    return [recv(topic, timeout) for _ in range(n)]


@workflow(name="m.publisher")
def publisher(values: list[Any]) -> str:
    recv("go", 30)
    set_event("stage", "writing")
    for v in values:
        write_stream("progress", v)
        recv("next", 30)
    close_stream("progress")
    set_event("stage", "done")
    return "published"


@workflow(name="m.await_event")
def await_event(target: str, key: str, timeout: float) -> Any:
    return get_event(target, key, timeout)


@workflow(name="m.async_receive")
async def async_receive(topic: str) -> Any:
    return recv(topic, 10)


@workflow(name="m.sender")
def sender(target: str, message: Any) -> str:
    send(target, message, topic="hello")
    return "sent"


@step(name="m.effect")
def effect(x: Any) -> Any:
    with open(DIR / "effects", "a") as f:
        f.write(f"{x}\n")
    return x


@workflow(name="m.everything")
def everything(partner: str) -> dict[str, Any]:
    """Every call once: a replay must return each recorded outcome and repeat none of the effects."""
    set_event("stage", "started")
    write_stream("log", "begin")
    send(partner, {"hello": 1}, topic="greet")
    message = recv("go", 30)
    effect(message)
    event = get_event(partner, "ready", 30)
    sleep_until(datetime.now(timezone.utc) + timedelta(seconds=0.05))
    write_stream("log", "end")
    close_stream("log")
    set_event("stage", "done")
    return {"message": message, "event": event}


@workflow(name="m.partner")
def partner() -> Any:
    greeting = recv("greet", 30)
    set_event("ready", greeting)
    return greeting


def _set_dir(path: Path) -> None:
    global DIR
    DIR = path


if __name__ == "__main__":
    serve(_set_dir)
