"""The micro-benchmarks, measured: ``tests/bench/test_benchmarks.py`` on pytest-benchmark.

    python -m bench micro                    # runs/bench/micro/results.json
    python -m bench micro -k record          # only the recorder's
    python -m bench micro --quick            # 0.1 s per benchmark, 2 rounds

The same file runs in ``make test`` with the harness off (each body once, asserted); here the
harness calibrates and times each one, once per round (one pytest run each). Each round's
pytest-benchmark file is kept as ``benchmarks-N.json`` (``pytest-benchmark compare`` reads
two); results.json holds each benchmark's median per round and, paired per round, the pipeline
over the compiled predictor and ``record()`` over a bare queue put.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click

from bench.options import shared_options
from bench.results import Ratio, Results, command_line

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "tests" / "bench" / "test_benchmarks.py"
# label -> (numerator, denominator): test names of BENCHMARKS, paired per round
RATIOS = {
    "the pipeline on one row / predict_one": (
        "test_the_pipeline_on_one_row_what_the_lab_did",
        "test_predict_one",
    ),
    "record() / a bare queue put": ("test_record", "test_a_bare_queue_put_the_floor"),
}


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options(
    "micro", rounds=1, quick_rounds=2, quick="0.1 s per benchmark a round", pin="process"
)
@click.option("-k", "select", default=None, help="Only the benchmarks matching (pytest -k).")
def main(quick: bool, rounds: int, pin: bool, out: Path, select: str | None) -> None:
    """A prediction and a recorded row, timed by pytest-benchmark."""
    out.mkdir(parents=True, exist_ok=True)
    medians: dict[str, list[float]] = {}
    for round_ in range(1, rounds + 1):
        report = (out / f"benchmarks-{round_}.json").resolve()
        _pytest(report, select, quick)
        for entry in json.loads(report.read_text())["benchmarks"]:
            medians.setdefault(entry["name"], []).append(entry["stats"]["median"] * 1e6)
    ratios = {
        label: Ratio.of([a / b for a, b in zip(medians[top], medians[bottom], strict=True)])
        for label, (top, bottom) in RATIOS.items()
        if top in medians and bottom in medians
    }
    figures = {f"{name}: median us": tuple(values) for name, values in medians.items()}
    for label, ratio in ratios.items():
        click.echo(f"{label}: {ratio.median:.2f} [{ratio.low:.2f}-{ratio.high:.2f}]")
    written = Results("micro", command_line(), rounds, ratios, figures).write(out, {})
    click.echo(f"wrote {written}")


def _pytest(report: Path, select: str | None, quick: bool) -> None:
    command = [
        sys.executable, "-m", "pytest", str(BENCHMARKS), "-q", "-p", "no:cacheprovider",
        "-p", "no:xdist", "--benchmark-enable", f"--benchmark-json={report}",
        *(["--benchmark-max-time=0.1"] if quick else []),
        *(["-k", select] if select else []),
    ]  # fmt: skip
    # pytest-benchmark turns itself off under xdist, which it also reads from the environment
    # (PYTEST_XDIST_WORKER, set when this runs inside a test run): neither is passed on.
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_XDIST")}
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    if code != 0:
        raise SystemExit(code)


if __name__ == "__main__":
    main()
