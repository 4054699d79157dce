"""The crash torture, short: 2 racing workers, >= 20 SIGKILLs and >= 3 database restarts of a private Postgres.

`python -m bench.torture` runs the long one (>= 200 kills, >= 20 restarts). On failure the report names the
seed: `TORTURE_SEED=<seed> pytest tests/test_torture.py` replays the same schedule of faults.
"""

from __future__ import annotations

from tests.torture import run_torture


def test_workflows_survive_sigkills_and_database_restarts() -> None:
    report = run_torture(workflows=600, kills=20, restarts=3, pause=0.05)
    print(report.summary())
    assert report.kills >= 20 and report.restarts >= 3, report.summary()
    assert report.problems() == [], report.summary()
    assert report.found.statuses == {"SUCCESS": 600}
