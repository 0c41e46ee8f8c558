"""``progress.jsonl`` read as typed lines and written back: the same bytes, figures readable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spendcast.loadtest.shared.contract import PROGRESS_FILE
from spendcast.loadtest.shared.progress import EndpointFigures, Progress, Spread
from tests.support.run_dirs import loadtest_output


def test_figures_are_named_by_percentile_and_unknown_keys_are_ignored() -> None:
    figures = EndpointFigures.of(10, 1, [(50.0, 1.5), (99.9, 7.0), (50, 2.0)], Spread(9.0, 0.5, 2))
    assert figures.to_json() == {"requests": 10, "failures": 1, "p50_ms": 1.5, "p99.9_ms": 7.0,
                                 "max_ms": 9.0, "min_ms": 0.5, "mean_ms": 2}  # fmt: skip
    read = EndpointFigures.from_json({**figures.to_json(), "new_figure": 3})
    assert read == figures
    assert read.percentile_ms(99.9) == 7.0
    assert read.percentile_ms(95) is None
    line = {"elapsed": 1.0, "users": 2, "requests": 10, "failures": 1, "rps": 5.0,
            "p95_ms": None, "endpoints": {"GET /x": figures.to_json()}, "later": True}  # fmt: skip
    assert Progress.from_json(line).endpoints == {"GET /x": figures}


@pytest.mark.e2e
def test_a_real_runs_progress_file_round_trips_byte_for_byte(tmp_path: Path) -> None:
    # --abort-on-fail makes the lines carry the total, max/min/mean and the SLOs' percentiles.
    out = tmp_path / "run"
    loadtest_output(out, 5, 3, "--quiet", "--abort-on-fail", "--slo", "p(99.9)<60000")
    text = (out / PROGRESS_FILE).read_text(encoding="utf-8")
    lines = [Progress.from_json(json.loads(line)) for line in text.splitlines()]
    assert "".join(json.dumps(line.to_json()) + "\n" for line in lines) == text
    last = lines[-1]
    assert last.final
    assert last.requests > 0
    assert last.total is not None
    assert last.total.requests == last.requests
    assert last.total.percentile_ms(99.9) is not None
    assert last.total.spread is not None
    assert last.total.spread.max_ms is not None
    assert sum(figures.requests for figures in last.endpoints.values()) == last.requests
