"""``summary.json`` read as a typed ``Summary`` and written back: the same bytes for real runs of
each kind, older files still readable, unknown keys ignored, a misspelt field caught by mypy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from spendcast.loadtest.shared.contract import SUMMARY_FILE
from spendcast.loadtest.shared.latency import LatencyFigures
from spendcast.loadtest.shared.run_files import read_summary
from spendcast.loadtest.shared.run_settings import RunSettings
from spendcast.loadtest.shared.run_summary import Summary, Window
from tests.support.fixed_service import REPO, fixed_service
from tests.support.ui_session import spendcast_ui

# A schema 1 file as the kit wrote it before the window, the open model and the slices.
SCHEMA_1: dict[str, Any] = {
    "schema_version": 1,
    "spendcast_version": "0.1.0",
    "timestamp": "2026-11-23T22:29:46.401Z",
    "finished": "2026-11-23T22:29:49.121Z",
    "duration_s": 2.72,
    "config": {
        "host": "http://127.0.0.1:8765",
        "scenario": "mixed",
        "users": 5,
        "spawn_rate": 5.0,
        "duration_s": 3,
        "processes": None,
        "think_time": None,
        "slos": ["p95<100ms"],
    },
    "requests": 5591,
    "failures": 0,
    "error_rate": 0.0,
    "rps": 2055.355,
    "latency_ms": {
        "p50": 1.647,
        "p90": 4.667,
        "p95": 6.211,
        "p99": 10.079,
        "p99_9": 17.727,
        "max": 46.271,
        "mean": 2.234,
    },
    "endpoints": [
        {
            "method": "GET",
            "name": "/predict",
            "requests": 4486,
            "failures": 0,
            "error_rate": 0.0,
            "rps": 1649.137,
            "latency_ms": {"p50": 1.568},
        }
    ],
    "timeseries": [
        {
            "time": 0,
            "users": 5,
            "requests": 1411,
            "rps": 1411,
            "failures": 0,
            "p50": 1.652,
            "p95": 4.087,
            "p99": 8.775,
        }
    ],
    "slos": [
        {
            "expression": "p95<100ms",
            "endpoint": None,
            "method": None,
            "metric": "p95",
            "op": "<",
            "threshold": 100.0,
            "observed": 6.211,
            "passed": True,
        }
    ],
    "passed": True,
    "files": {
        "recording": "recording.json",
        "html": "report.html",
        "csv": ["locust_stats.csv"],
        "log": "locust.log",
        "plots": ["throughput.png"],
    },
}


def _round_trips(run_dir: Path) -> Summary:
    text = (run_dir / SUMMARY_FILE).read_text(encoding="utf-8")
    summary = Summary.from_json(json.loads(text))
    assert json.dumps(summary.to_json(), indent=2) + "\n" == text
    assert read_summary(run_dir) == summary
    return summary


def test_an_older_file_reads_with_defaults_for_what_it_lacks() -> None:
    summary = Summary.from_json(SCHEMA_1)
    assert summary.schema_version == 1
    assert summary.config.scenario == "mixed"
    assert summary.config.users == 5
    assert summary.config.load_plan is None
    assert summary.config.warmup_s == 0
    assert summary.window == Window(0.0, 2.72)
    assert summary.total.requests == 5591
    assert summary.total.latency_ms.p99_9 == 17.727
    assert summary.total.uncorrected_latency_ms is None
    assert summary.endpoints[0].label == "GET /predict"
    assert summary.endpoints[0].figures.latency_ms == LatencyFigures(p50=1.568)
    assert summary.iterations is None
    assert (summary.late, summary.dropped) == (0, 0)
    assert summary.timeseries[0].sample is None  # before the window: no sample flag
    assert summary.timeseries[0].rps == 1411
    assert (summary.slices, summary.drift, summary.abort) == ((), None, None)
    assert summary.slos[0].passed
    assert summary.files is not None
    assert summary.files.plots == ("throughput.png",)
    assert summary.locust_exit_code is None


def test_unknown_keys_are_ignored_at_every_level() -> None:
    later = json.loads(json.dumps(SCHEMA_1))
    later["new_figure"] = 1
    later["config"]["new_option"] = "x"
    later["endpoints"][0]["new_figure"] = 2
    later["timeseries"][0]["new_figure"] = 3
    later["latency_ms"]["p99_99"] = 50.0
    assert Summary.from_json(later) == Summary.from_json(SCHEMA_1)


def test_settings_round_trip_every_field() -> None:
    settings = RunSettings.from_json(Summary.from_json(SCHEMA_1).config.to_json())
    assert RunSettings.from_json(settings.to_json()) == settings
    assert settings.to_json()["slos"] == ["p95<100ms"]


@pytest.mark.e2e
@pytest.mark.parametrize(
    "options",
    [
        ("--slo", "p99<60s", "--slo", "GET /predict:errors<1%", "--warmup", "1s", "--slice", "1s"),
        ("--rate", "30", "--slice", "1s", "--arrival", "poisson", "--seed", "3"),
    ],
    ids=["closed", "open-model-sliced"],
)
def test_a_real_load_tests_summary_round_trips_byte_for_byte(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    out = tmp_path / "run"
    with fixed_service(5) as server:
        done = subprocess.run(
            [sys.executable, "-m", "spendcast", "loadtest", "--host", server.url, "--duration",
             "4s", "--out", str(out), "--quiet", "--no-history", *options],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = _round_trips(out)
    assert summary.total.requests > 0
    assert summary.total.requests == sum(e.figures.requests for e in summary.endpoints)
    assert summary.slices
    assert summary.files is not None
    assert summary.files.plots
    if "--rate" in options:
        assert summary.config.rate_model
        assert summary.iterations is not None
        assert summary.total.uncorrected_latency_ms is not None
    else:
        assert summary.window.start_s > 0
        assert [result.passed for result in summary.slos] == [True, True]


@pytest.mark.e2e
def test_a_capacity_searchs_step_run_round_trips_byte_for_byte(capacity_run: Path) -> None:
    summary = _round_trips(capacity_run)
    assert summary.total.requests > 0
    assert summary.timeseries


@pytest.mark.e2e
def test_a_ui_runs_summary_round_trips_byte_for_byte(tmp_path: Path) -> None:
    with (
        fixed_service(5) as server,
        spendcast_ui(tmp_path, "--host", server.url, "--slo", "p99<60s") as ui,
    ):
        assert ui.swarm(user_count=2, spawn_rate=2, host=server.url)["success"]
        ui.wait_for(20)
        run_dir, _ = ui.stop()
    summary = _round_trips(run_dir)
    assert summary.total.requests >= 20
    assert [result.passed for result in summary.slos] == [True]
    assert summary.files is not None
    assert summary.files.log is None


MISSPELT = """
from spendcast.loadtest.shared.run_files import read_summary
from pathlib import Path

print(read_summary(Path("run")).windw.start_s)
"""


@pytest.mark.e2e
def test_mypy_catches_a_misspelt_field(tmp_path: Path) -> None:
    (tmp_path / "reader.py").write_text(MISSPELT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent",
         str(tmp_path / "reader.py")],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert '"Summary" has no attribute "windw"' in done.stdout
