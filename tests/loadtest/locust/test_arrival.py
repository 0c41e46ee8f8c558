"""The open model's timetable, in a Locust-free gevent process of its own (importing gevent's
monkey-patching into pytest's process would change every other test's threads)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# Users that are always free (an iteration costs nothing) take every slot of 1 s at 1,000/s:
# the slots due within a tick start together, none earlier than a tick before it is due.
SCRIPT = textwrap.dedent(
    """
    import gevent.monkey
    gevent.monkey.patch_all()
    import json, time
    import gevent
    from spendcast.loadtest.locust.arrival import LATE_S, TICK_S, TIMETABLE
    from spendcast.loadtest.run.load_plan import LoadPlan

    TIMETABLE.configure(LoadPlan.constant_rate(1000, 1, 8).schedule(), time.time() + 0.2)
    starts = []

    def user():
        while True:
            due = TIMETABLE.take()
            starts.append((due, time.time()))

    users = [gevent.spawn(user) for _ in range(8)]
    gevent.sleep(1.5)
    gevent.killall(users)
    counters = TIMETABLE.counters()
    print(json.dumps({"starts": starts, "tick": TICK_S, "late_s": LATE_S, **counters}))
    """
)


def test_slots_start_in_ticks_never_earlier_than_a_tick_and_all_of_them() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(done.stdout)
    starts = result["starts"]
    assert result["sent"] == len(starts) == 1000
    assert result["dropped"] == 0
    dues = [due for due, _ in starts]
    assert dues == sorted(dues)
    assert len(set(dues)) == 1000
    early = [due - start for due, start in starts if start < due]
    assert early  # the tick's branch is reached: slots started before they were due...
    assert max(early) <= result["tick"]  # ...but never more than a tick before
    assert result["late"] == sum(1 for due, start in starts if start - due > result["late_s"])
