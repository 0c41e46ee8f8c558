"""The micro-benchmarks, measured: ``tests/bench/test_benchmarks.py`` on pytest-benchmark.

    python -m bench micro                    # runs/bench/micro/benchmarks.json
    python -m bench micro -k record          # only the recorder's

The same file runs in ``make test`` with the harness off (each body once, asserted); here the
harness calibrates and times each one. ``pytest-benchmark compare A.json B.json`` compares two.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "tests" / "bench" / "test_benchmarks.py"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("runs/bench/micro"),
    show_default=True,
    help="Directory for benchmarks.json (pytest-benchmark's format).",
)
@click.option("-k", "select", default=None, help="Only the benchmarks matching (pytest -k).")
def main(out: Path, select: str | None) -> None:
    """A prediction and a recorded row, timed by pytest-benchmark."""
    out.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pytest", str(BENCHMARKS), "-q", "-p", "no:cacheprovider",
        "-p", "no:xdist",
        "--benchmark-enable", f"--benchmark-json={(out / 'benchmarks.json').resolve()}",
        *(["-k", select] if select else []),
    ]  # fmt: skip
    # pytest-benchmark turns itself off under xdist, which it also reads from the environment
    # (PYTEST_XDIST_WORKER, set when this runs inside a test run): neither is passed on.
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_XDIST")}
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    if code != 0:
        raise SystemExit(code)
