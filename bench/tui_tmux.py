"""Dashboard benchmark in a real terminal: committed cancel → `CANCELLED` on the screen of tmux.

    python bench/tui_tmux.py [--trials 30]

The dashboard (`python -m tui.cli`) runs in a detached tmux session (160×45, a private tmux server) on a
fresh schema holding one ENQUEUED workflow per trial (no worker: they wait in the list). Each trial, after
a quiet period (0.25-0.45 s, so no coalescing window or tick is still open), cancels one of them through
`Control.cancel` from this process and polls `tmux capture-pane -p` every POLL seconds until that row
shows CANCELLED. The latency counts from the moment `cancel` returned (its commit acknowledged) to the
capture that shows it; a capture costs ~2 ms here, so figures carry up to POLL + that of resolution.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

from benchlib import database_url, drop_schemas, median, percentile

from engine import Control

ROOT = Path(__file__).resolve().parent.parent
POLL = 0.003
SIZE = (160, 45)


class Tmux:
    """One detached session on a tmux server of its own (`-L`): nothing of the user's tmux is touched."""

    def __init__(self, command: str, env: dict[str, str]):
        self.socket = f"durable-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        self._tmux(
            "new-session", "-d", "-s", "dash", "-x", str(SIZE[0]), "-y", str(SIZE[1]), f"env {exports} {command}"
        )

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True)
        return done.stdout

    def screen(self) -> list[str]:
        return self._tmux("capture-pane", "-p", "-t", "dash").splitlines()

    def close(self) -> None:
        """Stop this server and remove its socket file (tmux leaves it behind)."""
        path = Path(self._tmux("display-message", "-p", "#{socket_path}").strip())
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
        path.unlink(missing_ok=True)


def row_of(lines: list[str], wid: str) -> str | None:
    return next((line for line in lines if f" {wid} " in line), None)


def wait_screen(tmux: Tmux, ok: object, timeout: float = 30.0) -> float:
    """Poll the pane until `ok(lines)` holds; the perf_counter of the capture that showed it."""
    deadline = time.perf_counter() + timeout
    while True:
        lines = tmux.screen()
        now = time.perf_counter()
        if ok(lines):  # type: ignore[operator]
            return now
        if now > deadline:
            raise TimeoutError("\n".join(lines))
        time.sleep(POLL)


def measure(url: str | None = None, trials: int = 30) -> dict[str, float]:
    """Committed cancel → CANCELLED on the tmux screen, in ms: median, p90, min, max over `trials`, and the
    `Control.cancel` call's own duration (median)."""
    url = url or database_url()
    schema = f"bench_tmux_{uuid.uuid4().hex[:6]}"
    ids = [f"cx-{i:02d}" for i in range(trials)]
    tmux = None
    try:
        with Control(url, schema=schema) as control:
            for wid in ids:
                control.enqueue_workflow("bench.wait", workflow_id=wid)
            env = {"PYTHONPATH": str(ROOT), "DURABLE_DATABASE_URL": url, "TERM": "xterm-256color"}
            tmux = Tmux(f"{shlex.quote(sys.executable)} -m tui.cli --schema {schema}", env)
            wait_screen(tmux, lambda lines: row_of(lines, ids[-1]) and any("live" in line for line in lines))
            latencies, calls = [], []
            for wid in reversed(ids):
                time.sleep(random.uniform(0.25, 0.45))
                t0 = time.perf_counter()
                control.cancel(wid)
                t1 = time.perf_counter()
                seen = wait_screen(tmux, lambda lines, w=wid: "CANCELLED" in (row_of(lines, w) or ""))
                latencies.append((seen - t1) * 1000)
                calls.append((t1 - t0) * 1000)
    finally:
        if tmux is not None:
            tmux.close()
        drop_schemas(url, schema)
    return {
        "cancel_to_screen_median_ms": median(latencies),
        "cancel_to_screen_p90_ms": percentile(latencies, 90),
        "cancel_to_screen_min_ms": min(latencies),
        "cancel_to_screen_max_ms": max(latencies),
        "cancel_call_median_ms": median(calls),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    figures = measure(trials=args.trials)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value:8.1f}")


if __name__ == "__main__":
    main()
