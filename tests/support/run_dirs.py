"""Run directories for report tests: a real load test, capacity search and profile; a comparison
written by the kit from synthetic pairs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from spendcast.loadtest.compare.pairs import Comparison, Side
from spendcast.loadtest.compare.report import write_comparison
from spendcast.loadtest.compare.stats import compare_pairs
from spendcast.loadtest.shared.run_summary import Summary
from tests.support.fixed_service import REPO, command, environment, fixed_service

SPENDCAST = [sys.executable, "-m", "spendcast"]


def loadtest_dir(out: Path, service_ms: float = 10, seconds: int = 3) -> Path:
    loadtest_output(out, service_ms, seconds, "--quiet")
    return out


def fast_and_slow(root: Path, fast_ms: float, slow_ms: float, seconds: int = 3) -> dict[str, Path]:
    """``fast`` and ``slow``: a load test of 2 users each against ``fixed_service`` answering in
    ``fast_ms`` and ``slow_ms``, for ``seconds``, in ``root``."""
    return {name: loadtest_dir(root / name, service_ms=service_ms, seconds=seconds)
            for name, service_ms in (("fast", fast_ms), ("slow", slow_ms))}  # fmt: skip


def loadtest_output(
    out: Path, service_ms: float, seconds: int, *options: str, exit_code: int = 0
) -> str:
    """What ``spendcast loadtest ... OPTIONS`` printed (it exited with ``exit_code``)."""
    with fixed_service(service_ms) as server:
        done = subprocess.run([*SPENDCAST, "loadtest", "--host", server.url, "--users", "2",
                               "--duration", f"{seconds}s", "--out", str(out), *options],
                              check=False, timeout=90, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == exit_code, done.stdout + done.stderr
    return done.stdout


def capacity_dir(out: Path, service_ms: float = 20) -> Path:
    """A users-mode search that holds at least its first step: a loose latency SLO, so the knee
    is where throughput stops growing (the default p99<100ms breaks at once on a loaded
    machine, where one user's p99 alone can pass 100 ms)."""
    with fixed_service(service_ms) as server:
        subprocess.run([*SPENDCAST, "capacity", "--host", server.url, "--window", "1s",
                        "--max-step-time", "6s", "--bisect", "0", "--slo", "p99<2s", "--slo",
                        "errors<1%", "--out", str(out), "--quiet"],
                       check=True, timeout=180, capture_output=True)  # fmt: skip
    return out


def profile_dir(out: Path) -> Path:
    server = " ".join(["env", *(f"{k}={v}" for k, v in environment(0, 3).items()), *command()])
    subprocess.run([*SPENDCAST, "profile", "--server-cmd", server, "--users", "2",
                    "--duration", "3s", "--out", str(out)],
                   check=True, timeout=120, capture_output=True, cwd=REPO)  # fmt: skip
    return out


def summaries(p99_ms: float, wobble: tuple[float, ...]) -> list[Summary]:
    """Runs' summaries as the comparison reads them (latency ``p99_ms`` x each wobble)."""
    return [Summary.from_json(
                {"timestamp": "2026-12-01T10:00:00.000Z", "duration_s": 5.0,
                 "rps": 1000 / (p99_ms * w), "error_rate": 0.0, "requests": 1000, "failures": 0,
                 "latency_ms": {"p50": p99_ms * w / 4, "p95": p99_ms * w / 2, "p99": p99_ms * w}})
            for w in wobble]  # fmt: skip


def comparison_dir(out: Path, baseline_ms: float, candidate_ms: float) -> Path:
    """A comparison directory written by the kit, from five synthetic pairs of runs."""
    base = summaries(baseline_ms, (1.0, 1.01, 0.99, 1.0, 1.02))
    cand = summaries(candidate_ms, (1.01, 1.0, 1.0, 0.99, 1.01))
    config = {"scenario": "predict", "users": 2, "duration_s": 5, "warmup_s": 1}
    comparison = Comparison(Side("main"), Side("branch"), "pairs", compare_pairs(base, cand),
                            config)  # fmt: skip
    return write_comparison(comparison, out).parent
