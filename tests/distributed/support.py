"""Reading a distributed run back: the master's results and the workers' own dumps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from spendcast.loadtest.shared.latency import PERCENTILES, LatencyHistogram
from spendcast.loadtest.shared.recording_file import LoadedRecording, read_recording
from spendcast.loadtest.shared.tally import Tally
from spendcast.monitoring import count_rows
from tests.support.server import Server

TOKEN = "distributed-e2e-token-7d41"
BATCH_SIZE = 20
# Every percentile a summary, an SLO or a plot may ask for, and a fine grid between.
CHECKED_PERCENTILES = (*range(1, 100), *PERCENTILES, 99.99, 100.0)


def spendcast(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m spendcast ARGS`` in the background, with the token in its environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "spendcast", *args],
        env={**os.environ, "SPENDCAST_API_TOKEN": TOKEN, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 180) -> tuple[int, str]:
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


def summary(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return data


def endpoint(data: dict[str, Any], method: str, name: str) -> dict[str, Any]:
    found = [e for e in data["endpoints"] if (e["method"], e["name"]) == (method, name)]
    return found[0] if found else {"requests": 0, "failures": 0}


def dumps(directory: Path) -> list[LoadedRecording]:
    return [read_recording(path) for path in sorted(directory.glob("worker-*.json"))]


def union(recordings: list[LoadedRecording]) -> dict[tuple[str, str], Tally]:
    """Each endpoint's tallies over every worker, merged here, independently of the master."""
    merged: dict[tuple[str, str], Tally] = {}
    for recording in recordings:
        for key, tally in recording.endpoints.items():
            merged.setdefault(key, Tally()).merge(tally)
    return merged


def same_percentiles(left: LatencyHistogram, right: LatencyHistogram) -> bool:
    return (
        left.count == right.count
        and left.percentiles_ms(CHECKED_PERCENTILES) == right.percentiles_ms(CHECKED_PERCENTILES)
        and left.max_ms() == right.max_ms()
    )


def rounded_stats(histogram: LatencyHistogram) -> dict[str, float | None]:
    """What ``summary.json`` shows of a histogram (ms, 3 decimals)."""
    stats = histogram.stats().as_dict()
    stats.pop("count")
    return {k: None if v is None else round(float(v), 3) for k, v in stats.items()}


def server_counts(server: Server) -> dict[tuple[str, str], int]:
    """Calls per method and route in the API log file (status 200)."""
    counts: dict[tuple[str, str], int] = {}
    for line in server.log_path.read_text().splitlines():
        _, _, method, path, status, _ = line.split(" ")
        if status == "200":
            counts[(method, path)] = counts.get((method, path), 0) + 1
    return counts


def rows(server: Server) -> int:
    return count_rows(f"sqlite:///{server.database_path}")
