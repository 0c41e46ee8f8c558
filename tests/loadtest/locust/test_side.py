"""The kit's side of a Locust process (``side.LocustSide``), on Locust's own local runner."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import gevent
import locust
import pytest
from locust import HttpUser, User, constant, task
from locust.runners import STATE_STOPPED

from spendcast.loadtest.locust import arrival, hooks
from spendcast.loadtest.locust.side import LocustSide, users_digest
from spendcast.loadtest.locust.timetable import Timetable
from spendcast.loadtest.shared.contract import (
    LOCUSTFILES,
    PROGRESS_FILE,
    RECORDING_FILE,
    STOP_FILE,
)
from spendcast.loadtest.shared.load_plan import ArrivalSchedule
from spendcast.loadtest.shared.progress import Progress
from spendcast.loadtest.shared.recording_file import read_recording
from tests.loadtest.locust.conftest import CountingServer
from tests.loadtest.locust.support import environment_with, init, quit_locust
from tests.support.server import free_port

WAIT_S = 30.0  # an upper bound for what should take a second or two, never a measure
# Runs Locust for seconds against a server (tests/conftest.py: out of `make check`).
SLOW = pytest.mark.slow


class Pinger(HttpUser):
    wait_time = constant(0.05)

    @task
    def ping(self) -> None:
        self.client.get("/ping")


def _progress(out: Path) -> list[Progress]:
    lines = (out / PROGRESS_FILE).read_text(encoding="utf-8").splitlines()
    return [Progress.from_json(json.loads(line)) for line in lines]


@SLOW
def test_a_local_run_records_every_request_and_writes_its_files(
    tmp_path: Path, counting_server: CountingServer
) -> None:
    side = LocustSide()
    environment = environment_with(
        side, [Pinger], "--spendcast-out", str(tmp_path), host=counting_server.url
    )
    runner = environment.create_local_runner()
    init(environment)
    runner.start(2, spawn_rate=100)
    gevent.sleep(2.5)
    quit_locust(environment)

    sent = counting_server.received["/ping"]
    assert sent > 0
    recording = read_recording(tmp_path / RECORDING_FILE)
    assert set(recording.endpoints) == {("GET", "/ping")}
    assert recording.endpoints[("GET", "/ping")].requests == sent
    assert recording.endpoints[("GET", "/ping")].failures == 0
    assert sum(second.requests for second in recording.seconds.values()) == sent
    assert recording.started_at < recording.stopped_at
    lines = _progress(tmp_path)
    assert [line.final for line in lines] == [False] * (len(lines) - 1) + [True]
    assert len(lines) >= 2  # a line a second while the test ran, and the last one
    last = lines[-1]
    assert (last.requests, last.failures, last.users) == (sent, 0, 0)
    assert last.endpoints["GET /ping"].requests == sent
    assert last.endpoints["GET /ping"].percentile_ms(99) is not None
    assert max(line.users for line in lines) == 2
    assert side.greenlets == []  # the progress line's greenlet ended with Locust
    assert side.progress is not None
    assert side.progress.file is None


class Looper(User):
    """A task that loops over requests and pauses: a stop would otherwise wait for it all."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.send("/hello")

    def on_stop(self) -> None:
        self.send("/bye")

    def send(self, name: str) -> None:
        self.environment.events.request.fire(
            request_type="GET", name=name, response_time=1.0, response_length=0,
            exception=None, context={},
        )  # fmt: skip

    @task
    def loop(self) -> None:
        for _ in range(1000):
            self.send("/loop")
            gevent.sleep(0.01)


def test_users_stop_after_their_request_in_flight_but_run_their_on_stop() -> None:
    side = LocustSide()
    environment = environment_with(side, [Looper], "--stop-timeout", "60")
    runner = environment.create_local_runner()
    init(environment)
    runner.start(3, spawn_rate=100)
    gevent.sleep(0.3)
    before = side.recording.endpoints["GET /loop"].requests
    runner.stop()  # returns once every user stopped: here after its next request
    after = side.recording.endpoints
    assert runner.state == STATE_STOPPED
    assert before <= after["GET /loop"].requests <= before + 3
    assert after["GET /hello"].requests == after["GET /bye"].requests == 3
    runner.quit()


@SLOW
def test_a_stop_file_ends_the_run_every_answer_counted(
    tmp_path: Path, counting_server: CountingServer
) -> None:
    side = LocustSide()
    environment = environment_with(
        side, [Pinger], "--spendcast-out", str(tmp_path), host=counting_server.url
    )
    runner = environment.create_local_runner()
    init(environment)
    runner.start(1, spawn_rate=100)
    gevent.sleep(0.5)
    (tmp_path / STOP_FILE).touch()  # what --abort-on-fail does
    deadline = time.monotonic() + WAIT_S
    while runner.state != STATE_STOPPED and time.monotonic() < deadline:
        gevent.sleep(0.1)
    assert runner.state == STATE_STOPPED
    assert side.progress is not None
    assert side.progress.stopping
    quit_locust(environment)
    assert _progress(tmp_path)[-1].requests == counting_server.received["/ping"] > 0


def test_requests_of_the_open_model_count_their_lateness_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    timetable = Timetable()
    monkeypatch.setattr(arrival, "TIMETABLE", timetable)
    side = LocustSide()
    environment = environment_with(side, [Looper])
    events: Any = environment.events  # EventHook.fire is untyped
    lateness: list[float | None] = []

    def iteration() -> None:
        # 10/s from 5 ms ago: the first slot is due, 5 ms late (not LATE_S: not dropped); told
        # in the user's greenlet, so that no other greenlet runs before it takes the slot.
        timetable.configure(ArrivalSchedule.open_ended(10), time.time() - 0.005)
        timetable.take()
        lateness.append(timetable.lateness_ms())
        events.request.fire(request_type="GET", name="/open", response_time=5.0,
                            response_length=0, exception=None, context={})  # fmt: skip

    gevent.spawn(iteration).get(timeout=WAIT_S)
    events.request.fire(request_type="GET", name="/closed", response_time=5.0,
                        response_length=0, exception=None, context={})  # fmt: skip
    endpoints, sent = side.recording.endpoints, side.recording.uncorrected
    late = lateness[0]
    assert late is not None
    assert late >= 5.0
    assert endpoints["GET /open"].histogram.max_ms() == pytest.approx(5.0 + late, rel=0.01)
    assert sent["GET /open"].histogram.max_ms() == pytest.approx(5.0, rel=0.01)
    assert endpoints["GET /closed"].histogram.max_ms() == pytest.approx(5.0, rel=0.01)
    assert "GET /closed" not in sent  # the closed model: one figure, from the send


def test_listening_twice_attaches_once() -> None:
    side = LocustSide()
    environment = environment_with(side, [Looper])
    side.listen(environment.events)
    events: Any = environment.events  # EventHook.fire is untyped
    events.request.fire(request_type="GET", name="/once", response_time=1.0,
                        response_length=0, exception=None, context={})  # fmt: skip
    assert side.recording.endpoints["GET /once"].requests == 1


def test_the_digest_leaves_out_the_kits_own_files(tmp_path: Path) -> None:
    users = tmp_path / "users.py"
    users.write_text("# users\n", encoding="utf-8")
    kit = LOCUSTFILES / "spendcast_recording.py"
    digest = hashlib.sha256(users.read_bytes()).hexdigest()
    assert users_digest([str(kit), str(users)]) == [digest]


@SLOW
def test_a_worker_hands_every_request_over_to_its_master(
    tmp_path: Path, counting_server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arrival, "TIMETABLE", Timetable())  # the worker's, attached to it
    port = free_port()
    master_side, worker_side = LocustSide(), LocustSide()
    master_env = environment_with(
        master_side, [Pinger], "--spendcast-out", str(tmp_path), host=counting_server.url
    )
    master = master_env.create_master_runner("127.0.0.1", port)
    init(master_env)
    worker_env = environment_with(worker_side, [Pinger], host=counting_server.url)
    worker = worker_env.create_worker_runner("127.0.0.1", port)
    init(worker_env)
    try:
        deadline = time.monotonic() + WAIT_S
        while master.worker_count < 1 and time.monotonic() < deadline:
            gevent.sleep(0.1)
        master.start(2, spawn_rate=100)
        gevent.sleep(2.0)
        quit_locust(master_env)  # the master asks the worker for the rest, then writes
    finally:
        worker.quit()
    sent = counting_server.received["/ping"]
    recording = read_recording(tmp_path / RECORDING_FILE)
    assert sent > 0
    assert recording.endpoints[("GET", "/ping")].requests == sent  # each exactly once
    assert sum(second.requests for second in recording.seconds.values()) == sent
    assert json.loads((tmp_path / RECORDING_FILE).read_text())["workers"] == [worker.client_id]
    assert _progress(tmp_path)[-1].requests == sent
    assert worker_side.recording.endpoints == {}  # drained: all of it went to the master


def test_hooks_register_one_side_per_process_on_locusts_global_events() -> None:
    # What the kit's spendcast_recording.py does, and a user's own locustfile may do too.
    hooks.register()
    hooks.register()  # Locust's pytest loader imports the kit's locustfiles a second time
    side = hooks._side
    assert side.events is locust.events
    assert locust.events.request._handlers.count(side.on_request) == 1
    assert hooks.current_recording() is side.recording
