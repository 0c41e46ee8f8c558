"""``capacity_steps.jsonl`` and ``capacity.json`` of a real search read as typed objects and
written back: the same bytes; an older ``capacity.json`` still read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spendcast.loadtest.capacity.result import CapacityDocument, read_steps
from spendcast.loadtest.shared.capacity_step import (
    GeneratorFigures,
    KneeHeld,
    SearchEnded,
    StepEnded,
    StepEvent,
    StepStarted,
    WindowFigures,
    step_event,
)
from spendcast.loadtest.shared.contract import CAPACITY_FILE, STEPS_FILE
from spendcast.loadtest.shared.latency import LatencyFigures
from tests.loadtest.shared.test_capacity_step import ENDED
from tests.support.fixed_service import fixed_service


def test_the_steps_file_is_read_in_order(tmp_path: Path) -> None:
    path = tmp_path / STEPS_FILE
    figures = WindowFigures(10, 0, 1.0, 10.0, 0.0, LatencyFigures(p99=2.0))
    ended = StepEnded(1, 1, "grow", 1.0, 5.0, "holds", "", True, figures,
                      GeneratorFigures(1, 3.0))  # fmt: skip
    lines: list[StepEvent] = [StepStarted(1, 1, "grow", 1.0), ended, KneeHeld(1, 6.0, 5),
                              SearchEnded("flat", 9.0)]  # fmt: skip
    path.write_text("".join(json.dumps(line.to_json()) + "\n" for line in lines))
    assert read_steps(path) == ((ended,), "flat")


def test_an_older_capacity_file_without_diagnosis_nor_files_is_read() -> None:
    older = {
        "schema_version": 1,
        "plan": {"mode": "users", "start": 1, "growth": "x2", "slos": ["p99<100ms"],
                 "max_steps": 12, "window_s": 2, "warmup_s": 1, "stable_windows": 3,
                 "tolerance": 0.1, "max_step_s": 20, "min_growth": 0.25, "bisect": 0,
                 "max_users": 1000, "retired_option": True},
        "host": "http://127.0.0.1:8000", "scenario": "predict", "answer": "holds",
        "found": True, "best": ENDED, "breaking": None, "stop_reason": "flat",
        "steps": [ENDED],
    }  # fmt: skip
    document = CapacityDocument.from_json(older)
    assert document.diagnosis is None
    assert document.plots == ()
    assert document.plan.knee_s == 0
    assert document.best == document.steps[0]


@pytest.mark.e2e
def test_a_real_searchs_files_round_trip_byte_for_byte(tmp_path: Path) -> None:
    # Rate mode (the timetable's counts), a step that breaks, then the knee held and sampled.
    out = tmp_path / "run"
    with fixed_service(20) as server:
        subprocess.run(
            [sys.executable, "-m", "spendcast", "capacity", "--host", server.url, "--out",
             str(out), "--mode", "rate", "--start", "30", "--growth", "+30", "--slo",
             "p99<500ms", "--window", "1s", "--stable-windows", "2", "--max-step-time", "5s",
             "--max-steps", "2", "--bisect", "0", "--knee-sample", "2", "--quiet"],
            check=True, timeout=120, capture_output=True,
        )  # fmt: skip
    text = (out / STEPS_FILE).read_text(encoding="utf-8")
    events = [step_event(json.loads(line)) for line in text.splitlines()]
    assert "".join(json.dumps(e.to_json()) + "\n" for e in events if e is not None) == text
    assert {type(e) for e in events} == {StepStarted, StepEnded, KneeHeld, SearchEnded}
    ended = [e for e in events if isinstance(e, StepEnded)]
    assert all(step.generator.timetable is not None for step in ended)
    assert ended[0].figures.requests > 0
    capacity = (out / CAPACITY_FILE).read_text(encoding="utf-8")
    document = CapacityDocument.from_json(json.loads(capacity))
    assert json.dumps(document.to_json(), indent=2) + "\n" == capacity
    assert document.steps == tuple(ended)
    assert document.diagnosis is not None
    assert document.plots
