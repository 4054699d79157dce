"""Duration formatting and change coalescing of the dashboard (no database, no app)."""

from __future__ import annotations

from engine.feed import Event
from tui.format import seconds
from tui.live import Changes


def test_durations_are_compact_at_every_scale():
    assert [seconds(v) for v in (0.25, 12.5, 245, 7620, 273600, -3)] == [
        "0.2s", "12.5s", "4m05s", "2h07m", "3d04h", "0.0s"
    ]  # fmt: skip


def test_a_burst_of_events_folds_into_one_change_set():
    changes = Changes()
    for n in range(1000):
        changes.add(Event("s", f"wf-{n % 3}", "RUNNING", 1, 1))
    changes.add(Event("w", "wf-0", "SUCCESS"))
    changes.add(Event("e", "exec-1"))
    assert changes.workflows == {"wf-0", "wf-1", "wf-2"} and changes.workflow_status
    assert changes.executors and not changes.faults and changes.events == 1002
    assert not Changes() and Changes.all().everything
