"""Every benchmark's ``--quick`` run (one round, the smallest it takes) writes a results.json
with its figures and paired ratios, which ``python -m bench compare`` reads. ``instructions``
is run by tests/bench/test_instructions.py (valgrind). Nothing here is timed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.__main__ import main
from bench.results import read
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]
# Shorter still than --quick where a benchmark has the option: no assertion here needs length.
SHORT_WINDOW = ("--window", "1", "--warmup", "0.5")

# (arguments, the benchmark results.json names, one ratio it must hold); "{tmp}": tmp_path
RUNS = [
    (("timetable", "--quick", "--rounds", "1"), "timetable", "paced / realistic, cpu per slot"),
    (("hotpath", "--quick", "--rounds", "1"), "hotpath", "/predict / /health, us per request"),
    (
        ("recording", "--quick", "--rounds", "1"),
        "recording",
        "with the kit's listener / without, per request",
    ),
    (
        ("insert", "--quick"),
        "insert",
        "served: compiled statement, DBAPI executemany, FULL / SQLAlchemy Core execute, dict per "
        "row, FULL (before), cpu per row",
    ),
    (
        ("micro", "--quick", "--rounds", "1", "-k", "predict_one or pipeline"),
        "micro",
        "the pipeline on one row / predict_one",
    ),
    (
        ("generator", "--quick", "--rounds", "1", "--only", "1 process", *SHORT_WINDOW),
        "generator",
        "1 process: requests_per_cpu_s",
    ),
    (
        ("arrivals", "--quick", "--rates", "200"),
        "arrivals",
        "200/s: spendcast / plain, requests per cpu-s",
    ),
    (
        (
            "throughput",
            "--quick",
            "--rounds",
            "1",
            "--suite",
            "stacks",
            "--only",
            "uvicorn-1w",
            "--only",
            "uvicorn-asyncio-h11-1w",
            "--duration",
            "1",
        ),
        "throughput",
        "uvicorn asyncio+h11 / uvloop+httptools, 1w",
    ),
    (
        ("soak", "--quick", "--duration", "5s", "--database-url", "sqlite:///{tmp}/soak.db"),
        "soak",
        "achieved / target rps",
    ),
    (
        ("diagnosis", "cost", "--quick", "--rounds", "1", "--seconds", "2"),
        "diagnosis cost",
        "watched / alone, req/s",
    ),
    (("diagnosis", "knee", "--quick"), "diagnosis knee", "users: knee / true capacity"),
]


@pytest.mark.parametrize(
    ("arguments", "written_as", "ratio"), RUNS, ids=[" ".join(run[0][:2]) for run in RUNS]
)
def test_a_quick_run_writes_results_that_compare_reads(
    arguments: tuple[str, ...], written_as: str, ratio: str, tmp_path: Path
) -> None:
    if arguments[0] == "throughput":
        require_tool("wrk")
    _writes_results_that_compare_reads(arguments, written_as, ratio, tmp_path)


def test_the_memory_quick_run_writes_results_that_compare_reads(
    serving_only_venv: Path, tmp_path: Path
) -> None:
    """On the install tests/packaging/ reads too (its own default place and build), made once."""
    require_tool("wrk")
    arguments = ("memory", "--quick", "--venv", str(serving_only_venv))
    ratio = "spendcast-1w-serving-only worker 1: rss after the runs / warm"
    _writes_results_that_compare_reads(arguments, "memory", ratio, tmp_path)


def _writes_results_that_compare_reads(
    arguments: tuple[str, ...], written_as: str, ratio: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    given = [argument.format(tmp=tmp_path) for argument in arguments]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *given, "--out", str(out)],
        capture_output=True, text=True, timeout=900, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    results = read(out)
    assert results.benchmark == written_as
    assert results.source == str(ROOT / "src")
    assert results.machine["cpus"] >= 1
    assert results.ratios[ratio].median > 0
    assert len(results.ratios[ratio].values) == results.rounds
    assert results.figures
    assert all(len(values) == results.rounds for values in results.figures.values())
    compared = CliRunner().invoke(main, ["compare", str(out), str(out)])
    assert compared.exit_code == 0, compared.output
    assert ratio in compared.output
    assert f"figure: {next(iter(results.figures))}" in compared.output
