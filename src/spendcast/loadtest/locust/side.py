"""The kit inside one Locust process: a ``LocustSide`` listening to ``environment.events``.

In every process that sends requests, ``events.request`` feeds its ``recording``, under each
request's type and name as the user gave them; workers send it to the master with each report
and hand over the rest when the test stops (``handoff``). Under the open model each request
counts its iteration's lateness on top of its response time, and the processes that run users
(whichever user classes they run) obey the load shape's timetable (``arrival``). The master (or
the only process), given ``--spendcast-out DIR``, writes ``progress.jsonl`` (``progress_writer``)
and, when Locust quits, ``recording.json``. Each worker's reports also carry the sha256 of the
users' locustfiles it loaded (the kit's own left out): a master that loaded other content ends
the run with exit code 1, since workers must run the master's file.

A real run's side is ``hooks``'s, on Locust's global events; a test builds its own on an
``Environment`` of its own (``listen(environment.events)`` before the runner is created, as
Locust's locustfiles are imported before it).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import gevent
import gevent.event
from locust.env import Environment
from locust.event import Events
from locust.runners import MasterRunner, WorkerRunner

from spendcast.loadtest.locust import arrival
from spendcast.loadtest.locust.handoff import MasterHandoff, WorkerHandoff
from spendcast.loadtest.locust.options import add_options
from spendcast.loadtest.locust.progress_writer import ProgressWriter
from spendcast.loadtest.locust.stopping import (
    end_run,
    let_csv_writer_catch_up,
    stop_shape_after,
    stop_users_after_their_request,
)
from spendcast.loadtest.shared.contract import (
    DUMP_OPTION,
    LOCUSTFILES,
    OUT_OPTION,
    PROGRESS_FILE,
    RECORDING_FILE,
    RUN_TIME_OPTION,
    THINK_TIME_OPTION,
    WARMUP_OPTION,
    option_dest,
)
from spendcast.loadtest.shared.recording import Recording

REPORT_KEY: Final = "spendcast_recording"
LOCUSTFILES_KEY: Final = "spendcast_locustfiles"  # a worker's users' files: their sha256, sorted

logger = logging.getLogger(__name__)


def _listen(hook: Any, listener: Callable[..., Any]) -> None:
    hook.add_listener(listener)  # EventHook.add_listener is untyped


class LocustSide:
    """This process's recording, hand-over, progress line and run files."""

    def __init__(self) -> None:
        self.recording = Recording()
        self.events: Events | None = None  # the events it listens to (one set, once)
        self.master = MasterHandoff(self.recording)
        self.worker: WorkerHandoff | None = None
        self.digest: list[str] = []  # users_digest of the locustfiles this process loaded
        self.stopped = gevent.event.Event()  # a worker's test stopped: no request in flight
        self.progress: ProgressWriter | None = None
        self.greenlets: list[gevent.Greenlet] = []

    def listen(self, events: Events) -> None:
        """Attach to ``events`` (once: Locust's pytest loader imports the kit's locustfiles a
        second time)."""
        if self.events is not None:
            return
        self.events = events
        _listen(events.init_command_line_parser, add_options)
        _listen(events.request, self.on_request)
        _listen(events.init, self.on_init)
        _listen(events.test_stopping, self.on_test_stopping)

    def on_request(
        self,
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
            self.recording.record(request_type, name, measured, exception is not None, time.time())
        else:
            self.recording.record(
                request_type, name, measured + late, exception is not None, time.time(), measured
            )

    def on_init(self, environment: Environment, **_: Any) -> None:
        # gevent's loop caches "now" and the imports of the locustfiles (seconds on a busy
        # machine) ran without the loop turning: Locust's -t timer, set next, would fire that
        # much early, cutting the run and the ramp-up that a spawning_complete listener awaits.
        gevent.get_hub().loop.update_now()
        options = environment.parsed_options
        runner = environment.runner
        events: Any = environment.events  # EventHook.add_listener is untyped
        self.digest[:] = users_digest(environment.parsed_locustfiles or [])
        if isinstance(runner, WorkerRunner):
            # Read now: the master's own (empty) value replaces it with the first spawn message.
            dump = getattr(options, option_dest(DUMP_OPTION), "")
            self.worker = WorkerHandoff(self.recording, Path(dump) if dump else None)
            self.worker.attach(runner)
            arrival.attach(runner, self.recording)
            events.report_to_master.add_listener(self.on_report_to_master)
            events.test_start.add_listener(self.on_worker_test_start)
            events.test_stop.add_listener(lambda **_: self.stopped.set())
            return
        if isinstance(runner, MasterRunner):
            self.master.attach(runner)
            # The web UI's Stop: Locust then sends its own "stop" and forgets each worker as it
            # stops, before its last report; so the workers hand over first.
            events.test_stopping.add_listener(lambda **_: self.master.collect(environment))
            events.worker_report.add_listener(
                lambda client_id, data, **_: self.check_worker_files(environment, client_id, data)
            )
        elif runner is not None:
            arrival.attach(runner, self.recording)
        events.worker_report.add_listener(self.on_worker_report)
        events.test_start.add_listener(self.on_test_start)
        events.test_stop.add_listener(self.on_test_stop)
        if run_time := getattr(options, option_dest(RUN_TIME_OPTION), 0.0):
            events.test_start.add_listener(lambda **_: stop_shape_after(environment, run_time))
        out = getattr(options, option_dest(OUT_OPTION), "")
        if out:
            progress = self.progress = ProgressWriter(Path(out) / PROGRESS_FILE, self.recording)
            events.test_stop.add_listener(lambda environment, **_: progress.last(environment))
            # quitting fires its listeners last first: the files are written, then closed
            events.quitting.add_listener(lambda **_: self.close())
            events.quitting.add_listener(lambda environment, **_: self.finish(environment, out))
            if getattr(options, "csv_prefix", None):
                events.quitting.add_listener(let_csv_writer_catch_up)
            self.greenlets.append(gevent.spawn(progress.tick, environment))

    def on_test_stopping(self, environment: Environment, **_: Any) -> None:
        stop_users_after_their_request(environment)

    def check_worker_files(
        self, environment: Environment, client_id: str, data: dict[str, Any]
    ) -> None:
        """The master: a worker that loaded other locustfile content ends the run (exit 1)."""
        theirs = data.get(LOCUSTFILES_KEY)
        if theirs is None or theirs == self.digest or environment.process_exit_code is not None:
            return
        logger.error(
            "locustfile error: worker %s runs other locustfile content than the master (sha256 "
            "%s, master %s): give every worker the master's file", client_id,
            ",".join(h[:12] for h in theirs), ",".join(h[:12] for h in self.digest),
        )  # fmt: skip
        environment.process_exit_code = 1
        gevent.spawn(end_run, environment)

    def finish(self, environment: Environment, out: str) -> None:
        """Write ``recording.json`` into the directory ``out`` (Locust quits)."""
        self.master.collect(environment)  # on SIGTERM, quitting comes before test_stop
        recording = self.recording
        if recording.started_at is not None and recording.stopped_at is None:
            recording.stopped_at = time.time()
        recording.write(Path(out) / RECORDING_FILE)

    def close(self) -> None:
        """Stop the progress line's greenlet and close its file."""
        gevent.killall(self.greenlets)
        self.greenlets.clear()
        if self.progress is not None:
            self.progress.close()

    def on_report_to_master(self, data: dict[str, Any], **_: Any) -> None:
        # Once stopped, no request is in flight: the last, partial second goes too.
        assert self.worker is not None
        data[REPORT_KEY] = self.worker.drain(None if self.stopped.is_set() else time.time())
        data[LOCUSTFILES_KEY] = self.digest

    def start_recording(self, environment: Environment) -> None:
        if self.recording.started_at is None:
            self.recording.started_at = time.time()
        # the master's --warmup (workers get it with the first spawn message, as Locust's own)
        warmup = getattr(environment.parsed_options, option_dest(WARMUP_OPTION), 0.0)
        self.recording.warmup_s = float(warmup or 0.0)

    def on_worker_test_start(self, environment: Environment, **_: Any) -> None:
        self.stopped.clear()
        self.start_recording(environment)
        think_time = getattr(environment.parsed_options, option_dest(THINK_TIME_OPTION), "")
        if think_time:  # the master's --think-time, for workers on other machines
            from spendcast.loadtest.locust.scenarios import think_time as wait_time

            for user_class in environment.user_classes:
                user_class.wait_time = wait_time(think_time)

    def on_worker_report(self, data: dict[str, Any], **_: Any) -> None:
        if REPORT_KEY in data:
            self.recording.absorb(data[REPORT_KEY])

    def on_test_start(self, environment: Environment, **_: Any) -> None:
        self.master.reset()
        self.start_recording(environment)

    def on_test_stop(self, environment: Environment, **_: Any) -> None:
        self.master.collect(environment)  # workers stop and hand over: they sent until now
        self.recording.stopped_at = time.time()


def users_digest(paths: list[str]) -> list[str]:
    """The sha256 of each users' locustfile (the kit's own files left out), sorted."""
    files = [Path(p) for p in paths if Path(p).parent != LOCUSTFILES]
    return sorted(hashlib.sha256(f.read_bytes()).hexdigest() for f in files)
