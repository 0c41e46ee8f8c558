"""Run wrk with ``bench/wrk.lua`` and read the JSON line its ``done()`` hook prints."""

from __future__ import annotations

import json
import os
import resource
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("wrk.lua")
MARKER = "WRK_JSON "
ERROR_KINDS = ("connect", "read", "write", "status", "timeout")


class WrkError(RuntimeError):
    """wrk failed or printed no summary."""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles (microseconds) and errors by kind."""

    requests: int
    duration_us: int
    rps: float
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int
    mean_us: float
    errors: dict[str, int] = field(default_factory=dict)
    generator_cpu_s: float = 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "duration_us": self.duration_us,
            "rps": self.rps,
            "latency_us": {
                "mean": self.mean_us,
                "p50": self.p50_us,
                "p90": self.p90_us,
                "p99": self.p99_us,
                "max": self.max_us,
            },
            "errors": dict(self.errors),
            "generator_cpu_s": self.generator_cpu_s,
        }


def parse_wrk_output(text: str) -> WrkResult:
    """The summary printed by ``wrk.lua``'s ``done()``; raises WrkError when it is missing."""
    lines = [line for line in text.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise WrkError(f"no {MARKER.strip()} line in wrk output:\n{text[-2000:]}")
    data = json.loads(lines[-1][len(MARKER) :])
    latency = data["latency_us"]
    return WrkResult(
        requests=int(data["requests"]),
        duration_us=int(data["duration_us"]),
        rps=float(data["rps"]),
        p50_us=int(latency["p50"]),
        p90_us=int(latency["p90"]),
        p99_us=int(latency["p99"]),
        max_us=int(latency["max"]),
        mean_us=float(latency["mean"]),
        errors={kind: int(data["errors"].get(kind, 0)) for kind in ERROR_KINDS},
    )


def wrk_command(
    url: str,
    *,
    connections: int,
    duration_s: float,
    threads: int = 1,
    cpus: str | None = None,
    wrk: str = "wrk",
) -> list[str]:
    """The wrk command line, pinned with taskset to ``cpus`` when given."""
    threads = max(1, min(threads, connections))
    command = [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration_s))}s",
        "--timeout", "10s", "-s", str(SCRIPT), url,
    ]  # fmt: skip
    return ["taskset", "-c", cpus, *command] if cpus else command


def run_wrk(
    command: list[str], *, path: str, randomised_query: bool, token: str | None
) -> WrkResult:
    """Run one wrk command against ``path``; the result carries wrk's own CPU time."""
    env = {**os.environ, "WRK_PATH": path, "WRK_QUERY": "random" if randomised_query else "none"}
    if token:
        env["SPENDCAST_TOKEN"] = token
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise WrkError(f"wrk exited with {completed.returncode}: {completed.stderr[-2000:]}")
    result = parse_wrk_output(completed.stdout)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return replace(result, generator_cpu_s=round(cpu, 3))
