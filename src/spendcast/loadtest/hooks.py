"""Locust event listeners that feed a ``Recording`` and write the run's files.

Registered by the headless locustfile (``locustfiles/headless.py``) that ``spendcast loadtest``
hands to Locust, with the run directory as ``--spendcast-out DIR``. In every process that sends
requests, ``events.request`` feeds the recording; workers send it to the master with each
report; the master (or the only process) writes one progress line per second and, when Locust
quits, ``recording.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import gevent.event
from locust import events, stats
from locust.env import Environment
from locust.runners import WorkerRunner

from spendcast.loadtest.recording import PROGRESS_FILE, RECORDING_FILE, Recording

OUT_OPTION = "--spendcast-out"
REPORT_KEY = "spendcast_recording"
TICK_SECONDS = 1.0

_recording = Recording()
_greenlets: list[gevent.Greenlet] = []
_stopped = gevent.event.Event()


def _listen(hook: Any, listener: Callable[..., Any]) -> None:
    hook.add_listener(listener)  # EventHook.add_listener is untyped


def register() -> None:
    """Attach the listeners to Locust's global events (once per process)."""
    _listen(events.init_command_line_parser, _add_option)
    _listen(events.request, _on_request)
    _listen(events.init, _on_init)


def _add_option(parser: Any, **_: Any) -> None:
    parser.add_argument(
        OUT_OPTION, default="", help="Directory where spendcast writes its recording and progress"
    )


def _on_request(
    request_type: str, name: str, response_time: float, exception: Any, **_: Any
) -> None:
    _recording.record(request_type, name, response_time or 0.0, exception is not None, time.time())


def _on_init(environment: Environment, **_: Any) -> None:
    out = getattr(environment.parsed_options, "spendcast_out", "")
    if isinstance(environment.runner, WorkerRunner):
        _listen(environment.events.report_to_master, _on_report_to_master)
        _listen(environment.events.test_start, lambda **_: _stopped.clear())
        _listen(environment.events.test_stop, lambda **_: _stopped.set())
        return
    _listen(environment.events.worker_report, _on_worker_report)
    _listen(environment.events.test_start, _on_test_start)
    _listen(environment.events.test_stop, _on_test_stop)
    if out:
        directory = Path(out)
        _listen(
            environment.events.quitting, lambda **_: _recording.write(directory / RECORDING_FILE)
        )
        if getattr(environment.parsed_options, "csv_prefix", None):
            _listen(environment.events.quitting, _let_csv_writer_catch_up)
        _greenlets.append(gevent.spawn(_tick, environment, directory / PROGRESS_FILE))


def _let_csv_writer_catch_up(**_: Any) -> None:
    # Locust's CSV writer rewrites its files once per interval and has no final write: give it
    # one more turn, now that every request is counted, before Locust closes the files.
    gevent.sleep(stats.CSV_STATS_INTERVAL_SEC + 0.25)


def _on_report_to_master(data: dict[str, Any], **_: Any) -> None:
    # Once stopped, no request is in flight: the last, partial second goes too.
    data[REPORT_KEY] = _recording.drain(None if _stopped.is_set() else time.time())


def _on_worker_report(data: dict[str, Any], **_: Any) -> None:
    if REPORT_KEY in data:
        _recording.absorb(data[REPORT_KEY])


def _on_test_start(**_: Any) -> None:
    if _recording.started_at is None:
        _recording.started_at = time.time()


def _on_test_stop(**_: Any) -> None:
    _recording.stopped_at = time.time()


def _tick(environment: Environment, progress_path: Path) -> None:
    """Each second: sample the users and append one progress line for the live display."""
    last_requests, last_time = 0, time.time()
    with progress_path.open("a", encoding="utf-8") as progress:
        while True:
            now = time.time()
            _recording.close_seconds(now - 1)
            runner = environment.runner
            if runner is None or _recording.started_at is None or _recording.stopped_at:
                gevent.sleep(TICK_SECONDS / 4)
                continue
            _recording.users[int(now)] = runner.user_count
            total = runner.stats.total
            rps = (total.num_requests - last_requests) / max(now - last_time, 1e-6)
            last_requests, last_time = total.num_requests, now
            line = {
                "elapsed": round(now - _recording.started_at, 3),
                "users": runner.user_count,
                "requests": total.num_requests,
                "failures": total.num_failures,
                "rps": round(rps, 2),
                "p95_ms": total.get_current_response_time_percentile(0.95),
            }
            progress.write(json.dumps(line) + "\n")
            progress.flush()
            gevent.sleep(TICK_SECONDS)
