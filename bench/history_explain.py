"""EXPLAIN ANALYZE of every statement the engine and the dashboard run often, against a schema with a history.

Each statement runs with realistic parameters inside a transaction that is rolled back (the claims and
sweeps write), so the history stays as it was. A plan that reads a history table (`workflows`, `steps`,
`attempts`) with a sequential scan is flagged: at a million rows that is the cost that grows with time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg

from engine.store.queries import for_schema
from engine.store.reads import FILTERS, SORTS, filter_params, list_statement

HISTORY_TABLES = ("workflows", "steps", "attempts")
NO_JIT = "-c jit=off"  # as the engine's connections (engine/store/connection.py)
PAGE = 50
ME = "executor-new"


def _statements(schema: str, names: list[str], wid: str) -> Iterator[tuple[str, str, Any]]:
    sql = for_schema(schema)
    lease = {"lease": 5.0}
    every = [n for n in names]
    yield (
        "record_first_success",
        sql["record_first_success"],
        {
            "wid": wid,
            "sid": 6,
            "name": "s",
            "kind": "step",
            "max": 1,
            "output": "1",
            "child": None,
            "started": None,
            "me": ME,
            "skew": 0.0,
            "later": "on",
        },
    )
    yield (
        "record_step",
        sql["record_step"],
        {
            "wid": wid,
            "sid": 6,
            "name": "s",
            "kind": "step",
            "status": "ERROR",
            "attempt": 1,
            "max": 1,
            "delay": 0.0,
            "output": None,
            "error": '{"type": "E"}',
            "child": None,
            "started": None,
            "final": True,
            "policy": None,
            "etype": "E",
            "emsg": "m",
            "etb": "",
            "reason": "error",
            "with_attempt": True,
            "me": ME,
            "skew": 0.0,
            "later": "on",
        },
    )
    yield (
        "enqueue_workflow",
        sql["enqueue_workflow"],
        {"wid": "new-wf", "name": "orders.checkout", "inputs": "{}", "timeout": None, "later": "on"},
    )
    finish = {
        "ids": [wid],
        "statuses": ["SUCCESS"],
        "results": ["1"],
        "errors": [None],
        "me": ME,
        "skew": 0.0,
        "later": "on",
        "events": f"{schema}_events",
    }
    yield "finish_workflows", sql["finish_workflows"], finish
    first_successes = {
        "wids": [wid],
        "sids": [7],
        "names": ["s"],
        "kinds": ["step"],
        "maxes": [1],
        "outputs": ["1"],
        "children": [None],
        "starteds": [None],
        "skews": [0.0],
        "owners": [ME],
        "later": "on",
    }
    yield "record_first_successes", sql["record_first_successes"], first_successes
    yield (
        "record_first_successes_and_finish",
        sql["record_first_successes_and_finish"],
        first_successes | finish,
    )
    yield "steps_for_run", sql["steps_for_run"], {"ids": [wid], "skew": 0.0}
    yield "heartbeat", sql["heartbeat"], (0, ME)
    yield (
        "claim_own",
        sql["claim_own"],
        {"names": every, "limits": [3] * len(every), "default_limit": 3, "me": ME, "died": True},
    )
    yield "claim_dead", sql["claim_dead"], {"names": every, "limits": [3] * len(every), "me": ME, "limit": 100, **lease}
    yield "claim_enqueued", sql["claim_enqueued"], {"names": every, "me": ME, "limit": 10}
    yield "explain_waiting", sql["explain_waiting"], lease
    yield "queue_outlook", sql["queue_outlook"], {"queues": ["emails", "billing"], "names": every}
    yield "ready_partitions", sql["ready_partitions"], {"queue": "emails", "names": every}
    yield (
        "rate_window_opens",
        sql["rate_window_opens"],
        {"queue": "emails", "partition": "", "period": 30.0, "limit": 50},
    )
    yield (
        "claim_queue",
        sql["claim_queue"],
        {
            "queue": "emails",
            "partition": "",
            "me": ME,
            "period": 30.0,
            "names": every,
            "capacity": 10,
            "concurrency": 5,
            "worker_concurrency": None,
            "rate_limit": 50,
            "where": "queue emails",
            "rate_reason": "rate limit reached",
        },
    )
    yield "time_out (sweep)", sql["time_out"], {"ids": None, "limit": 1000, "sources": ["PENDING", "ENQUEUED"]}
    yield "deadlines_of", sql["deadlines_of"], ([wid],)
    yield "schedules_all", sql["schedules_all"], None
    yield "send_message", sql["send_message"], {"target": wid, "topic": "", "value": "1", "key": None}
    yield "workflows_by_id (detail)", sql["workflows_by_id"], {"ids": [wid], **lease}
    yield "steps_by_workflow (detail)", sql["steps_by_workflow"], ([wid],)
    yield "attempts_by_workflow (detail)", sql["attempts_by_workflow"], ([wid],)
    yield "children_of (detail)", sql["children_of"], ([wid],)
    yield "forks_of (detail)", sql["forks_of"], ([wid],)
    yield "workflow_names", sql["workflow_names"], None
    yield "executors (workers screen)", sql["executors"], lease
    yield "queue_figures (queues screen)", sql["queue_figures"], None
    yield "queue_starts (queues screen)", sql["queue_starts"], {"bucket": 9.0, "span": 360.0}
    yield "status_counts (header)", sql["status_counts"], None
    filters: list[dict[str, str]] = [
        {},
        {"status": "ERROR"},
        {"status": "CANCELLED"},
        {"name": names[0]},
        {"id_prefix": wid[:3]},
        {"queue": "emails"},
    ]
    for f in filters:
        params = filter_params(f.get("status"), f.get("name"), f.get("id_prefix"), f.get("queue"))
        label = ",".join(f"{k}={v}" for k, v in f.items()) or "all"
        head = "workflow_count_head"
        yield f"count [{label}]", list_statement(sql, head, params), params
        for sort in SORTS:
            query = list_statement(sql, "workflow_summaries_head", params, sort, "workflow_page", *_tail(sql))
            yield f"page [{label}] by {sort}", query, {**params, "limit": PAGE, "offset": 0, **lease}
    assert set(FILTERS) >= {k for f in filters for k in f}


def explain(url: str, schema: str, names: list[str], wid: str) -> list[tuple[str, float, bool]]:
    """(label, execution ms, a history table read by a sequential scan) for each statement."""
    results = []
    with psycopg.connect(url, options=NO_JIT) as conn:
        for label, text, params in _statements(schema, names, wid):
            if params is None and "%" in text.replace("%%", ""):
                continue
            try:
                row = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {text}", params).fetchone()
            except psycopg.Error as e:
                conn.rollback()
                results.append((f"{label}: {type(e).__name__} {str(e).splitlines()[0]}", float("nan"), False))
                continue
            conn.rollback()
            plan = row[0][0] if row else {}
            results.append((label, float(plan.get("Execution Time", float("nan"))), _seq_scans(plan["Plan"])))
    return results


def _tail(sql: Any) -> list[str]:
    """The tail block of the list page, where this version of the store has one."""
    return ["workflow_summaries_tail"] if "workflow_summaries_tail" in sql else []


def _seq_scans(node: dict[str, Any]) -> bool:
    if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in HISTORY_TABLES:
        return True
    return any(_seq_scans(child) for child in node.get("Plans", []))


def plan_text(url: str, schema: str, names: list[str], wid: str, label: str) -> str:
    with psycopg.connect(url, options=NO_JIT) as conn:
        for name, text, params in _statements(schema, names, wid):
            if name == label:
                rows = conn.execute(f"EXPLAIN (ANALYZE) {text}", params).fetchall()
                conn.rollback()
                return "\n".join(r[0] for r in rows)
    return json.dumps(f"no statement {label!r}")
