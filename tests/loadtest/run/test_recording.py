"""Recordings drained by workers and absorbed by the master equal one process's recording."""

from __future__ import annotations

import json
from pathlib import Path

from spendcast.loadtest.run.recording import Recording, read_recording

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
