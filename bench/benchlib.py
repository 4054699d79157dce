"""Shared helpers of the benchmark scripts: where Postgres is, fresh schemas, percentiles, one table.

Benchmarks are scripts that print figures, never timed assertions: run them on an idle machine and
read the table. Each script uses schemas of its own, dropped before and after a run.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence

import psycopg

DEFAULT_URL = "postgresql://root@127.0.0.1:5432/test"


def database_url() -> str:
    return os.environ.get("DURABLE_DATABASE_URL") or DEFAULT_URL


def drop_schemas(url: str, *schemas: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Right-aligned numbers, left-aligned first column."""
    cells = [[c if isinstance(c, str) else f"{c:.3f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print(f"\n{title}")
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    print(line)
    print("-" * len(line))
    for row in cells:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))


def launch_dbos(name: str, url: str, schema: str) -> str:
    """DBOS (an optional dependency: the `bench` extra) on `schema` of the same Postgres, launched quietly after
    a fresh schema; returns its version for the table."""
    import logging
    from importlib.metadata import version

    from dbos import DBOS

    drop_schemas(url, schema)
    config = {"name": name, "system_database_url": url, "dbos_system_schema": schema}
    DBOS(config={**config, "run_admin_server": False, "log_level": "WARNING"})  # type: ignore[typeddict-item]
    DBOS.launch()
    logging.getLogger("dbos").setLevel(logging.WARNING)
    return version("dbos")
