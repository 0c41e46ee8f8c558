"""The measured window: warm-up and partial seconds left out, slices, the drift verdict."""

from __future__ import annotations

import pytest

from spendcast.loadtest.shared.recording_file import LoadedRecording
from spendcast.loadtest.shared.run_settings import RunSettings
from spendcast.loadtest.shared.summary import build_summary
from spendcast.loadtest.shared.tally import Tally
from spendcast.loadtest.shared.window import drift, slices, whole_seconds

T0 = 1_000_000


def _recording(p99_by_second: list[float], warmup_until: float | None = None) -> LoadedRecording:
    """100 answers a second: 90 of 1 ms and 10 of the second's p99."""
    seconds = {T0 + i: Tally.of([1.0] * 90 + [p99] * 10, 0) for i, p99 in enumerate(p99_by_second)}
    endpoint = Tally.of([1.0] * len(seconds), 0)
    return LoadedRecording(
        started_at=T0 + 0.4,
        stopped_at=T0 + len(p99_by_second) - 0.3,
        endpoints={("GET", "/x"): endpoint},
        seconds=seconds,
        users={},
        warmup_until=warmup_until,
    )


def test_the_partial_and_warm_up_seconds_are_no_samples() -> None:
    recording = _recording([5.0] * 10)
    assert list(whole_seconds(recording)) == [T0 + i for i in range(1, 9)]
    warm = _recording([5.0] * 10, warmup_until=T0 + 4)
    assert list(whole_seconds(warm)) == [T0 + i for i in range(4, 9)]
    summary = build_summary(warm, RunSettings(), slice_s=2).to_json()
    flags = [(row["warmup"], row["sample"]) for row in summary["timeseries"]]
    assert flags[:4] == [(True, False)] * 4
    assert flags[4:9] == [(False, True)] * 5
    assert flags[-1] == (False, False)  # the last, partial second
    assert summary["window"]["start_s"] == pytest.approx(3.6)


def test_slices_cover_the_window_the_last_maybe_shorter() -> None:
    parts = slices(_recording([5.0] * 12), 4)
    assert [(p.start - T0, p.end - T0) for p in parts] == [(1, 5), (5, 9), (9, 11)]
    assert [p.tally.requests for p in parts] == [400, 400, 200]
    assert [p.p99_per_second for p in parts][2] == pytest.approx((5.0, 5.0), rel=1e-3)


def test_a_step_in_p99_is_a_drift() -> None:
    found = drift(slices(_recording([5.0] * 7 + [50.0] * 7), 6))
    assert found is not None
    assert found.drifted is True
    assert found.first_ms < 10 < 40 < found.last_ms
    assert found.p_value < 0.01


def test_noise_alone_is_no_drift() -> None:
    wobble = [5.0, 7.0, 5.5, 6.5, 5.2, 6.8, 5.9, 6.1, 5.4, 6.6, 5.8, 6.2, 5.0, 7.0]
    found = drift(slices(_recording(wobble), 6))
    assert found is not None  # judged (two whole slices of six seconds) ...
    assert found.drifted is False  # ... and nothing moved beyond the noise


def test_too_few_seconds_judge_nothing() -> None:
    assert drift(slices(_recording([5.0] * 4 + [50.0] * 4), 3)) is None
