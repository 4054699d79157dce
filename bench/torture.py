"""The long crash torture: `python -m bench.torture [--kills 200 --restarts 20 --workflows 2000 --seed N]`.

Workflows of plain steps and transactions run on two racing worker processes while workers are SIGKILLed
and a private Postgres (its own temporary directory, never the shared server) is restarted at random
moments; then every outcome, transaction effect and step span is checked (see `tests/torture.py`).
Prints the report; exits 1 if anything was lost, duplicated or run twice at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/torture.py` as well as `python -m bench.torture`
    sys.path.insert(0, str(ROOT))

from tests.torture import run_torture  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.torture", description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200, help="SIGKILLs of workers (default %(default)s)")
    parser.add_argument("--restarts", type=int, default=20, help="database restarts (default %(default)s)")
    parser.add_argument("--workflows", type=int, default=2000, help="workflows to run (default %(default)s)")
    parser.add_argument("--pause", type=float, default=0.15, help="longest plain step, seconds (default %(default)s)")
    parser.add_argument("--seed", type=int, help="replay the fault schedule of a seed")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="copy spans, logs and the schedule here")
    args = parser.parse_args(argv)
    report = run_torture(
        workflows=args.workflows,
        kills=args.kills,
        restarts=args.restarts,
        pause=args.pause,
        seed=args.seed,
        keep=args.keep,
    )
    print(report.summary())
    return 1 if report.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
