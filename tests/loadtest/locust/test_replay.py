"""The replay on the Locust side: each process takes its share of the trace in order, and each
user learns which request its slot is (in a fresh interpreter: Locust patches the process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, time
    from spendcast.loadtest.locust import replay
    from spendcast.loadtest.locust.arrival import TIMETABLE
    from spendcast.loadtest.shared.trace import OffsetSchedule, Replayed

    offsets = [0.0, 0.01, 0.01, 0.03, 0.05, 0.08, 0.08]
    replay._REPLAY.requests = tuple(Replayed(o, "GET", f"/r{k}", None)
                                    for k, o in enumerate(offsets))
    TIMETABLE.configure(OffsetSchedule(offsets), time.time() + 0.05, index=1, count=2)
    taken = []
    for _ in range(3):  # process 1 of 2: requests 1, 3, 5
        due = TIMETABLE.take()
        taken.append([TIMETABLE.iteration(), round(due - TIMETABLE.origin, 6),
                      replay._next_request().path])
    print(json.dumps({"taken": taken, "counters": TIMETABLE.counters()}))
    """
)


def test_a_process_sends_its_share_of_the_trace_in_order_at_its_times() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    out = json.loads(done.stdout)
    assert out["taken"] == [[1, pytest.approx(0.01), "/r1"], [3, pytest.approx(0.03), "/r3"],
                            [5, pytest.approx(0.08), "/r5"]]  # fmt: skip
    assert out["counters"]["dropped"] == 0
    assert out["counters"]["sent"] == 3
