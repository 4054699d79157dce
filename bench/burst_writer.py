"""One writer process of the dashboard's burst (bench/tui_latency.py): an application enqueueing workflows.

    python bench/burst_writer.py URL SCHEMA PART PARTS THREADS RATE SECONDS

Each of its THREADS threads is a request handler calling `Control.enqueue_workflow` (one row committed, then its
notification and a wake sent after the commit), one call at a time, on the common schedule of RATE calls per
second over all PARTS processes: thread t of process PART makes calls number k, k + PARTS*THREADS, ... with
k = PART*THREADS + t. It imports the engine only (no Textual), connects, prints `ready`, then waits for the start
time (a `time.time()` value) on stdin, so every process counts its schedule from the same instant. It stops at
SECONDS after that instant, however far behind it is, and prints how many calls it made.
"""

from __future__ import annotations

import sys
import threading
import time

from engine import Control


def write(control: Control, first: int, stride: int, rate: int, start: float, seconds: float) -> int:
    n, made = first, 0
    while time.time() - start < seconds:
        target = int((time.time() - start) * rate) + 1  # commit n is due at n / rate: the first at the start
        while n < target:
            control.enqueue_workflow("bench.none", workflow_id=f"burst-{n:06d}")
            n += stride
            made += 1
        time.sleep(0.001)
    return made


def main() -> None:
    url, schema, part, parts, threads, rate, seconds = sys.argv[1:8]
    p, ps, ts = int(part), int(parts), int(threads)
    made = [0] * ts
    with Control(url, schema=schema) as control:
        print("ready", flush=True)
        start = float(sys.stdin.readline())
        time.sleep(max(0.0, start - time.time()))

        def thread(t: int) -> None:
            made[t] = write(control, p * ts + t, ps * ts, int(rate), start, float(seconds))

        workers = [threading.Thread(target=thread, args=(t,)) for t in range(ts)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    print(sum(made), flush=True)


if __name__ == "__main__":
    main()
