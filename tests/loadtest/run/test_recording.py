"""Recordings drained by workers and absorbed by the master equal one process's recording."""

from __future__ import annotations

import json
from pathlib import Path

from spendcast.loadtest.run.recording import Recording, Tally, read_recording

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
