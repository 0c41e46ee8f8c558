"""Recordings drained by workers and absorbed by the master equal one process's recording."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spendcast.loadtest.shared.recording import Recording
from spendcast.loadtest.shared.recording_file import read_recording
from spendcast.loadtest.shared.tally import Arrivals, Tally

START = 1_700_000_000.0


def _requests() -> list[tuple[str, str, float, bool, float]]:
    rows = []
    for i in range(3000):
        method, name = ("POST", "/predict") if i % 10 == 0 else ("GET", "/predict")
        rows.append((method, name, 1.0 + (i % 97) * 0.37, i % 250 == 0, START + i / 1000))
    return rows


def test_drained_parts_merge_into_the_same_recording(tmp_path: Path) -> None:
    single = Recording()
    workers = [Recording(), Recording()]
    master = Recording()
    for index, request in enumerate(_requests()):
        single.record(*request)
        worker = workers[index % 2]
        worker.record(*request)
        if index % 700 == 0:  # reports arrive while seconds are still open
            master.absorb(worker.drain(now=request[-1]))
    for worker in workers:
        master.absorb(worker.drain())
    for recording in (single, master):
        recording.started_at, recording.stopped_at = START, START + 3
        recording.users = {int(START) + s: 4 for s in range(3)}
    assert json.dumps(master.to_json(), sort_keys=True) == json.dumps(
        single.to_json(), sort_keys=True
    )

    single.write(tmp_path / "recording.json")
    loaded = read_recording(tmp_path / "recording.json")
    assert loaded.endpoints[("GET", "/predict")].requests == 2700
    assert loaded.endpoints[("POST", "/predict")].requests == 300
    assert sum(t.failures for t in loaded.endpoints.values()) == 12
    assert sorted(loaded.seconds) == [int(START), int(START) + 1, int(START) + 2]
    assert sum(t.requests for t in loaded.seconds.values()) == 3000
    assert loaded.users == {int(START) + s: 4 for s in range(3)}


def test_tallies_hold_every_request_whenever_they_are_read() -> None:
    """Requests wait in lists until a reader looks: whatever the reads, the tallies equal one
    histogram recorded value by value (per endpoint and per second), failures included."""
    recording = Recording()
    expected: dict[str, Tally] = {}
    expected_seconds: dict[int, Tally] = {}
    seen_pending = 0
    for index, (method, name, ms, failed, at) in enumerate(_requests()):
        recording.record(method, name, ms, failed, at)
        expected.setdefault(f"{method} {name}", Tally()).add(ms, failed)
        expected_seconds.setdefault(int(at), Tally()).add(ms, failed)
        if index % 450 == 0:  # a progress line in the middle of a second
            endpoints = recording.endpoints
            seen_pending += 1
            assert sum(t.requests for t in endpoints.values()) == index + 1
            assert recording.open_seconds[int(at)].requests == expected_seconds[int(at)].requests
        if index == 1500:
            recording.close_seconds(at)  # the seconds before this one are encoded
    recording.record("GET", "/predict", 7.5, True, START)  # late, for a closed second
    expected["GET /predict"].add(7.5, True)
    expected_seconds[int(START)].add(7.5, True)
    assert seen_pending == 7
    assert {k: t.to_json() for k, t in recording.endpoints.items()} == {
        k: t.to_json() for k, t in expected.items()
    }
    recording.close_seconds()
    assert recording.closed_seconds == {s: t.to_json() for s, t in expected_seconds.items()}


def test_arrivals_counted_across_drains_all_reach_the_master() -> None:
    """``record_start`` keeps the last second's entry at hand: a drain (or a new ``arrivals``)
    in the middle of a second must not leave it counting into an entry that went away."""
    worker, master = Recording(), Recording()
    for i in range(300):
        due = START + i / 100  # 100 a second, 3 seconds
        if i % 7 == 3:
            worker.record_arrival(due, dropped=True)
        else:
            worker.record_start(due, late=i % 5 == 0)
        if i in (50, 120, 121, 250):  # mid-second drains, one right after another
            master.absorb(worker.drain(now=due))
    # replaced by a copy, no drain: what follows counts in the copy
    worker.arrivals = {s: Arrivals.from_json(a.to_json()) for s, a in worker.arrivals.items()}
    worker.record_arrival(START + 2.5, late=True)
    master.absorb(worker.drain())
    assert worker.arrivals == {}
    dropped = [i for i in range(300) if i % 7 == 3]
    started = [i for i in range(300) if i % 7 != 3]
    assert {s - int(START): a.to_json() for s, a in master.arrivals.items()} == {
        second: {
            "started": sum(1 for i in started if i // 100 == second) + (second == 2),
            "late": sum(1 for i in started if i // 100 == second and i % 5 == 0) + (second == 2),
            "dropped": sum(1 for i in dropped if i // 100 == second),
        }
        for second in range(3)
    }


def test_the_open_models_uncorrected_times_travel_with_the_recording() -> None:
    worker, master = Recording(), Recording()
    worker.started_at = master.started_at = 100.0
    worker.record("GET", "/x", 30.0, False, 100.5, uncorrected_ms=5.0)
    worker.record("GET", "/x", 12.0, False, 100.6, uncorrected_ms=12.0)
    worker.record("GET", "/closed", 7.0, False, 100.7)  # the closed model: no second time
    master.absorb(worker.drain())
    assert master.endpoints["GET /x"].histogram.max_ms() == pytest.approx(30.0, rel=1e-3)
    assert master.uncorrected["GET /x"].histogram.max_ms() == pytest.approx(12.0, rel=1e-3)
    assert "GET /closed" not in master.uncorrected
