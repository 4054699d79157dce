"""Our connections run without JIT, and keep the options a database URL already sets."""

from __future__ import annotations

from engine.store.connection import NO_JIT, session_options


def test_jit_is_off_and_the_urls_options_stay() -> None:
    assert session_options("postgresql://u@h/db") == NO_JIT
    kept = session_options("postgresql://u@h/db?options=-c%20search_path%3Dapp")
    assert kept == f"-c search_path=app {NO_JIT}"
