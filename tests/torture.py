"""The crash torture: workflows run on two racing worker processes while workers are SIGKILLed and a private
Postgres is restarted at random moments; then every outcome, effect and step span is checked.

`run_torture(...)` is used by `tests/test_torture.py` (a short run) and `python -m bench.torture` (a long one).
Randomness is seeded: the seed is in the report, and `TORTURE_SEED` (or `--seed`) replays a schedule.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from engine import Control
from tests.private_pg import PrivatePostgres
from tests.torture_app import EFFECTS, expected_output
from tests.torture_checks import (
    Findings,
    check_effects,
    check_outcomes,
    check_overlaps,
    classify_reruns,
    read_spans,
)

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = "torture"
EXECUTORS = ("torture-a", "torture-b")
MASK = re.compile(r"t\d{3}-\d{4}|0x[0-9a-f]+|/tmp/[\w.-]+(/[\w.-]+)*")


@dataclass
class Report:
    seed: int
    workflows: int
    kills: int = 0
    restarts: int = 0
    seconds: float = 0.0
    chaos_seconds: float = 0.0
    settle_seconds: float = 0.0
    found: Findings = field(default_factory=Findings)
    log_lines: Counter[str] = field(default_factory=Counter)

    def problems(self) -> list[str]:
        return self.found.problems()

    def summary(self) -> str:
        f = self.found
        lines = [
            f"torture seed={self.seed}: {self.workflows} workflows, {self.kills} SIGKILLs, "
            f"{self.restarts} database restarts, {self.seconds:.1f}s "
            f"(chaos {self.chaos_seconds:.1f}s, settling {self.settle_seconds:.1f}s)",
            f"statuses: {dict(f.statuses)}",
            f"plain-step re-runs: {dict(f.reruns)}",
            *(f"PROBLEM: {p}" for p in self.problems()),
            *(f"log x{n}: {line}" for line, n in self.log_lines.most_common(8)),
        ]
        return "\n".join(lines)


class Slot:
    """One executor id, kept running: a killed or failed process is started again under the same id."""

    def __init__(self, executor_id: str, url: str, directory: Path, pause: float):
        self.executor_id, self.url, self.directory, self.pause = executor_id, url, directory, pause
        self.proc: subprocess.Popen[str] | None = None
        self.ready = threading.Event()
        self.died_at: dict[int, float] = {}
        self.starts = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._keep, name=f"slot-{executor_id}", daemon=True)

    def _keep(self) -> None:
        while not self.stopping:
            self.starts += 1
            log_path = self.directory / f"worker-{self.executor_id}-{self.starts}.log"
            log = open(log_path, "w")  # noqa: SIM115
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.torture_app", self.url, SCHEMA, self.executor_id, str(self.directory)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT), "TORTURE_PAUSE": str(self.pause)},
            )
            self.proc = proc
            log_path.rename(self.directory / f"worker-{self.executor_id}-{proc.pid}.log")
            if proc.stdout and proc.stdout.readline().strip() == "ready":
                self.ready.set()
            proc.wait()
            self.ready.clear()
            self.died_at.setdefault(proc.pid, time.time())
            log.close()
            time.sleep(0.05)

    def kill(self) -> int | None:
        """SIGKILL the running worker; its pid, or None if it was not up."""
        proc = self.proc
        if proc is None or not self.ready.is_set() or proc.poll() is not None:
            return None
        self.died_at[proc.pid] = time.time()
        proc.send_signal(signal.SIGKILL)
        return proc.pid

    def stop(self) -> None:
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
        if self.thread.is_alive():
            self.thread.join(timeout=15)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()


def _feed(url: str, inputs: dict[str, int], seconds: float, failures: list[str]) -> None:
    """Queue the workflows at an even pace over `seconds`, retrying through outages (the id makes it idempotent)."""
    pause = seconds / max(1, len(inputs))
    ctl: Control | None = None
    started = time.monotonic()
    for i, (wid, x) in enumerate(inputs.items()):
        time.sleep(max(0.0, started + i * pause - time.monotonic()))  # on schedule, whatever a call took
        deadline = time.monotonic() + 60
        while True:
            try:
                ctl = ctl or Control(url, schema=SCHEMA)
                ctl.enqueue_workflow("torture.flow", x, workflow_id=wid)
                break
            except Exception as exc:  # an outage: a fresh Control once the database answers
                if time.monotonic() > deadline:
                    failures.append(f"could not queue {wid}: {exc}")
                    return
                if ctl is not None:
                    ctl.close()
                ctl = None
                time.sleep(0.1)
    if ctl is not None:
        ctl.close()


def _prepare(url: str) -> None:
    with Control(url, schema=SCHEMA):
        pass  # migrates the engine's schema before the workers race to do it
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA torture_side")
        conn.execute(
            f"CREATE TABLE {EFFECTS} (workflow_id text NOT NULL, step_id int NOT NULL, attempt int, pid int)"  # type: ignore[arg-type]
        )


def _await_transaction(url: str, patience: float = 1.0) -> None:
    """Wait (a little) for a moment when a transaction step is in flight, so that the restart cuts one."""
    deadline = time.monotonic() + patience
    with contextlib.suppress(psycopg.OperationalError), psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT pg_sleep%%'"
            ).fetchone()
            if busy and busy[0]:
                return
            time.sleep(0.005)


def _outcomes(url: str) -> tuple[list[tuple[str, str, object, object]], Counter[tuple[str, int]]]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(f"SELECT workflow_id, status, output, error FROM {SCHEMA}.workflows").fetchall()
        effects = conn.execute(f"SELECT workflow_id, step_id, count(*) FROM {EFFECTS} GROUP BY 1, 2").fetchall()  # type: ignore[arg-type]
    return rows, Counter({(w, s): n for w, s, n in effects})


def _settle(url: str, total: int, stall_seconds: float, limit_seconds: float) -> None:
    """Wait until every workflow is final, or nothing has changed for `stall_seconds` (some are stranded)."""
    last, changed, deadline = None, time.monotonic(), time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                state = conn.execute(
                    f"SELECT status, count(*), max(updated_at) FROM {SCHEMA}.workflows GROUP BY 1 ORDER BY 1"
                ).fetchall()
        except psycopg.OperationalError:
            state = None
        done = sum(n for s, n, _ in state or [] if s in ("SUCCESS", "ERROR", "CANCELLED"))
        if done >= total:
            return
        if state != last:
            last, changed = state, time.monotonic()
        elif time.monotonic() - changed > stall_seconds:
            return
        time.sleep(0.1)


def _log_lines(directory: Path) -> Counter[str]:
    """The engine's warnings and errors in the workers' logs (first lines), with times, pids, ids and
    addresses masked so that equal lines count together."""
    lines: Counter[str] = Counter()
    for path in directory.glob("worker-*.log"):
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split(" ", 3)
            if len(parts) == 4 and parts[3].startswith(("WARNING durable", "ERROR durable", "CRITICAL durable")):
                lines[MASK.sub("<…>", parts[3])[:220]] += 1
    return lines


@dataclass
class Schedule:
    """What the chaos did: (pid, time) of each SIGKILL, (down, up) of each database outage."""

    kills: list[tuple[int, float]] = field(default_factory=list)
    outages: list[tuple[float, float]] = field(default_factory=list)

    def save(self, path: Path) -> None:
        lines = [f"kill {pid} {at:.6f}" for pid, at in self.kills]
        path.write_text("\n".join(lines + [f"outage {a:.6f} {b:.6f}" for a, b in self.outages]) + "\n")


def _chaos(rng: random.Random, events: list[str], pg: PrivatePostgres, slots: list[Slot], report: Report) -> Schedule:
    """Play the events at random intervals: SIGKILL a ready worker (its slot restarts it), or restart Postgres."""
    schedule = Schedule()
    for event in events:
        time.sleep(rng.uniform(0.2, 1.0))
        if event == "restart":
            _await_transaction(pg.url())
            down = time.time()
            pg.restart(rng.choice(("fast", "immediate")), down_seconds=rng.uniform(0, 1.0))
            schedule.outages.append((down, time.time()))
            report.restarts += 1
            continue
        order = rng.sample(slots, 2)
        wait_until = time.monotonic() + 10
        while time.monotonic() < wait_until:
            pid = next((p for p in (s.kill() for s in order) if p is not None), None)
            if pid is not None:
                schedule.kills.append((pid, time.time()))
                report.kills += 1
                break
            time.sleep(0.05)
    return schedule


def run_torture(
    *,
    workflows: int = 120,
    kills: int = 20,
    restarts: int = 3,
    seed: int | None = None,
    pause: float = 0.15,
    stall_seconds: float = 6.0,
    keep: Path | None = None,
) -> Report:
    """One torture run in its own Postgres and directory; returns what it found (it asserts nothing).

    `pause`: the longest a plain step sleeps (shorter: more checkpoints per second, busier group commits).
    `keep`: copy the spans, the workers' logs and the chaos schedule there, to look at afterwards."""
    seed = seed if seed is not None else int(os.environ.get("TORTURE_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    report = Report(seed=seed, workflows=workflows)
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)  # the feeder's reconnects during the outages
    started = time.monotonic()
    with PrivatePostgres() as pg, tempfile.TemporaryDirectory(prefix="torture-") as tmp:
        directory, url = Path(tmp), pg.url()
        _prepare(url)
        events = ["kill"] * kills + ["restart"] * restarts
        rng.shuffle(events)
        inputs = {f"t{seed % 1000:03d}-{i:04d}": rng.randrange(1000) for i in range(workflows)}
        slots = [Slot(e, url, directory, pause) for e in EXECUTORS]
        try:
            for slot in slots:
                slot.thread.start()
            for slot in slots:
                slot.ready.wait(30)
            failures: list[str] = []
            expected_chaos = 0.6 * len(events) + 1.0 * restarts  # the gaps, and what a restart takes
            feeder = threading.Thread(target=_feed, args=(url, inputs, expected_chaos, failures), daemon=True)
            feeder.start()
            chaos_started = time.monotonic()
            schedule = _chaos(rng, events, pg, slots, report)
            feeder.join()
            settle_started = time.monotonic()
            report.chaos_seconds = settle_started - chaos_started
            _settle(url, workflows, stall_seconds, limit_seconds=120)
            report.settle_seconds = time.monotonic() - settle_started
            rows, effects = _outcomes(url)
        finally:
            for slot in slots:
                slot.stop()
        spans = read_spans(directory, {pid: at for slot in slots for pid, at in slot.died_at.items()})
        found = report.found
        found.wrong.extend(failures)
        check_outcomes(rows, {wid: expected_output(x) for wid, x in inputs.items()}, found)
        check_effects(effects, spans, {w for w, s, *_ in rows if s == "SUCCESS"}, found)
        check_overlaps(spans, found)
        classify_reruns(spans, schedule.kills, schedule.outages, found)
        report.log_lines = _log_lines(directory)
        if keep is not None:
            shutil.copytree(directory, keep, dirs_exist_ok=True)
            schedule.save(keep / "schedule.log")
    report.seconds = time.monotonic() - started
    return report
