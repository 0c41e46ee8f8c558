"""The open model's timetable, in a Locust-free gevent process of its own (importing gevent's
monkey-patching into pytest's process would change every other test's threads)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter

import pytest

# Users that are always free (an iteration costs nothing) take every slot of 1 s at 1,000/s:
# the slots due within a tick start together, none earlier than a tick before it is due.
SCRIPT = textwrap.dedent(
    """
    import gevent.monkey
    gevent.monkey.patch_all()
    import json, sys, time
    import gevent
    from spendcast.loadtest.locust.arrival import TIMETABLE
    from spendcast.loadtest.locust.timetable import LATE_S, TICK_S
    from spendcast.loadtest.shared.load_plan import LoadPlan

    TIMETABLE.configure(LoadPlan.constant_rate(1000, 1, 8).schedule(), time.time() + 0.2)
    starts = []

    def user(number):
        while True:
            due = TIMETABLE.take()
            starts.append((due, time.time(), number))

    users = [gevent.spawn(user, number) for number in range(int(sys.argv[1]))]
    gevent.sleep(1.5)
    gevent.killall(users)
    counters = TIMETABLE.counters()
    print(json.dumps({"starts": starts, "tick": TICK_S, "late_s": LATE_S, **counters,
                      "unqueued": TIMETABLE.unqueued}))
    """
)


@pytest.mark.parametrize("users", [1, 8])
def test_slots_start_in_ticks_never_earlier_than_a_tick_and_all_of_them(users: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(users)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout)
    starts = result["starts"]
    assert result["sent"] == len(starts) == 1000
    assert result["dropped"] == 0
    dues = [due for due, _, _ in starts]
    assert dues == sorted(dues)
    assert len(set(dues)) == 1000
    early = [due - start for due, start, _ in starts if start < due]
    assert early  # the tick's branch is reached: slots started before they were due...
    assert max(early) <= result["tick"]  # ...but never more than a tick before
    late = sum(1 for due, start, _ in starts if start - due > result["late_s"])
    assert result["late"] == late
    if users == 1:
        # Back while its tick still has slots, with nobody waiting, a user takes one at once;
        # the first of each tick comes from the hand-out.
        assert 0 < result["unqueued"] < result["sent"]
    else:
        # Nobody takes a slot before the users waiting longer: the slots go round the queue.
        assert result["unqueued"] == 0
        shares = Counter(number for _, _, number in starts)
        assert max(shares.values()) - min(shares.values()) <= 1
        assert [number for _, _, number in starts[:users]] == sorted(range(users))


# One user, step by step: the slots a tick computes ahead follow a rate change, are dropped when
# nobody was free, and are not counted twice when the test stops.
STEPS = textwrap.dedent(
    """
    import json, time
    import gevent
    from spendcast.loadtest.locust.arrival import TIMETABLE
    from spendcast.loadtest.shared.load_plan import ArrivalSchedule
    from spendcast.loadtest.shared.recording import Recording

    recording = TIMETABLE.recording = Recording()
    out = {}
    # started 3 ms ago: slots 0, 1, 2 and 3 are due (none LATE_S late), computed together
    TIMETABLE.configure(ArrivalSchedule.open_ended(1000), time.time() - 0.003)
    out["first"] = TIMETABLE.take() - TIMETABLE.origin
    out["ahead"] = len(TIMETABLE._ready)  # the rest of the tick, computed with the first
    TIMETABLE.set_rate(10, now=TIMETABLE.origin)  # 10/s from time 0 on: the next at 0.1 s
    out["after_switch"] = TIMETABLE.take() - TIMETABLE.origin

    TIMETABLE.configure(ArrivalSchedule.open_ended(1000), time.time())
    TIMETABLE.reset_counters()
    TIMETABLE.take()
    gevent.sleep(0.05)  # busy: the slots due meanwhile find nobody free
    out["late_take"] = TIMETABLE.take() - TIMETABLE.origin
    out["busy"] = TIMETABLE.counters()
    out["next_j"] = TIMETABLE.next_j
    TIMETABLE.settle(now=TIMETABLE.origin + 1.0)
    out["settled"] = TIMETABLE.counters()
    out["recorded"] = [sum(getattr(a, key) for a in recording.arrivals.values())
                       for key in ("started", "dropped")]
    print(json.dumps(out))
    """
)


def test_computed_slots_follow_rate_changes_and_drops_and_count_once() -> None:
    done = subprocess.run(
        [sys.executable, "-c", STEPS], capture_output=True, text=True, timeout=60, check=True
    )
    out = json.loads(done.stdout)
    assert out["first"] == 0.0
    assert out["ahead"] >= 1  # so the switch had slots at 1,000/s to forget...
    assert out["after_switch"] == pytest.approx(0.1)  # ...and did
    busy = out["busy"]
    assert busy["sent"] == 2
    assert busy["dropped"] >= 30  # of the 50 due while busy, those over LATE_S ago
    assert out["late_take"] >= 0.05 - 0.010 - 0.001  # the first still due within LATE_S
    assert busy["sent"] + busy["dropped"] == out["next_j"]  # each slot counted once
    settled = out["settled"]
    assert settled["sent"] + settled["dropped"] == 990  # due by 1 s - LATE_S: 0..989
    assert out["recorded"] == [2 + 2, settled["dropped"]]  # both parts' starts, one's drops


# Paused, the user waiting for the next slot sleeps until the rate changes: it does not poll
# the timetable meanwhile, and wakes for the first slot of the new rate.
PAUSED = textwrap.dedent(
    """
    import json, time
    import gevent
    from spendcast.loadtest.locust.arrival import TIMETABLE
    from spendcast.loadtest.shared.load_plan import ArrivalSchedule

    fills = []
    real_fill = TIMETABLE._fill
    TIMETABLE._fill = lambda now: fills.append(now) or real_fill(now)
    TIMETABLE.configure(ArrivalSchedule.open_ended(0), time.time())  # told, but paused
    taken = []
    users = [gevent.spawn(lambda: taken.append(TIMETABLE.take())) for _ in range(4)]
    gevent.sleep(0.5)
    paused = {"fills": len(fills), "taken": len(taken)}
    TIMETABLE.set_rate(1000)
    gevent.joinall(users, timeout=5)
    print(json.dumps({"paused": paused, "taken": len(taken), "fills": len(fills)}))
    """
)


def test_a_paused_timetable_waits_for_the_rate_instead_of_polling() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PAUSED], capture_output=True, text=True, timeout=60, check=True
    )
    out = json.loads(done.stdout)
    assert out["paused"] == {"fills": 1, "taken": 0}  # one look, then asleep until told
    assert out["taken"] == 4  # every user got a slot of the new rate
    assert out["fills"] >= 2


# Every user busy in a long iteration: nobody takes a slot, so none is found dropped, but the
# slots due and untaken are counted (the load shape grows the pool on them), and the length of
# an iteration that ends is kept for the pool's size.
BUSY = textwrap.dedent(
    """
    import json, time
    import gevent
    from spendcast.loadtest.locust.arrival import TIMETABLE
    from spendcast.loadtest.shared.load_plan import ArrivalSchedule

    start = time.time()
    TIMETABLE.configure(ArrivalSchedule.open_ended(100), start)

    def user():
        TIMETABLE.take()
        gevent.sleep(0.3)  # an iteration that sleeps between its requests
        TIMETABLE.take()

    busy = gevent.spawn(user)
    gevent.sleep(0.2)
    overdue = TIMETABLE.overdue(start + 0.2)
    gevent.joinall([busy], timeout=5)
    print(json.dumps({"overdue": overdue, "dropped": TIMETABLE.dropped,
                      "longest": TIMETABLE.longest_iteration_s(int(start) - 1),
                      "forgotten": TIMETABLE.longest_iteration_s(int(time.time()) + 1)}))
    """
)


def test_slots_due_while_every_user_is_busy_are_counted_before_they_are_dropped() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BUSY], capture_output=True, text=True, timeout=60, check=True
    )
    out = json.loads(done.stdout)
    # 100/s for 0.2 s: about 20 due, the first taken, the last within LATE_S not yet overdue.
    assert 15 <= out["overdue"] <= 21
    assert out["dropped"] >= out["overdue"]  # the user came back and found them dropped
    assert 0.3 <= out["longest"] < 1.0
    assert out["forgotten"] == 0.0
