"""Warm-up, slices and arrival patterns through the real CLI, against servers that log what
they received and when (tests/support/timeline_app.py)."""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.timeline import Timeline, timeline_server

pytestmark = pytest.mark.e2e
SPENDCAST = [sys.executable, "-m", "spendcast"]


def _loadtest(server: Timeline, out: Path, *options: str) -> tuple[dict[str, Any], str]:
    done = subprocess.run(
        [*SPENDCAST, "loadtest", "--host", server.url, "--out", str(out), *options],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return summary, done.stdout


def _predicts(server: Timeline) -> list[float]:
    return [at for at, _ in server.arrivals()]


def test_the_warm_up_is_sent_but_left_out_of_every_figure(tmp_path: Path) -> None:
    # slow (600 ms) for the first 2 s, then fast (2 ms): a 4 s warm-up leaves only fast answers
    with timeline_server(tmp_path / "arrivals", before_ms=600, after_ms=2, switch_s=2) as server:
        summary, stdout = _loadtest(
            server, tmp_path / "run", "--rate", "40", "--duration", "12s", "--warmup", "4s",
            "--slice", "4s", "--slo", "max<600ms",
        )  # fmt: skip
        received = len(_predicts(server))
    assert summary["window"]["warmup_requests"] > 0
    assert summary["requests"] + summary["window"]["warmup_requests"] == received
    assert summary["latency_ms"]["max"] < 600  # no slow answer counted ...
    assert summary["slos"][0]["passed"] is True  # ... nor checked
    assert 4 <= summary["window"]["start_s"] < 5
    warm = [row for row in summary["timeseries"] if row["warmup"]]
    assert warm
    assert all(not row["sample"] for row in warm)
    assert sum(row["requests"] for row in warm) == summary["window"]["warmup_requests"]
    assert max(row["p99"] or 0 for row in warm) >= 600  # in the series (the plots shade it)
    assert "warm-up's" in stdout
    # the slices cover the measured window only, and add up to what it counted
    assert summary["slices"][0]["start_s"] == summary["window"]["start_s"]
    assert sum(part["requests"] for part in summary["slices"]) <= summary["requests"]


def test_slices_show_a_step_and_the_drift_line_fires(tmp_path: Path) -> None:
    with timeline_server(tmp_path / "arrivals", before_ms=2, after_ms=300, switch_s=7) as server:
        summary, stdout = _loadtest(
            server, tmp_path / "run", "--rate", "30", "--duration", "20s", "--slice", "6s"
        )
    first, last = summary["slices"][0], summary["slices"][2]
    assert first["latency_ms"]["p99"] < 300 <= last["latency_ms"]["p99"]
    assert summary["latency_ms"]["p99"] >= 300 > first["latency_ms"]["p50"]  # the run: a mix
    assert summary["drift"]["drifted"] is True
    assert "drift: p99 up" in stdout
    # the open model: from the intended start, and from the actual send, side by side
    assert "from the actual send" in stdout
    sent, corrected = summary["uncorrected_latency_ms"], summary["latency_ms"]
    assert sent["p50"] <= corrected["p50"]
    assert sent["max"] <= corrected["max"]
    assert "slices" in stdout


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def _cv(values: list[float]) -> float:
    return statistics.pstdev(values) / statistics.fmean(values)


def _dispersion(times: list[float], bin_s: float) -> float:
    """Variance over mean of the arrivals counted in bins of ``bin_s`` (Poisson: 1)."""
    start = times[0]
    counts = [0] * int((times[-1] - start) / bin_s)
    for at in times:
        index = int((at - start) / bin_s)
        if index < len(counts):
            counts[index] += 1
    return statistics.pvariance(counts) / statistics.fmean(counts)


@pytest.mark.parametrize(
    ("arrival", "low", "high"),
    [("constant", 0.0, 0.3), ("poisson", 0.8, 1.2), ("gamma:2", 1.5, 2.6)],
)
def test_the_server_sees_the_arrival_pattern_asked(
    tmp_path: Path, arrival: str, low: float, high: float
) -> None:
    with timeline_server(tmp_path / "arrivals", before_ms=2, after_ms=2) as server:
        summary, _ = _loadtest(
            server, tmp_path / "run", "--rate", "25", "--duration", "12s", "--arrival", arrival,
            "--seed", "4", "--quiet",
        )  # fmt: skip
        received = _predicts(server)
    # the steady stream: the first second catches up with Locust's start, the last is cut
    times = [at for at in received if received[0] + 1 <= at <= received[-1] - 1]
    assert summary["dropped"] == 0
    assert summary["config"]["load_plan"]["arrival"]["kind"] == arrival.partition(":")[0]
    assert low <= _cv(_gaps(times)) <= high
    if arrival == "poisson":
        assert 0.6 <= _dispersion(times, 0.1) <= 1.5
    if arrival == "constant":
        assert _dispersion(times, 0.1) < 0.3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--arrival", "weibull"], "invalid arrival pattern"),
        (["--arrival", "poisson"], "--arrival spaces the open model"),
        (["--rate", "10", "--duration", "5s", "--warmup", "5s"], "leaves nothing to measure"),
        (["--slice", "0s"], "--slice"),
    ],
)
def test_bad_window_and_pattern_options_are_one_line(options: list[str], message: str) -> None:
    done = subprocess.run(
        [*SPENDCAST, "loadtest", "--host", "http://127.0.0.1:9", *options],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
