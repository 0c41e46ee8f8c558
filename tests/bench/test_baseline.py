"""bench/baseline.py: ``--baseline REV`` pairs each figure round by round, replays the options
given, and runs for real on a micro-benchmark and on a macro one (servers and Locust)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from bench.__main__ import main
from bench.baseline import merged, pair, replayed_arguments
from bench.options import shared_options
from bench.results import Ratio, Results, read
from tests.bench.test_quick_runs import SHORT_WINDOW

ROOT = Path(__file__).resolve().parents[2]


def _round(benchmark: str, **figures: float) -> Results:
    ratio = Ratio.of([figures.get("a", 1.0) / 2])
    return Results(benchmark, "python -m bench x", 1, {"a / 2": ratio},
                   {name: (value,) for name, value in figures.items()})  # fmt: skip


def test_each_figure_both_sides_hold_is_paired_round_by_round() -> None:
    candidate = [_round("x", a=2.0, b=10.0, only_here=1.0), _round("x", a=3.0, b=10.0)]
    baseline = [_round("x", a=4.0, b=5.0), _round("x", a=3.0, b=0.0)]
    ratios = pair(candidate, baseline)
    assert ratios["a: candidate / baseline"].values == (0.5, 1.0)
    assert ratios["b: candidate / baseline"].values == (2.0,)  # a baseline of 0 pairs nothing
    assert not any(name.startswith("only_here") for name in ratios)


def test_one_side_s_rounds_merge_as_one_run_would_give_them() -> None:
    ratios, figures = merged([_round("x", a=2.0), _round("x", a=4.0)])
    assert figures == {"a": (2.0, 4.0)}
    assert ratios["a / 2"] == Ratio((1.0, 2.0), 1.5, 1.0, 2.0)


@click.group()
def bench() -> None:
    pass


@bench.command()
@shared_options("probe", rounds=3, quick_rounds=1, quick="short")
@click.option("--only", multiple=True)
@click.option("--rate", type=float, default=1.0)
def probe(
    quick: bool, rounds: int, pin: bool, out: Path, only: tuple[str, ...], rate: float
) -> None:
    click.echo(f"rounds={rounds}")


def test_the_options_given_are_replayed_but_the_child_s_own() -> None:
    parent = click.Context(bench, info_name="bench")
    given = ["--quick", "--no-pin", "--only", "a b", "--only", "c", "--rounds", "3",
             "--baseline", "HEAD", "--out", "x"]  # fmt: skip
    context = probe.make_context("probe", given, parent=parent)
    assert replayed_arguments(context) == ["probe", "--quick", "--no-pin", "--only", "a b",
                                           "--only", "c"]  # fmt: skip


def test_rounds_default_to_the_benchmark_s_own_and_quick_s() -> None:
    runner = CliRunner()
    assert runner.invoke(bench, ["probe"]).output == "rounds=3\n"
    assert runner.invoke(bench, ["probe", "--quick"]).output == "rounds=1\n"
    assert runner.invoke(bench, ["probe", "--quick", "--rounds", "2"]).output == "rounds=2\n"


def test_pin_is_refused_in_one_line_where_a_benchmark_cannot_pin() -> None:
    result = CliRunner().invoke(main, ["soak", "--pin"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: --pin: this benchmark runs where the OS puts it (--no-pin only)"
    ]


def test_an_unknown_revision_is_a_usage_error_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["insert", "--baseline", "no-such-rev", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "--baseline no-such-rev" in result.output


def _paired_run(out: Path, *args: str) -> Results:
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args, "--baseline", "HEAD", "--rounds", "1",
         "--out", str(out)],
        capture_output=True, text=True, timeout=600, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = read(out)
    details = json.loads((out / "results.json").read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True, cwd=ROOT).stdout.strip()  # fmt: skip
    assert details["baseline"]["commit"] == head
    sources = {side: read(out / side / "round-1").source for side in ("candidate", "baseline")}
    assert sources["candidate"] == str(ROOT / "src")
    assert sources["baseline"] == details["baseline"]["src"] != sources["candidate"]
    assert results.rounds == 1
    assert "--baseline HEAD" in results.command
    return results


def test_a_micro_benchmark_against_head(tmp_path: Path) -> None:
    results = _paired_run(tmp_path, "micro", "--quick", "-k", "predict_one")
    ratio = results.ratios["test_predict_one: median us: candidate / baseline"]
    assert len(ratio.values) == 1
    assert ratio.median > 0
    assert len(results.figures["test_predict_one: median us"]) == 1


def test_a_macro_benchmark_against_head(tmp_path: Path) -> None:
    results = _paired_run(tmp_path, "generator", "--quick", "--only", "1 process", *SHORT_WINDOW)
    for generator in ("plain", "spendcast"):
        ratio = results.ratios[f"{generator} 1 process: requests per cpu-s: candidate / baseline"]
        assert len(ratio.values) == 1
        assert ratio.median > 0
    assert results.ratios["1 process: requests_per_cpu_s"].median > 0  # the side's own ratio
    compared = CliRunner().invoke(main, ["compare", str(tmp_path), str(tmp_path)])
    assert compared.exit_code == 0, compared.output
    assert "candidate / baseline" in compared.output
