"""Throughput of 1, 2 and 4 worker processes on one Postgres, and where the limit is (CPU, commits, locks).

    python bench/workers.py [--workflows 2000] [--workers 1,2,4] [--runs 3]

Per worker count: N worker subprocesses (each an Engine on one schema) start their share of the workflows
(three no-op steps each) at once and run them. Throughput is the workflows (and steps) over the first
`created_at` to the last `finished_at`, read from the database's clock. Beside it, what tells the limit:

- CPU: the workers' own CPU time (user + system, reported by each process) and that of the Postgres backends
  of this database (/proc/PID/stat, Postgres on this machine), both in cores over the run; and how busy the
  whole machine was (/proc/stat; the machine is shared, so others' work shows there too);
- commits: `pg_stat_database.xact_commit` of this database, per second (read once the workers have exited,
  since a backend reports its counts when idle or at exit), less the bench's own reads; the workers' reads
  count (a read-only transaction is a commit there too);
- locks: `pg_stat_activity` sampled every 20 ms; of the active backends of this database, the share running
  (no wait event), waiting on the WAL (a commit's flush), on the lock a notifying transaction takes at commit
  (wait event "object": NOTIFY lets one such commit through at a time, across the whole server), or on
  another lock (row or table; the most frequent is kept with its statement). NOTIFY's lock is one for the
  whole server: whose commit holds it (this database's or another's) is sampled too.

A verdict per row says which of them is the limit. Figures are medians over `--runs`, the spread beside.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass

import psycopg
from benchlib import database_url, drop_schemas, median, print_table

from engine import Engine, step, workflow

SCHEMA = "bench_workers"
STEPS = 3
TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
WAL_WAITS = {"WALWrite", "WALSync", "WALInsert", "WALSyncMethodAssign", "WALBufMapping"}


@step(name="bench_workers_noop")
def noop(i: int) -> int:
    return i


@workflow(name="bench_workers_three")
def three(i: int) -> int:
    return noop(i) + noop(i) + noop(i)


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def child(schema: str, first: int, count: int) -> None:
    """One worker process: launch, say ready, start its share on `go`, wait for them, report its CPU time."""
    with Engine(database_url(), f"bench-w-{uuid.uuid4().hex[:6]}", schema=schema) as eng:
        print("ready", flush=True)
        sys.stdin.readline()
        cpu0 = cpu_seconds()
        handles = [eng.start_workflow(three, i) for i in range(first, first + count)]
        for handle in handles:
            handle.result()
        print(json.dumps({"cpu": cpu_seconds() - cpu0}), flush=True)
        sys.stdin.readline()


# what the machine and Postgres say --------------------------------------------------------------------


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def backend_cpu(conn: psycopg.Connection) -> dict[int, float]:
    """CPU seconds so far of each backend of this database (Postgres runs on this machine)."""
    pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")]
    seconds = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            seconds[pid] = (float(fields[11]) + float(fields[12])) / TICKS  # utime, stime
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            pass  # exited since the query, or not visible: the figure is then a lower bound
    return seconds


def commits(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


HOLDER = """
    SELECT a.datname = current_database() FROM pg_locks l JOIN pg_stat_activity a USING (pid)
    WHERE l.locktype = 'object' AND l.classid = 'pg_database'::regclass AND l.objid = 0 AND l.granted"""


class WaitSampler:
    """Every 20 ms, what each active backend of this database is doing: running, or waiting and on what."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.counts: Counter[str] = Counter()
        self.locks: Counter[str] = Counter()
        self.holders: Counter[str] = Counter()  # whose commit held NOTIFY's lock at each sample: ours, others'
        self.samples = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        query = (
            "SELECT state, wait_event_type, wait_event, left(query, 80) FROM pg_stat_activity "
            "WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(0.02):
                self.samples += 1
                for state, kind, event, statement in conn.execute(query):
                    self.counts[classify(state, kind, event)] += 1
                    if kind == "Lock":
                        self.locks[f"{event}: {' '.join(statement.split())}"] += 1
                for (ours,) in conn.execute(HOLDER):
                    self.holders["ours" if ours else "others"] += 1

    def __enter__(self) -> WaitSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def shares(self) -> dict[str, float]:
        """Share of active backend samples by class; and the mean count of active backends."""
        active = sum(n for k, n in self.counts.items() if k not in ("idle", "idle in transaction"))
        shares = {k: n / active for k, n in self.counts.items() if k not in ("idle", "idle in transaction") and active}
        shares["active backends"] = active / self.samples if self.samples else 0.0
        return shares


def classify(state: str | None, kind: str | None, event: str | None) -> str:
    if state in ("idle", "idle in transaction"):
        return state
    if kind is None:
        return "running"
    if kind == "Lock" and event == "object":
        return "notify"  # the database-wide lock NOTIFY holds from before its commit to the commit's end
    if kind == "Lock":
        return "lock"
    if event in WAL_WAITS or (kind == "IO" and event and event.startswith("WAL")):
        return "wal"
    if kind == "Client":
        return "client"
    return "other"


# one run ----------------------------------------------------------------------------------------------


@dataclass
class Run:
    workers: int
    workflows: int
    wall: float
    workers_cpu: float
    postgres_cpu: float
    machine_busy: float
    commits_per_s: float
    running: float
    wal: float
    lock: float
    notify: float
    active_backends: float
    top_lock: str
    notify_held_by_others: float  # of the samples where a commit held NOTIFY's lock, the share from other databases

    @property
    def rate(self) -> float:
        return self.workflows / self.wall

    def limit(self) -> tuple[str, str]:
        """Which resource is the limit, in a word and in a sentence: commits (the WAL flush, NOTIFY's lock), other
        locks, CPU, else round trips."""
        ours = self.workers_cpu + self.postgres_cpu
        cpu = f"machine {self.machine_busy:.0%} busy, ours {ours:.2f} of {CORES} cores"
        if self.notify >= 0.25:
            return "commits (NOTIFY lock)", (
                f"{self.notify:.0%} of active backends wait for the lock NOTIFY holds through a commit "
                f"(one notifying commit at a time on the whole server; held by other databases' commits "
                f"{self.notify_held_by_others:.0%} of the time); {cpu}"
            )
        if self.lock >= 0.25:
            return "locks", f"{self.lock:.0%} of active backends wait on a lock ({self.top_lock}); {cpu}"
        if self.wal >= 0.25:
            return "commits (WAL flush)", f"{self.wal:.0%} of active backends wait on the WAL flush; {cpu}"
        if self.machine_busy >= 0.9 or ours >= 0.9 * CORES:
            return "CPU", f"{cpu} (workers {self.workers_cpu:.2f}, Postgres {self.postgres_cpu:.2f})"
        if self.workers_cpu / self.workers >= 0.9:
            return "CPU (GIL)", f"worker processes {self.workers_cpu / self.workers:.2f} core each, one GIL each"
        return "round trips", f"no resource saturated ({cpu})"

    def verdict(self) -> str:
        word, sentence = self.limit()
        return f"{word}: {sentence}"


def wait_success(conn: psycopg.Connection, schema: str, workflows: int, procs: list[subprocess.Popen]) -> int:
    """Poll until every workflow is SUCCESS; the number of polls (each a transaction of its own)."""
    done = f"SELECT count(*) FROM {schema}.workflows WHERE status = 'SUCCESS' AND name = 'bench_workers_three'"
    polls = 1
    while conn.execute(done).fetchone()[0] < workflows:  # type: ignore[index]
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a worker exited early")
        time.sleep(0.01)
        polls += 1
    return polls


def measure(url: str, workers: int, workflows: int) -> Run:
    schema = f"{SCHEMA}_{workers}"
    drop_schemas(url, schema)
    with Engine(url, "bench-w-setup", schema=schema):
        pass  # creates the schema before the workers race to
    share, extra = divmod(workflows, workers)
    procs, first = [], 0
    for w in range(workers):
        count = share + (w < extra)
        argv = [sys.executable, __file__, "--child", "--schema", schema, "--first", str(first), "--count", str(count)]
        procs.append(subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        first += count
    try:
        for p in procs:
            if p.stdout is None or p.stdout.readline().strip() != "ready":
                raise SystemExit(f"a worker did not start (exit code {p.wait()})")
        with psycopg.connect(url, autocommit=True) as conn:
            commits0, pg0, busy0 = commits(conn), backend_cpu(conn), machine_busy()
            began = time.perf_counter()
            with WaitSampler(url) as sampler:
                for p in procs:
                    p.stdin.write("go\n")  # type: ignore[union-attr]
                    p.stdin.flush()  # type: ignore[union-attr]
                polls = wait_success(conn, schema, workflows, procs)
            window = time.perf_counter() - began
            pg1, busy1 = backend_cpu(conn), machine_busy()
            workers_cpu = sum(json.loads(p.stdout.readline())["cpu"] for p in procs)  # type: ignore[union-attr]
            first_created, last_finished = conn.execute(
                f"SELECT min(created_at), max(finished_at) FROM {schema}.workflows WHERE name = 'bench_workers_three'"
            ).fetchone()  # type: ignore[misc]
            stop(procs)
            gone(conn)
            # xact_commit counts read-only transactions too: leave out the bench's own (polls, samples of two
            # queries, the reads between the two counts)
            committed = commits(conn) - commits0 - polls - 2 * sampler.samples - 4
    finally:
        stop(procs)
        drop_schemas(url, schema)
    wall = (last_finished - first_created).total_seconds()
    shares = sampler.shares()
    return Run(
        workers=workers,
        workflows=workflows,
        wall=wall,
        workers_cpu=workers_cpu / window,
        postgres_cpu=sum(s - pg0.get(pid, 0.0) for pid, s in pg1.items()) / window,
        machine_busy=(busy1[0] - busy0[0]) / (busy1[1] - busy0[1]),
        commits_per_s=committed / window,
        running=shares.get("running", 0.0),
        wal=shares.get("wal", 0.0),
        lock=shares.get("lock", 0.0),
        notify=shares.get("notify", 0.0),
        active_backends=shares["active backends"],
        top_lock=next(iter(sampler.locks.most_common(1)), ("none", 0))[0],
        notify_held_by_others=sampler.holders["others"] / max(1, sum(sampler.holders.values())),
    )


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None and p.stdin and not p.stdin.closed:
            p.stdin.write("stop\n")
            p.stdin.close()
    for p in procs:
        p.wait(timeout=60)


def gone(conn: psycopg.Connection) -> None:
    """Until the workers' backends have exited (and so reported their commit counts), at most 5 s."""
    deadline = time.monotonic() + 5
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    while conn.execute(query).fetchone()[0] > 0 and time.monotonic() < deadline:  # type: ignore[index]
        time.sleep(0.02)


# the summary ------------------------------------------------------------------------------------------


@dataclass
class Summary:
    """The median run of one worker count (by throughput) and the spread of the throughput."""

    workers: int
    runs: list[Run]

    @property
    def middle(self) -> Run:
        return sorted(self.runs, key=lambda r: r.rate)[len(self.runs) // 2]

    def row(self) -> list[object]:
        m, rates = self.middle, [r.rate for r in self.runs]
        return [
            f"{self.workers} worker(s)",
            round(median(rates)),
            f"{min(rates):.0f}-{max(rates):.0f}",
            round(median(rates) * STEPS),
            round(m.commits_per_s),
            f"{m.workers_cpu:.2f}",
            f"{m.postgres_cpu:.2f}",
            f"{m.machine_busy:.0%}",
            f"{m.running:.0%}/{m.wal:.0%}/{m.notify:.0%}/{m.lock:.0%}",
        ]

    def as_json(self) -> dict[str, object]:
        return {
            "workers": self.workers,
            "workflows_per_s": median([r.rate for r in self.runs]),
            "steps_per_s": median([r.rate for r in self.runs]) * STEPS,
            "verdict": self.middle.verdict(),
            "runs": [{**asdict(r), "workflows_per_s": r.rate} for r in self.runs],
        }


HEADERS = [
    "workers",
    "workflows/s",
    "spread",
    "steps/s",
    "commits/s",
    "workers CPU (cores)",
    "Postgres CPU (cores)",
    "machine busy",
    "active backends: running/WAL/NOTIFY lock/other locks",
]


def measure_all(url: str, workflows: int, counts: list[int], runs: int) -> list[Summary]:
    """Round-robin over the counts `runs` times, so background load falls on each alike."""
    found: dict[int, list[Run]] = {n: [] for n in counts}
    for _ in range(runs):
        for n in counts:
            found[n].append(measure(url, n, workflows))
    return [Summary(n, found[n]) for n in counts]


def report(summaries: list[Summary], workflows: int) -> None:
    print_table(
        f"{workflows} three-step workflows started at once by N worker processes on one Postgres, "
        f"{len(summaries[0].runs)} run(s) each (median run; {CORES} cores)",
        HEADERS,
        [s.row() for s in summaries],
    )
    for s in summaries:
        print(f"{s.workers} worker(s): limit: {s.middle.verdict()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflows", type=int, default=2000, help="workflows per run (default 2000)")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker process counts (default 1,2,4)")
    parser.add_argument("--runs", type=int, default=3, help="runs per worker count (default 3)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.schema, args.first, args.count)
        return
    try:
        counts = [int(n) for n in args.workers.split(",")]
    except ValueError:
        parser.error(f"--workers takes counts like 1,2,4, not {args.workers!r}")
    if args.workflows < 1 or args.runs < 1 or any(n < 1 for n in counts):
        parser.error("--workflows, --runs and each --workers count must be at least 1")
    report(measure_all(database_url(), args.workflows, counts, args.runs), args.workflows)


if __name__ == "__main__":
    main()
