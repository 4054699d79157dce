"""What the crash torture checks, from what it recorded: the workflows' rows, the effects, the step spans.

- every workflow SUCCESS with the right output;
- every transaction's effect exactly once;
- no two runs of one workflow at once (its steps are sequential, so any overlap of its spans, in one
  process or two, means it ran twice at the same time);
- a plain step runs again only if the process running it was SIGKILLed, or the database went down, after
  it started and before the next run (its checkpoint could not have committed): anything else is unexplained.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Span:
    workflow_id: str
    step_id: int
    kind: str
    attempt: int
    pid: int
    start: float
    end: float | None


def read_spans(directory: Path, died_at: dict[int, float]) -> list[Span]:
    """Pair the start and end lines of every run; a run cut by its process's death ends at that death."""
    open_runs: dict[tuple[str, int, int], tuple[str, int, float]] = {}
    spans: list[Span] = []
    for path in sorted(directory.glob("spans-*.log")):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) != 7:
                continue  # a line torn by a SIGKILL mid-write
            event, wid, step_id, kind, attempt, pid, at = parts
            key = (wid, int(step_id), int(pid))
            if event == "start":
                open_runs[key] = (kind, int(attempt), float(at))
            elif key in open_runs:
                kind, n, start = open_runs.pop(key)
                spans.append(Span(wid, int(step_id), kind, n, int(pid), start, float(at)))
    for (wid, step_id, pid), (kind, n, start) in open_runs.items():
        spans.append(Span(wid, step_id, kind, n, pid, start, died_at.get(pid)))
    return sorted(spans, key=lambda s: s.start)


@dataclass
class Findings:
    wrong: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: dict[str, str] = field(default_factory=dict)
    stranded: list[str] = field(default_factory=list)
    duplicated_effects: list[str] = field(default_factory=list)
    missing_effects: list[str] = field(default_factory=list)
    overlaps: list[str] = field(default_factory=list)
    reruns: Counter[str] = field(default_factory=Counter)
    unexplained: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = []
        if self.wrong:
            out.append(f"{len(self.wrong)} workflow(s) not SUCCESS with the right output, e.g. {self.wrong[:3]}")
        if self.errors:
            out.append(f"ERROR outcomes: {dict(self.errors)}; e.g. {self.error_examples}")
        if self.stranded:
            out.append(f"{len(self.stranded)} workflow(s) stranded PENDING/ENQUEUED, e.g. {self.stranded[:3]}")
        if self.duplicated_effects:
            out.append(f"transaction effects duplicated: {self.duplicated_effects[:5]}")
        if self.missing_effects:
            out.append(f"transaction effects missing in SUCCESS workflows: {self.missing_effects[:5]}")
        if self.overlaps:
            out.append(f"{len(self.overlaps)} workflow(s) ran twice at once, e.g. {self.overlaps[:3]}")
        if self.unexplained:
            out.append(f"{len(self.unexplained)} unexplained re-run(s) of plain steps, e.g. {self.unexplained[:3]}")
        return out


def check_outcomes(rows: list[tuple[str, str, Any, Any]], expected: dict[str, Any], found: Findings) -> None:
    """`rows`: (workflow_id, status, output, error) of every workflow the torture started."""
    seen = {wid for wid, *_ in rows}
    found.wrong.extend(f"{wid}: never written" for wid in expected if wid not in seen)
    for wid, status, output, error in rows:
        found.statuses[status] += 1
        if status == "SUCCESS" and output == expected[wid]:
            continue
        found.wrong.append(f"{wid}: {status} {output!r}")
        if status == "ERROR":
            kind = (error or {}).get("type", "?")
            found.errors[kind] += 1
            found.error_examples.setdefault(kind, f"{wid}: {(error or {}).get('message', '')[:160]}")
        elif status in ("PENDING", "ENQUEUED"):
            found.stranded.append(wid)


def check_effects(effects: Counter[tuple[str, int]], spans: list[Span], succeeded: set[str], found: Findings) -> None:
    """Each transaction step of a SUCCESS workflow has exactly one effect row; none anywhere has two."""
    found.duplicated_effects.extend(f"{w} step {s}: {n} rows" for (w, s), n in sorted(effects.items()) if n > 1)
    txn_steps = {(s.workflow_id, s.step_id) for s in spans if s.kind == "transaction"}
    found.missing_effects.extend(
        f"{w} step {s}" for (w, s) in sorted(txn_steps) if w in succeeded and effects[(w, s)] == 0
    )


def check_overlaps(spans: list[Span], found: Findings) -> None:
    by_workflow: dict[str, list[Span]] = defaultdict(list)
    for s in spans:
        by_workflow[s.workflow_id].append(s)
    for wid, runs in by_workflow.items():
        runs.sort(key=lambda s: s.start)
        for before, after in pairwise(runs):
            end = before.end if before.end is not None else float("inf")
            if after.start < end:
                where = f"step {before.step_id} pid {before.pid} / step {after.step_id} pid {after.pid}"
                found.overlaps.append(f"{wid}: {where}, {end - after.start:.3f}s overlap")
                break


def classify_reruns(
    spans: list[Span], kills: list[tuple[int, float]], outages: list[tuple[float, float]], found: Findings
) -> None:
    """Each later run of a plain step is explained by a kill of the earlier run's process, or an outage,
    between the earlier run's start and the later run's start."""
    runs: dict[tuple[str, int], list[Span]] = defaultdict(list)
    for s in spans:
        if s.kind == "step":
            runs[(s.workflow_id, s.step_id)].append(s)
    for (wid, step_id), seq in runs.items():
        for before, after in pairwise(seq):
            if any(pid == before.pid and before.start <= at <= after.start for pid, at in kills):
                found.reruns["runner died"] += 1
            elif any(down <= after.start and up >= before.start for down, up in outages):
                found.reruns["database restarted before its checkpoint"] += 1
            else:
                found.reruns["unexplained"] += 1
                found.unexplained.append(f"{wid} step {step_id} (pids {before.pid}, {after.pid})")
