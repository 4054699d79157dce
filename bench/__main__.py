"""`python -m bench`: the benchmark suite, one table (ours, DBOS, the raw Postgres floor, ratios, targets), and
the same as JSON.

    python -m bench [--quick] [--only steps,start,...] [--systems ours,dbos,raw] [--history N] [--json FILE]

Every part runs on $DURABLE_DATABASE_URL (default postgresql://root@127.0.0.1:5432/test) in schemas of its
own, dropped after. DBOS is measured when installed (`pip install -e '.[bench]'`), "not installed" otherwise.
`--quick` is a smoke run of a minute: tiny sizes, figures that say nothing of the targets.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import psycopg

from bench.suite import HEADERS, PARTS, QUICK, Context, Line, Sizes, database_url, dbos_state, print_table


def machine(url: str, systems: list[str]) -> dict[str, object]:
    """What the figures were measured on, for the JSON and the table's title."""
    from importlib.metadata import PackageNotFoundError, version

    with psycopg.connect(url) as conn:
        server = conn.execute("SELECT current_setting('server_version')").fetchone()[0]  # type: ignore[index]
    try:
        dbos = version("dbos") if dbos_state(systems) is None else None
    except PackageNotFoundError:
        dbos = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "postgres": server,
        "python": platform.python_version(),
        "dbos": dbos,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not a measurement")
    parser.add_argument("--only", help=f"comma-separated parts, of: {','.join(PARTS)} (default all)")
    parser.add_argument("--systems", default="ours,dbos,raw", help="comma-separated: ours, dbos, raw")
    parser.add_argument("--history", type=int, help="finished workflows in the history part (default 100,000)")
    parser.add_argument("--json", default="bench-results.json", metavar="FILE", help="(default %(default)s)")
    args = parser.parse_args(argv)
    parts = args.only.split(",") if args.only else list(PARTS)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; the parts are {', '.join(PARTS)}")
    systems = args.systems.split(",")
    sizes = dataclasses.replace(QUICK if args.quick else Sizes())
    if args.history is not None:
        sizes.history_workflows = args.history
    url = database_url()
    ctx = Context(url, sizes, systems, dbos_state(systems))
    about = machine(url, systems)
    lines: list[Line] = []
    details: dict[str, object] = {}
    seconds: dict[str, float] = {}
    for name in parts:
        print(f"== {name}", flush=True)
        began = time.perf_counter()
        part_lines, details[name] = PARTS[name](ctx)
        seconds[name] = time.perf_counter() - began
        lines += part_lines
        print(f"== {name}: {seconds[name]:.1f} s", flush=True)

    dbos = f"DBOS {about['dbos']}" if about["dbos"] else f"DBOS {ctx.dbos}"
    print_table(
        f"python -m bench{' --quick' if args.quick else ''}: {about['date']}, {about['cores']} cores, "
        f"PostgreSQL {about['postgres']}, {dbos}",
        HEADERS,
        [line.cells() for line in lines],
    )
    if any(line.unjudged for line in lines):
        print(f"* not judged: the DBOS part of the target (DBOS {ctx.dbos})")
    if args.quick:
        print("--quick: tiny sizes; the targets are set for the default sizes, so met/NOT met says nothing here")
    for summary in details.get("workers", []):  # type: ignore[attr-defined]
        print(f"{summary['workers']} worker(s): limit: {summary['verdict']}")
    path = Path(args.json)
    path.write_text(
        json.dumps(
            {
                "machine": about,
                "quick": args.quick,
                "sizes": dataclasses.asdict(sizes),
                "seconds": seconds,
                "figures": [dataclasses.asdict(line) for line in lines],
                "details": details,
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nJSON: {path.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
