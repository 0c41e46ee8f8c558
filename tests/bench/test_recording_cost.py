"""bench/recording_cost.py runs (in its own interpreter: it imports Locust) and prints each
figure it promises, as numbers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.results import read

ROOT = Path(__file__).resolve().parents[2]


def test_it_prints_the_listener_and_per_second_costs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "recording", "--requests", "2000",
         "--rate", "500", "--rounds", "2", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {line[:49].strip(): line[49:].split() for line in done.stdout.splitlines()[2:]}
    assert float(rows["events.request.fire, Locust's own listeners"][0]) > 0
    assert float(rows["... with the kit's listener"][0]) > 0
    assert float(rows["once a second at 500 req/s: into the histograms"][0]) > 0
    assert float(rows["the per-second work, per request"][0]) > 0
    assert len(read(tmp_path).figures["fire, with the kit's listener: us/request"]) == 2
