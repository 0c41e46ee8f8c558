"""The replay's user: each iteration sends one recorded request of the trace, in its order.

The trace comes from ``--spendcast-replay FILE`` (``run/replay.py``'s ``Trace``, written by the
CLI side into the run directory), with ``--spendcast-replay-speed``. At a speed, the trace's
``OffsetSchedule`` is this process's timetable (``arrival``; ``announce`` configures it instead
of the plan's schedule, so lateness, late/dropped slots and both latencies work as under
``--rate``) and the user sends the request of the iteration it took: request ``k``. At
``max`` (the closed model, one process), each user takes the next request as soon as its
previous one is answered, and the run ends once the trace is sent.

A request the source recorded without its parameters (an access log keeps no query string)
gets a realistic customer of the scenarios' distribution: ``GET /predict`` one, ``POST
/predict`` a batch; any other is sent as recorded. Requests are named by their path.

This module imports Locust (and so gevent): only Locust processes import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Final

import gevent
from locust import events, task
from locust.env import Environment

from spendcast.loadtest.locust.arrival import TIMETABLE
from spendcast.loadtest.locust.scenarios import SpendcastUser, think_time
from spendcast.loadtest.shared.contract import REPLAY_OPTION, REPLAY_SPEED_OPTION, option_dest
from spendcast.loadtest.shared.trace import OffsetSchedule, Replayed, Trace, parse_speed

BATCH_SIZE: Final = 20
IDLE_S: Final = 3600.0  # the closed model's users once the trace is sent: waiting, so stopped

__all__ = ["ReplayUser", "register"]


class _Replay:
    """This process's trace, and (closed model) the next request to send."""

    def __init__(self) -> None:
        self.requests: tuple[Replayed, ...] = ()
        self.next_k = 0
        self.ended = False


_REPLAY = _Replay()


def register() -> None:
    """Add the options and load the trace at init (once per process)."""
    if _add_options in events.init_command_line_parser._handlers:
        return
    events.init_command_line_parser.add_listener(_add_options)  # type: ignore[no-untyped-call]
    events.init.add_listener(_on_init)  # type: ignore[no-untyped-call]


def _add_options(parser: Any, **_: Any) -> None:
    parser.add_argument(REPLAY_OPTION, default="", help="The trace to replay (JSON)")
    parser.add_argument(REPLAY_SPEED_OPTION, default="1", help="Its speed: a factor, or max")


def _on_init(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    path = getattr(options, option_dest(REPLAY_OPTION), "")
    if not path:
        return
    trace = Trace.read(Path(path))
    _REPLAY.requests = trace.requests
    speed = parse_speed(getattr(options, option_dest(REPLAY_SPEED_OPTION), "1"))
    if speed is not None:
        TIMETABLE.replay = OffsetSchedule(trace.offsets(speed))


def _next_request() -> Replayed | None:
    """The request of this user's iteration, or ``None``: the trace is sent."""
    k = TIMETABLE.iteration()
    if k is None:  # the closed model: the next one
        k = _REPLAY.next_k
        _REPLAY.next_k += 1
    return _REPLAY.requests[k] if k < len(_REPLAY.requests) else None


class ReplayUser(SpendcastUser):
    """Sends the recorded requests again, one per iteration."""

    batch_size: ClassVar[int] = BATCH_SIZE
    pace = think_time()

    def wait_time(self) -> float:  # the timetable's replaces it at a speed
        """Closed model: the think time, then idle (and so stopped at once) once all is sent."""
        return IDLE_S if _REPLAY.ended else float(self.pace())

    @task
    def replay(self) -> None:
        request = _next_request()
        if request is None:
            if not _REPLAY.ended and self.environment.runner is not None:
                _REPLAY.ended = True  # the run ends: the last requests in flight end first
                gevent.spawn(self.environment.runner.quit)
            return
        if request.query is None and request.path.rstrip("/").endswith("/predict"):
            if request.method == "GET":
                self.predict()
                return
            if request.method == "POST":
                self.predict_batch(self.batch_size)
                return
        url = f"{self.base}{request.path}" + (f"?{request.query}" if request.query else "")
        self.client.request(request.method, url, name=request.path, headers=self.headers)
