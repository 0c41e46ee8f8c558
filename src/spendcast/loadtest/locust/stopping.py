"""How the kit ends a test inside Locust, where Locust alone would end it otherwise.

Users stop after their request in flight (``stop_users_after_their_request``), a load shape
stops at ``-t`` (``stop_shape_after``), a run whose worker has another file ends
(``end_run``), and Locust's CSV writer gets a last turn (``let_csv_writer_catch_up``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from types import FrameType
from typing import Any

import gevent
from locust import User, stats
from locust.env import Environment
from locust.exception import StopUser


def stop_users_after_their_request(environment: Environment) -> None:
    """``test_stopping``'s listener: from now on, until a new test starts, the user whose
    request just ended sends no other one.

    ``--stop-timeout`` lets each user's request in flight end and count (Locust would kill
    it), but a task that loops over requests and sleeps would go on sending until the timeout;
    here it stops after the request it had in flight. Its ``on_start``/``on_stop`` requests
    are left alone, as Locust runs them. Added last of the request listeners: Locust's
    statistics and the recording count the request first."""
    events: Any = environment.events  # EventHook.add_listener is untyped
    events.request.add_listener(_stop_user_after_request)
    events.test_start.add_listener(lambda **_: _stop_requests_after(environment))


def _stop_requests_after(environment: Environment) -> None:
    with contextlib.suppress(ValueError):  # a new test (the web UI's) stops no user early
        environment.events.request.remove_listener(_stop_user_after_request)  # type: ignore[no-untyped-call]


def _stop_user_after_request(**_: Any) -> None:
    user = next(iter(getattr(gevent.getcurrent(), "args", ())), None)
    if isinstance(user, User) and not _in_hook(sys._getframe(1)):
        raise StopUser


def _in_hook(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_name in ("on_start", "on_stop"):
            return True
        frame = frame.f_back
    return False


def stop_shape_after(environment: Environment, seconds: float) -> None:
    """Locust's -t does not end a load shape (it waits for the shape first): end the shape's
    greenlet at -t's time, and Locust ends the run as when a shape's ``tick`` returns None."""
    runner = environment.runner
    assert runner is not None

    def end() -> None:
        if runner.shape_greenlet is not None:
            runner.shape_greenlet.kill(block=False)

    gevent.spawn_later(seconds, end)


def end_run(environment: Environment) -> None:
    """Quit, and end this process: Locust's headless master may still be waiting for its
    workers, a loop that only SIGTERM (its shutdown once the test runs, the default exit
    before) interrupts."""
    assert environment.runner is not None
    environment.runner.quit()
    os.kill(os.getpid(), signal.SIGTERM)


def let_csv_writer_catch_up(**_: Any) -> None:
    """Locust's CSV writer rewrites its files once per interval and has no final write: give
    it one more turn, now that every request is counted, before Locust closes the files."""
    gevent.sleep(stats.CSV_STATS_INTERVAL_SEC + 0.25)
