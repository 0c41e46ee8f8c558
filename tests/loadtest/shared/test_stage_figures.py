"""Open-model counts in the recording, per-stage figures and the dropped SLO, on synthetic data."""

from __future__ import annotations

from pathlib import Path

import pytest

from spendcast.errors import SloSyntaxError
from spendcast.loadtest.shared.load_plan import LoadPlan, parse_stages
from spendcast.loadtest.shared.recording import Recording
from spendcast.loadtest.shared.recording_file import read_recording
from spendcast.loadtest.shared.run_settings import RunSettings
from spendcast.loadtest.shared.slo import parse_slo
from spendcast.loadtest.shared.summary import build_summary, check_slos

START = 1_700_000_000.0
PLAN = LoadPlan("rate", parse_stages("2s:10,2s:20"), start=10)


def _worker(seconds: range, dropped_in: int) -> Recording:
    """10 requests (5 ms) and 10 started iterations a second, 3 of them late; 4 dropped in
    second ``dropped_in``."""
    recording = Recording()
    for second in seconds:
        at = START + second + 0.2
        for index in range(10):
            recording.record("GET", "/predict", 5.0, False, at)
            recording.record_arrival(at, late=index < 3)
    for _ in range(4):
        recording.record_arrival(START + dropped_in + 0.5, dropped=True)
    return recording


def test_arrivals_merge_across_processes_and_survive_the_file(tmp_path: Path) -> None:
    master = Recording()
    master.started_at, master.stopped_at = START, START + 4
    master.plan_started_at = START
    for worker in (_worker(range(4), 3), _worker(range(4), 1)):
        master.absorb(worker.drain())
        assert worker.arrivals == {}  # drained: sent once
    master.write(tmp_path / "recording.json")
    loaded = read_recording(tmp_path / "recording.json")
    assert loaded.plan_started_at == START
    assert sum(a.started for a in loaded.arrivals.values()) == 80
    assert sum(a.late for a in loaded.arrivals.values()) == 24
    assert {s - int(START): a.dropped for s, a in loaded.arrivals.items()} == {
        0: 0, 1: 4, 2: 0, 3: 4,
    }  # fmt: skip


def test_stage_figures_add_up_to_the_run_and_feed_the_dropped_slo(tmp_path: Path) -> None:
    recording = Recording()
    recording.started_at, recording.stopped_at = START, START + 4
    recording.plan_started_at = START
    recording.absorb(_worker(range(4), 3).drain())
    recording.write(tmp_path / "recording.json")
    loaded = read_recording(tmp_path / "recording.json")
    slos = [parse_slo("dropped<1"), parse_slo("dropped<=4")]
    results = check_slos(loaded, slos)
    assert [(r.observed, r.passed) for r in results] == [(4.0, False), (4.0, True)]

    summary = build_summary(loaded, RunSettings(host="http://h"), results, plan=PLAN).to_json()
    assert (summary["iterations"], summary["late"], summary["dropped"]) == (40, 12, 4)
    first, second = summary["stages"]
    assert (first["start_s"], first["end_s"], first["target"]) == (0.0, 2.0, 10)
    assert (second["start_s"], second["end_s"], second["target"]) == (2.0, 4.0, 20)
    assert (first["requests"], second["requests"]) == (20, 20)
    assert (first["dropped"], second["dropped"]) == (0, 4)
    assert (first["iterations"], first["late"]) == (20, 6)
    assert first["rps"] == pytest.approx(10.0)
    assert first["latency_ms"]["p99"] == pytest.approx(5.0, rel=1e-3)
    assert [row["dropped"] for row in summary["timeseries"]] == [0, 0, 0, 4]
    assert summary["passed"] is False


def test_a_closed_run_has_no_iterations_and_users_stages(tmp_path: Path) -> None:
    recording = Recording()
    recording.started_at, recording.stopped_at = START, START + 4
    for second in range(4):
        recording.record("GET", "/health", 1.0, False, START + second)
    recording.write(tmp_path / "recording.json")
    plan = LoadPlan("users", parse_stages("1s:1,3s:3"))
    loaded = read_recording(tmp_path / "recording.json")
    summary = build_summary(loaded, RunSettings(), plan=plan).to_json()
    assert summary["iterations"] is None
    assert summary["dropped"] == 0
    assert [s["requests"] for s in summary["stages"]] == [1, 3]
    assert [s["iterations"] for s in summary["stages"]] == [None, None]
    assert build_summary(loaded, RunSettings()).to_json()["stages"] == []


@pytest.mark.parametrize(
    ("expression", "message"),
    [("predict:dropped<1", "whole run"), ("dropped<1%", "is a count"), ("drops<1", "dropped")],
)
def test_dropped_slos_are_counts_of_the_whole_run(expression: str, message: str) -> None:
    with pytest.raises(SloSyntaxError, match=message):
        parse_slo(expression)
