"""The open model: task iterations start on a timetable, whether or not earlier ones answered.

Locust's users are a closed model: a user starts its next task only once the previous one
answered, so a server that stalls also stalls the load, and the requests that *should* have
been sent meanwhile are never measured (coordinated omission). Here the iterations are due on
the load plan's timetable (``run.load_plan.ArrivalSchedule``, time 0 at ``origin``; this
process runs the iterations ``k ≡ index (mod count)``) and a pool of users runs them.

Any user class, unchanged: ``install`` replaces each class's ``wait_time`` by ``TIMETABLE.take``
and makes its ``on_start`` end with a first wait (``User.wait``: the user is *waiting*, so a stop
kills it at once), so every iteration, the first too, starts at a slot. The
``Timetable`` (``timetable``) hands out the slots.

The timetable comes from the load shape (``shapes``): ``announce`` sends ``spendcast_arrival``
(the plan, its origin, this process's index and the count) to each worker before the first
spawn message (a local runner hands it to itself), so workers need no option of their own.

This module imports Locust (and so gevent): only Locust processes import it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, Final

from locust import User
from locust.env import Environment
from locust.rpc import Message
from locust.runners import STATE_MISSING, MasterRunner, Runner

from spendcast.loadtest.locust.timetable import Timetable
from spendcast.loadtest.shared.load_plan import ArrivalSchedule, LoadPlan
from spendcast.loadtest.shared.recording import Recording

ARRIVAL_MESSAGE: Final = "spendcast_arrival"
RATE_MESSAGE: Final = "spendcast_rate"  # the web UI's arrival rate (``share_rate``)
_INSTALLED: Final = "_spendcast_first_slot"

__all__ = ["TIMETABLE", "announce", "attach", "install", "share_rate", "uninstall"]
_ABSENT: Final = object()
# A user class's own wait_time and on_start before ``install`` (``_ABSENT``: inherited).
_originals: dict[type[User], tuple[object, object]] = {}


TIMETABLE = Timetable()


def _wait_for_slot(user: User) -> float:
    TIMETABLE.take()
    return 0.0


def _then_first_slot(on_start: Callable[[User], None]) -> Callable[[User], None]:
    @functools.wraps(on_start)
    def on_start_then_wait(user: User) -> None:
        on_start(user)
        if not TIMETABLE.has_slot():  # a parent's on_start, through super(), may have waited
            user.wait()  # type: ignore[no-untyped-call]

    setattr(on_start_then_wait, _INSTALLED, True)
    return on_start_then_wait


def install(user_classes: Iterable[type[User]]) -> None:
    """Put every iteration of these user classes on ``TIMETABLE`` (idempotent)."""
    for user_class in user_classes:
        if user_class not in _originals:
            own = vars(user_class)
            _originals[user_class] = (own.get("wait_time", _ABSENT), own.get("on_start", _ABSENT))
        user_class.wait_time = _wait_for_slot
        if not getattr(user_class.on_start, _INSTALLED, False):
            user_class.on_start = _then_first_slot(user_class.on_start)  # type: ignore[assignment,method-assign]


def uninstall(user_classes: Iterable[type[User]]) -> None:
    """Give these user classes back their own ``wait_time`` and ``on_start`` (closed model)."""
    for user_class in user_classes:
        saved = _originals.pop(user_class, None)
        for name, value in zip(("wait_time", "on_start"), saved or (), strict=False):
            if value is _ABSENT:
                if name in vars(user_class):  # not when it inherited its parent's wrapper
                    delattr(user_class, name)
            else:
                setattr(user_class, name, value)


def attach(runner: Runner, recording: Recording) -> None:
    """A process that runs users: count its slots in ``recording``, obey ``announce`` and
    ``share_rate``."""
    TIMETABLE.recording = recording
    runner.register_message(ARRIVAL_MESSAGE, _on_arrival)
    runner.register_message(
        RATE_MESSAGE, lambda environment, msg, **_: _set_rate(environment, msg.data)
    )
    runner.environment.events.test_stop.add_listener(lambda **_: TIMETABLE.settle())  # type: ignore[no-untyped-call]


def _on_arrival(environment: Environment, msg: Message, **_: Any) -> None:
    data = msg.data
    install(environment.user_classes)
    plan = LoadPlan.from_json(data["plan"])
    schedule = TIMETABLE.replay if TIMETABLE.replay is not None else plan.schedule()
    TIMETABLE.configure(schedule, float(data["origin"]), data["index"], data["count"])


def announce(runner: Runner, plan: LoadPlan, origin: float) -> int:
    """Give each load-generating process its share of ``plan``; returns how many share it."""
    data = {"plan": plan.to_json(), "origin": origin}
    if not isinstance(runner, MasterRunner):
        runner.send_message(ARRIVAL_MESSAGE, {**data, "index": 0, "count": 1})
        return 1
    workers = sorted(node.id for node in runner.clients.all if node.state != STATE_MISSING)
    for index, client_id in enumerate(workers):
        share = {**data, "index": index, "count": len(workers)}
        runner.send_message(ARRIVAL_MESSAGE, share, client_id=client_id)
    return len(workers)


def share_rate(runner: Runner, rate: float | None, at: float, *, new_test: bool) -> None:
    """The web UI's arrival rate, shared by every load-generating process: from ``at`` (epoch
    s) on, ``rate`` iterations/s, open-ended; ``None`` at a test's start: the closed model.
    ``new_test``: a new timetable whose time 0 is ``at`` (this process's share as ``announce``
    gives it); otherwise the running timetable changes its rate at ``at``."""
    data = {"rate": rate, "at": at, "new": new_test}
    if not isinstance(runner, MasterRunner):
        _set_rate(runner.environment, {**data, "index": 0, "count": 1})
        return
    workers = sorted(node.id for node in runner.clients.all if node.state != STATE_MISSING)
    for index, client_id in enumerate(workers):
        share = {**data, "index": index, "count": len(workers)}
        runner.send_message(RATE_MESSAGE, share, client_id=client_id)


def _set_rate(environment: Environment, data: dict[str, Any]) -> None:
    rate, at = data["rate"], float(data["at"])
    if rate is None:
        uninstall(environment.user_classes)
        TIMETABLE.schedule = None
        return
    install(environment.user_classes)
    if data["new"] or TIMETABLE.schedule is None:
        TIMETABLE.reset_counters()
        TIMETABLE.configure(
            ArrivalSchedule.open_ended(float(rate)), at, data["index"], data["count"]
        )
    else:
        TIMETABLE.set_rate(float(rate), at)
