"""The comparison's latency chart: both sides' percentiles, log axes read back as numbers."""

from __future__ import annotations

from pathlib import Path

from spendcast.loadtest.compare.pairs import Comparison, Side
from spendcast.loadtest.compare.report import NINES, latency_figure
from spendcast.loadtest.shared.recording import Recording
from tests.support.figures import assert_plain_milliseconds, tick_labels


def run_dir(path: Path, latency_ms: float) -> Path:
    """A run directory holding only a recording: 2,000 requests around ``latency_ms``."""
    path.mkdir()
    recording = Recording()
    recording.started_at, recording.stopped_at = 1000.0, 1002.0
    for i in range(2000):
        recording.record("GET", "/predict", latency_ms * (1 + (i % 10) / 10), False, 1000.5)
    recording.write(path / "recording.json")
    return path


def test_both_sides_on_log_axes_labelled_as_numbers(tmp_path: Path) -> None:
    base = Side("main", run_dirs=(run_dir(tmp_path / "a", 20.0),))
    cand = Side("main", run_dirs=(run_dir(tmp_path / "b", 10.0),))  # the same label twice
    figure = latency_figure(Comparison(base, cand, "seconds", [], {}))
    (axis,) = figure.axes
    assert len(axis.get_lines()) == 2
    assert (axis.get_xscale(), axis.get_yscale()) == ("log", "log")
    major, minor = tick_labels(figure, "y")
    assert_plain_milliseconds(major + minor)
    assert "10" in major
    assert {"20", "30"} <= set(minor), minor
    assert tick_labels(latency_figure(Comparison(base, cand, "seconds", [], {})), "x") == (
        [f"{p:g}%" for p in NINES],
        [],
    )


def test_no_run_gives_an_empty_chart_without_a_warning() -> None:
    figure = latency_figure(Comparison(Side("a"), Side("b"), "pairs", [], {}))
    assert figure.axes[0].get_legend() is None
    assert figure.axes[0].get_lines() == []
