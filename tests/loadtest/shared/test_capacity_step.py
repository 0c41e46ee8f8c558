"""A line of ``capacity_steps.jsonl`` read as a typed event and written back as it was read;
unknown keys and events ignored (a real search's file: tests/loadtest/capacity)."""

from __future__ import annotations

from spendcast.loadtest.shared.capacity_step import (
    GeneratorFigures,
    SearchEnded,
    StepEnded,
    TimetableCounts,
    step_event,
)
from spendcast.loadtest.shared.latency import LatencyFigures
from spendcast.loadtest.shared.slo import SloResult, parse_slo

ENDED = {
    "event": "end", "index": 2, "load": 35.0, "phase": "grow", "started_at": 100.5,
    "ended_at": 108.25, "verdict": "breaks", "reason": "p99 612 ms (must be < 500 ms)",
    "stable": False,
    "figures": {
        "requests": 92, "failures": 0, "seconds": 2.0, "rps": 46.0, "error_rate": 0.0,
        "latency_ms": {"p50": 20.1, "p90": 300.0, "p95": 450.5, "p99": 612.0, "p99_9": 612.0,
                       "max": 612.0, "mean": 101.25},
        "slos": [SloResult(parse_slo("p99<500ms"), 612.0, False).as_dict()],
    },
    "generator": {"users": 12, "cpu_percent": 8.5, "sent": 70, "late": 1, "dropped": 0,
                  "max_in_flight": 12, "limited": False,
                  "notes": ["all 12 users busy: requests queued in the generator"]},
}  # fmt: skip


def test_an_ended_step_is_typed_and_written_back_as_it_was_read() -> None:
    step = step_event(ENDED)
    assert isinstance(step, StepEnded)
    assert step.to_json() == ENDED
    assert step.figures.latency_ms.percentile_ms(99.9) == 612.0
    assert step.figures.latency_ms.percentile_ms(97.5) is None
    assert [result.slo.expression for result in step.figures.broken] == ["p99<500ms"]
    assert step.generator.timetable == TimetableCounts(sent=70, late=1, dropped=0, max_in_flight=12)


def test_unknown_keys_and_events_are_ignored_and_missing_figures_are_none() -> None:
    later = {**ENDED, "new": 1, "figures": {**ENDED["figures"], "p99_99": 3.0},  # type: ignore[dict-item]
             "generator": {"users": 3, "cpu_percent": 1.0, "gpu_percent": 4}}  # fmt: skip
    step = step_event(later)
    assert isinstance(step, StepEnded)
    assert step.generator == GeneratorFigures(users=3, cpu_percent=1.0)
    assert step.generator.to_json() == {"users": 3, "cpu_percent": 1.0, "limited": False,
                                        "notes": []}  # fmt: skip
    assert LatencyFigures.from_json({"p99": 5.0, "p99_99": 6.0}) == LatencyFigures(p99=5.0)
    assert step_event({"event": "paused", "at": 1.0}) is None
    assert step_event({"event": "done", "reason": None, "at": 2}) == SearchEnded(None, 2)
