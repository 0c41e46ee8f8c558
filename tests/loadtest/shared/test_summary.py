"""summary.json built from a synthetic recording."""

from __future__ import annotations

from pathlib import Path

import pytest

from spendcast.loadtest.shared.latency import LatencyHistogram
from spendcast.loadtest.shared.plots import write_plots
from spendcast.loadtest.shared.recording import Recording
from spendcast.loadtest.shared.recording_file import LoadedRecording, read_recording
from spendcast.loadtest.shared.run_settings import RunSettings
from spendcast.loadtest.shared.slo import parse_slo
from spendcast.loadtest.shared.summary import SCHEMA_VERSION, build_summary, check_slos

START = 1_700_000_000.25


def _recording(tmp_path: Path) -> LoadedRecording:
    """4 seconds: 100 GET /predict a second (10 ms, the last second 30 ms), 10 POST a second
    (50 ms), one failed GET; users 5 then 10."""
    recording = Recording()
    recording.started_at, recording.stopped_at = START, START + 4
    for second in range(4):
        at = START + second
        for _ in range(100):
            recording.record("GET", "/predict", 30.0 if second == 3 else 10.0, False, at)
        for _ in range(10):
            recording.record("POST", "/predict", 50.0, False, at)
        recording.users[int(at)] = 5 if second < 2 else 10
    recording.record("GET", "/predict", 5.0, True, START + 1)
    recording.write(tmp_path / "recording.json")
    return read_recording(tmp_path / "recording.json")


def test_summary_figures(tmp_path: Path) -> None:
    recording = _recording(tmp_path)
    slos = [parse_slo(s) for s in ("p95<40ms", "GET /predict:p50<=10.1ms", "errors<0.1%")]
    results = check_slos(recording, slos)
    config = RunSettings(host="http://h", scenario="mixed")
    summary = build_summary(recording, config, results).to_json()

    assert summary["schema_version"] == SCHEMA_VERSION
    assert summary["config"] == config.to_json()
    assert (summary["config"]["host"], summary["config"]["scenario"]) == ("http://h", "mixed")
    assert (summary["requests"], summary["failures"]) == (441, 1)
    assert summary["rps"] == pytest.approx(441 / 4, abs=1e-3)
    assert summary["duration_s"] == 4.0
    latency = summary["latency_ms"]
    assert set(latency) == {"p50", "p90", "p95", "p99", "p99_9", "max", "mean"}
    assert latency["p50"] == pytest.approx(10.0, rel=1e-3)
    assert latency["p95"] == pytest.approx(50.0, rel=1e-3)
    assert latency["max"] == pytest.approx(50.0, rel=1e-3)

    endpoints = {(e["method"], e["name"]): e for e in summary["endpoints"]}
    assert endpoints[("GET", "/predict")]["requests"] == 401
    assert endpoints[("GET", "/predict")]["failures"] == 1
    assert endpoints[("POST", "/predict")]["latency_ms"]["p99"] == pytest.approx(50.0, rel=1e-3)

    series = summary["timeseries"]
    assert [row["time"] for row in series] == [0, 1, 2, 3]
    assert [row["rps"] for row in series] == [110, 111, 110, 110]
    assert [row["failures"] for row in series] == [0, 1, 0, 0]
    assert [row["users"] for row in series] == [5, 5, 10, 10]
    assert series[0]["p50"] == pytest.approx(10.0, rel=1e-3)
    assert series[3]["p50"] == pytest.approx(30.0, rel=1e-3)

    verdicts = [(s["expression"], s["passed"]) for s in summary["slos"]]
    assert verdicts == [
        ("p95<40ms", False),
        ("GET /predict:p50<=10.1ms", True),
        ("errors<0.1%", False),
    ]
    assert summary["passed"] is False


def test_plots_are_written(tmp_path: Path) -> None:
    recording = _recording(tmp_path)
    summary = build_summary(recording, RunSettings())
    histograms = {f"{m} {n}": t.histogram for (m, n), t in recording.endpoints.items()}
    histograms["empty"] = LatencyHistogram()
    paths = write_plots(summary, histograms, tmp_path)
    assert [p.name for p in paths] == [
        "throughput.png",
        "latency_over_time.png",
        "latency_distribution.png",
    ]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 10_000
