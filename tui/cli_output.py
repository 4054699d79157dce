"""How the CLI prints records: JSON for scripts (`--json`), aligned columns for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any


def json_default(value: Any) -> Any:
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return str(value)


def print_json(value: Any) -> None:
    print(json.dumps(value, default=json_default, indent=2))


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str) -> None:
    """Columns padded to their widest cell; the last one is left ragged."""
    if not rows:
        print(empty)
        return
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    for line in [list(headers), *cells]:
        print("  ".join(c.ljust(w) for c, w in zip(line[:-1], widths[:-1], strict=True)) + "  " + line[-1])
