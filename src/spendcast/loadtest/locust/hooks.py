"""Locust event listeners that feed a ``Recording`` and write the run's files.

Registered by ``locustfiles/spendcast_recording.py``, which the kit appends last to the ``-f``
it hands to Locust, whichever users run (the kit's scenarios or the user's own locustfile),
with the run directory as ``--spendcast-out DIR``. In every process that sends requests,
``events.request`` feeds the recording, under each request's type and name as the user gave
them; workers send it to the master with each report and hand over the rest when the test
stops (``handoff``). Under the open model each request counts its iteration's lateness on top
of its response time, and the processes that run users (whichever user classes they run) obey
the load shape's timetable (``arrival``). The master (or the only process) writes one progress
line per second, a last one once every worker has handed over, and, when Locust quits,
``recording.json``. Each worker's reports also carry the sha256 of the users' locustfiles it
loaded (the kit's own left out): a master that loaded other content ends the run with exit
code 1, since workers must run the master's file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO, Any

import gevent
import gevent.event
from locust import User, events, stats
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import WORKER_REPORT_INTERVAL, MasterRunner, WorkerRunner

from spendcast.loadtest.contract import (
    DUMP_ENV,
    DUMP_OPTION,
    LIVE_SLO_ENV,
    LOAD_PLAN_OPTION,
    LOCUSTFILES,
    OUT_OPTION,
    PROGRESS_FILE,
    RECORDING_FILE,
    RUN_TIME_OPTION,
    STOP_FILE,
    THINK_TIME_OPTION,
    WARMUP_OPTION,
    option_dest,
)
from spendcast.loadtest.locust import arrival
from spendcast.loadtest.locust.handoff import MasterHandoff, WorkerHandoff
from spendcast.loadtest.progress import EndpointFigures, Progress, Spread
from spendcast.loadtest.run.recording import Recording, Tally

REPORT_KEY = "spendcast_recording"
LOCUSTFILES_KEY = "spendcast_locustfiles"  # a worker's users' files: their sha256, sorted
TICK_SECONDS = 1.0
LIVE_PERCENTILES = (50.0, 95.0, 99.0)

_recording = Recording()
_greenlets: list[gevent.Greenlet] = []
_stopped = gevent.event.Event()
_master = MasterHandoff(_recording)
_worker: WorkerHandoff | None = None
_digest: list[str] = []


def _listen(hook: Any, listener: Callable[..., Any]) -> None:
    hook.add_listener(listener)  # EventHook.add_listener is untyped


def register() -> None:
    """Attach the listeners to Locust's global events (once per process: Locust's pytest
    loader imports the kit's locustfiles a second time)."""
    if _add_options in events.init_command_line_parser._handlers:
        return
    _listen(events.init_command_line_parser, _add_options)
    _listen(events.request, _on_request)
    _listen(events.init, _on_init)
    _listen(events.test_stopping, _on_test_stopping)


def _on_test_stopping(environment: Environment, **_: Any) -> None:
    # Last of the request listeners: Locust's statistics and the recording count first.
    _listen(environment.events.request, _stop_user_after_request)
    _listen(environment.events.test_start, lambda **_: _stop_requests_after(environment))


def _stop_requests_after(environment: Environment) -> None:
    with contextlib.suppress(ValueError):  # a new test (the web UI's) stops no user early
        environment.events.request.remove_listener(_stop_user_after_request)  # type: ignore[no-untyped-call]


def _stop_user_after_request(**_: Any) -> None:
    """The test is stopping: the user whose request just ended sends no other one.

    ``--stop-timeout`` lets each user's request in flight end and count (Locust would kill
    it), but a task that loops over requests and sleeps would go on sending until the timeout;
    here it stops after the request it had in flight. Its ``on_start``/``on_stop`` requests
    are left alone, as Locust runs them."""
    user = next(iter(getattr(gevent.getcurrent(), "args", ())), None)
    if isinstance(user, User) and not _in_hook(sys._getframe(1)):
        raise StopUser


def _in_hook(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_name in ("on_start", "on_stop"):
            return True
        frame = frame.f_back
    return False


def _add_options(parser: Any, **_: Any) -> None:
    parser.add_argument(
        OUT_OPTION,
        default="",
        include_in_web_ui=False,  # the kit's plumbing, not a field of the web form
        help="Directory where spendcast writes its recording and progress",
    )
    parser.add_argument(
        DUMP_OPTION,
        default="",
        env_var=DUMP_ENV,  # so that the workers --processes forks dump too
        include_in_web_ui=False,
        help="Worker: directory where it also writes all it recorded",
    )
    parser.add_argument(THINK_TIME_OPTION, default="", include_in_web_ui=False,
                        help="Pause of each user, sent by the master to workers")  # fmt: skip
    parser.add_argument(LOAD_PLAN_OPTION, default="", include_in_web_ui=False,
                        help="The load plan's shape: its JSON")  # fmt: skip
    parser.add_argument(RUN_TIME_OPTION, type=float, default=0.0, include_in_web_ui=False,
                        help="Stop the file's own load shape after S s")  # fmt: skip
    parser.add_argument(WARMUP_OPTION, type=float, default=0.0, include_in_web_ui=False,
                        help="Leave the first S s out of the figures")  # fmt: skip


def _on_request(
    request_type: str,
    name: str,
    response_time: float,
    exception: Any,
    context: dict[str, Any] | None = None,
    start_time: float | None = None,
    response_length: int = 0,  # named, like the rest of what Locust sends: no **kwargs dict
    response: Any = None,
    url: str | None = None,
    **_: Any,
) -> None:
    # Runs for every request: keep it to a few operations (the recording appends to a list).
    # Open model: how late the iteration started counts too (coordinated omission).
    # Both, side by side: from the intended start, and from the actual send (wrk2's -U).
    measured = response_time or 0.0
    late = arrival.TIMETABLE.lateness_ms()
    if late is None:
        _recording.record(request_type, name, measured, exception is not None, time.time())
    else:
        _recording.record(
            request_type, name, measured + late, exception is not None, time.time(), measured
        )


def current_recording() -> Recording:
    """This process's recording (a load shape reads the seconds completed so far)."""
    return _recording


def _on_init(environment: Environment, **_: Any) -> None:
    # gevent's loop caches "now" and the imports of the locustfiles (seconds on a busy
    # machine) ran without the loop turning: Locust's -t timer, set next, would fire that much
    # early, cutting the run and the ramp-up that a spawning_complete listener waits for.
    gevent.get_hub().loop.update_now()
    options = environment.parsed_options
    runner = environment.runner
    _digest[:] = users_digest(environment.parsed_locustfiles or [])
    if isinstance(runner, WorkerRunner):
        global _worker
        # Read now: the master's own (empty) value replaces it with the first spawn message.
        dump = getattr(options, option_dest(DUMP_OPTION), "")
        _worker = WorkerHandoff(_recording, Path(dump) if dump else None)
        _worker.attach(runner)
        arrival.attach(runner, _recording)
        _listen(environment.events.report_to_master, _on_report_to_master)
        _listen(environment.events.test_start, _on_worker_test_start)
        _listen(environment.events.test_stop, lambda **_: _stopped.set())
        return
    if isinstance(runner, MasterRunner):
        _master.attach(runner)
        # The web UI's Stop: Locust then sends its own "stop" and forgets each worker as it
        # stops, before its last report; so the workers hand over first.
        _listen(environment.events.test_stopping, lambda **_: _master.collect(environment))
        _listen(
            environment.events.worker_report,
            lambda client_id, data, **_: _check_worker_files(environment, client_id, data),
        )
    elif runner is not None:
        arrival.attach(runner, _recording)
    _listen(environment.events.worker_report, _on_worker_report)
    _listen(environment.events.test_start, _on_test_start)
    _listen(environment.events.test_stop, _on_test_stop)
    if run_time := getattr(options, option_dest(RUN_TIME_OPTION), 0.0):
        _listen(environment.events.test_start, lambda **_: _stop_shape_after(environment, run_time))
    out = getattr(options, option_dest(OUT_OPTION), "")
    if out:
        directory = Path(out)
        progress = _Progress(directory / PROGRESS_FILE)
        _listen(environment.events.test_stop, lambda environment, **_: progress.last(environment))
        _listen(
            environment.events.quitting, lambda environment, **_: _finish(environment, directory)
        )
        if getattr(options, "csv_prefix", None):
            _listen(environment.events.quitting, _let_csv_writer_catch_up)
        _greenlets.append(gevent.spawn(progress.tick, environment))


def users_digest(paths: list[str]) -> list[str]:
    """The sha256 of each users' locustfile (the kit's own files left out), sorted."""
    files = [Path(p) for p in paths if Path(p).parent != LOCUSTFILES]
    return sorted(hashlib.sha256(f.read_bytes()).hexdigest() for f in files)


def _check_worker_files(environment: Environment, client_id: str, data: dict[str, Any]) -> None:
    theirs = data.get(LOCUSTFILES_KEY)
    if theirs is None or theirs == _digest or environment.process_exit_code is not None:
        return
    logging.getLogger(__name__).error(
        "locustfile error: worker %s runs other locustfile content than the master (sha256 "
        "%s, master %s): give every worker the master's file", client_id,
        ",".join(h[:12] for h in theirs), ",".join(h[:12] for h in _digest),
    )  # fmt: skip
    environment.process_exit_code = 1
    gevent.spawn(_end_run, environment)


def _stop_shape_after(environment: Environment, seconds: float) -> None:
    """Locust's -t does not end a load shape (it waits for the shape first): end the shape's
    greenlet at -t's time, and Locust ends the run as when a shape's ``tick`` returns None."""
    runner = environment.runner
    assert runner is not None

    def end() -> None:
        if runner.shape_greenlet is not None:
            runner.shape_greenlet.kill(block=False)

    gevent.spawn_later(seconds, end)


def _end_run(environment: Environment) -> None:
    # Locust's headless master may still be waiting for its workers, a loop that only SIGTERM
    # (its shutdown once the test runs, the default exit before) interrupts.
    assert environment.runner is not None
    environment.runner.quit()
    os.kill(os.getpid(), signal.SIGTERM)


def _finish(environment: Environment, directory: Path) -> None:
    _master.collect(environment)  # on SIGTERM, quitting comes before test_stop
    if _recording.started_at is not None and _recording.stopped_at is None:
        _recording.stopped_at = time.time()
    _recording.write(directory / RECORDING_FILE)


def _let_csv_writer_catch_up(**_: Any) -> None:
    # Locust's CSV writer rewrites its files once per interval and has no final write: give it
    # one more turn, now that every request is counted, before Locust closes the files.
    gevent.sleep(stats.CSV_STATS_INTERVAL_SEC + 0.25)


def _on_report_to_master(data: dict[str, Any], **_: Any) -> None:
    # Once stopped, no request is in flight: the last, partial second goes too.
    assert _worker is not None
    data[REPORT_KEY] = _worker.drain(None if _stopped.is_set() else time.time())
    data[LOCUSTFILES_KEY] = _digest


def _start_recording(environment: Environment) -> None:
    if _recording.started_at is None:
        _recording.started_at = time.time()
    # the master's --warmup (workers get it with the first spawn message, as Locust's own)
    warmup = getattr(environment.parsed_options, option_dest(WARMUP_OPTION), 0.0)
    _recording.warmup_s = float(warmup or 0.0)


def _on_worker_test_start(environment: Environment, **_: Any) -> None:
    _stopped.clear()
    _start_recording(environment)
    think_time = getattr(environment.parsed_options, option_dest(THINK_TIME_OPTION), "")
    if think_time:  # the master's --think-time, for workers on other machines
        from spendcast.loadtest.locust.scenarios import think_time as wait_time

        for user_class in environment.user_classes:
            user_class.wait_time = wait_time(think_time)


def _on_worker_report(data: dict[str, Any], **_: Any) -> None:
    if REPORT_KEY in data:
        _recording.absorb(data[REPORT_KEY])


def _on_test_start(environment: Environment, **_: Any) -> None:
    _master.reset()
    _start_recording(environment)


def _on_test_stop(environment: Environment, **_: Any) -> None:
    _master.collect(environment)  # workers stop and hand over: they sent until now
    _recording.stopped_at = time.time()


class _Progress:
    """``progress.jsonl``: one line a second while the test runs, and a last, exact one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file: IO[str] | None = None
        self.stopping = False
        # --abort-on-fail: also the total, names with several methods, and each figure SLOs use
        slo_env = os.environ.get(LIVE_SLO_ENV)
        self.slo_percentiles = (
            None if slo_env is None else [float(p) for p in slo_env.split(",") if p]
        )

    def figures(self, tally: Tally) -> EndpointFigures:
        percentiles = [*LIVE_PERCENTILES, *(self.slo_percentiles or ())]
        values = tally.histogram.percentiles_ms(percentiles)
        spread = None
        if self.slo_percentiles is not None:
            histogram = tally.histogram
            spread = Spread(histogram.max_ms(), histogram.min_ms(), histogram.mean_ms())
        return EndpointFigures.of(
            tally.requests, tally.failures, [(p, values[p]) for p in percentiles], spread
        )

    def slo_figures(self) -> tuple[EndpointFigures, dict[str, EndpointFigures]]:
        """The total, and each name with several methods."""
        names: dict[str, list[Tally]] = {}
        for key, tally in _recording.endpoints.items():
            names.setdefault(key.partition(" ")[2], []).append(tally)
        total = _merged(list(_recording.endpoints.values()))
        routes = {name: _merged(tallies) for name, tallies in names.items() if len(tallies) > 1}
        return self.figures(total), {
            name: self.figures(tally) for name, tally in sorted(routes.items())
        }

    def tick(self, environment: Environment) -> None:
        while True:
            now = time.time()
            _recording.close_seconds(now - 1)
            runner = environment.runner
            started = _recording.started_at
            if runner is not None and started and started <= now and not _recording.stopped_at:
                _recording.users[int(now)] = runner.user_count
                self.write(environment, now, final=False)
                if (self.path.parent / STOP_FILE).exists() and not self.stopping:
                    # --abort-on-fail: end as the --run-time limit does, every answer counted
                    self.stopping = True
                    gevent.spawn(runner.quit)
                gevent.sleep(TICK_SECONDS)
            else:
                gevent.sleep(TICK_SECONDS / 4)

    def last(self, environment: Environment) -> None:
        if _recording.started_at is not None:
            self.write(environment, _recording.stopped_at or time.time(), final=True)

    def write(self, environment: Environment, now: float, *, final: bool) -> None:
        runner = environment.runner
        assert runner is not None
        assert _recording.started_at is not None
        endpoints = {
            key: self.figures(tally) for key, tally in sorted(_recording.endpoints.items())
        }
        requests = sum(e.requests for e in endpoints.values())
        if final:  # the run's mean (workers' final reports arrive all at once)
            rps = requests / max(now - _recording.started_at, 1e-6)
        else:  # the requests of the last second whose every request is known here
            rps = _recording.requests_in(int(now) - complete_after_s(runner))
        total, routes = (None, {}) if self.slo_percentiles is None else self.slo_figures()
        line = Progress(
            elapsed=round(now - _recording.started_at, 3),
            time=round(now, 3),
            users=0 if final else runner.user_count,
            requests=requests,
            failures=sum(e.failures for e in endpoints.values()),
            rps=round(rps, 2),
            p95_ms=runner.stats.total.get_current_response_time_percentile(0.95),
            endpoints=endpoints,
            dropped=sum(a.dropped for a in _recording.arrivals.values()),
            final=final,
            total=total,
            routes=routes,
        )
        if self.file is None:
            self.file = self.path.open("a", encoding="utf-8")
        self.file.write(json.dumps(line.to_json()) + "\n")
        self.file.flush()


def complete_after_s(runner: Any) -> int:
    """How many seconds back a second is complete: the last one here; on a master, the one
    before the workers' latest reports (they report every ``WORKER_REPORT_INTERVAL``: a
    one-second window would read 0 between reports and three times the rate on each)."""
    if isinstance(runner, MasterRunner):
        return math.ceil(WORKER_REPORT_INTERVAL) + 1
    return 1


def _merged(tallies: list[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total
