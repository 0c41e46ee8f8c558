"""bench/results.py and ``python -m bench``: one results.json schema, read back and compared."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.__main__ import BENCHMARKS, main
from bench.results import Ratio, Results, comparison_rows, read

ROOT = Path(__file__).resolve().parents[2]


def _results(benchmark: str, median: float, **machine: object) -> Results:
    return Results(
        benchmark=benchmark,
        command=f"python -m bench {benchmark}",
        rounds=2,
        ratios={
            "predict / health": Ratio(
                (median - 0.1, median + 0.1), median, median - 0.1, median + 0.1
            ),
            f"only in {median}": Ratio((1.0,), 1.0, 1.0, 1.0),
        },
        machine={"cpus": 2, **machine},
        created="2026-12-07T00:00:00+00:00",
    )


def test_a_written_file_reads_back_the_same_and_keeps_the_details(tmp_path: Path) -> None:
    results = _results("throughput", 1.5)
    path = results.write(tmp_path, {"settings": {"duration_s": 3}})
    assert path == tmp_path / "results.json"
    assert read(tmp_path) == read(path) == results
    data = json.loads(path.read_text())
    assert data["settings"] == {"duration_s": 3}
    assert data["ratios"]["predict / health"]["values"] == [1.4, 1.6]


def test_figures_read_back_and_compare_as_their_medians(tmp_path: Path) -> None:
    old = replace(_results("hotpath", 1.0), figures={"/predict: us/request": (30.0, 10.0, 20.0)})
    new = replace(old, figures={"/predict: us/request": (15.0, 5.0)})
    assert read(old.write(tmp_path, {})) == old
    rows = comparison_rows(old, new)
    assert rows[-1] == ["figure: /predict: us/request", "20.000 [10.000-30.000]",
                        "10.000 [5.000-15.000]", "0.500"]  # fmt: skip


def test_a_file_of_before_figures_and_source_reads() -> None:
    data = _results("generator", 1.0).to_json()
    del data["figures"], data["source"]
    assert Results.from_json(data).figures == {}


def test_details_cannot_overwrite_the_schema(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="source"):
        _results("memory", 1.0).write(tmp_path, {"source": "elsewhere"})


def test_unknown_keys_are_ignored() -> None:
    data = {**_results("generator", 1.0).to_json(), "future": 1}
    data["ratios"]["predict / health"]["met"] = True
    assert Results.from_json(data) == _results("generator", 1.0)


def test_rows_pair_the_ratios_both_hold() -> None:
    rows = comparison_rows(_results("throughput", 1.0), _results("throughput", 1.5))
    assert rows == [["predict / health", "1.000 [0.900-1.100]", "1.500 [1.400-1.600]", "1.500"]]


def test_compare_prints_new_over_old(tmp_path: Path) -> None:
    old = _results("throughput", 2.0).write(tmp_path / "old", {})
    new = _results("throughput", 1.0, cpu_model="other").write(tmp_path / "new", {})
    result = CliRunner().invoke(main, ["compare", str(old), str(new.parent)])
    assert result.exit_code == 0, result.output
    assert "predict / health" in result.output
    assert "0.500" in result.output
    assert "different machines" in result.output


def test_compare_refuses_two_benchmarks(tmp_path: Path) -> None:
    old = _results("throughput", 2.0).write(tmp_path / "old", {})
    new = _results("generator", 1.0).write(tmp_path / "new", {})
    result = CliRunner().invoke(main, ["compare", str(old), str(new)])
    assert result.exit_code == 2
    assert "is throughput" in result.output


def test_one_command_lists_every_benchmark_and_each_one_answers_help() -> None:
    def bench(*args: str) -> str:
        # In a subprocess: some benchmarks import Locust, which monkey-patches the interpreter.
        return subprocess.run(
            [sys.executable, "-m", "bench", *args],
            capture_output=True, text=True, timeout=60, check=True, cwd=ROOT,
        ).stdout  # fmt: skip

    listed = bench("--help")
    for name in [*BENCHMARKS, "compare"]:
        assert f"  {name} " in listed
    for name in BENCHMARKS:
        assert bench(name, "--help").startswith(f"Usage: python -m bench {name} [OPTIONS]")


def test_the_micro_benchmarks_run_measured_from_the_one_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "micro", "--out", str(tmp_path), "-k", "predict_one"],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    measured = json.loads((tmp_path / "benchmarks-1.json").read_text())["benchmarks"]
    assert [b["name"] for b in measured] == ["test_predict_one"]
    assert measured[0]["stats"]["rounds"] > 1
    assert measured[0]["stats"]["min"] > 0
