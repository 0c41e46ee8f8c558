"""For the history tests: run directories shaped as ``run_load`` writes them, and the real
CLI run with a given store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from spendcast.loadtest.history.metadata import Machine, RunMetadata
from spendcast.loadtest.history.store import HISTORY_URL_ENV
from tests.support import in_process
from tests.support.in_process import Done

# Commands that start Locust: their own process (no test here gives compare server commands).
LOAD_COMMANDS = frozenset({"loadtest", "capacity", "profile", "ui"})

MACHINE = Machine("Test CPU 3000", 2)


def config(**changes: Any) -> dict[str, Any]:
    """``summary.json``'s ``config`` of ``spendcast loadtest --users 2 --duration 3s``."""
    return {"host": "http://127.0.0.1:8000", "scenario": "predict", "users": 2,
            "spawn_rate": 2.0, "duration_s": 3, "processes": None, "workers": None,
            "think_time": None, "slos": [], "abort_on_fail": False, "abort_grace_s": None,
            "load_plan": None, "locustfile": None, "user_classes": ["PredictUser"], "tags": [],
            "exclude_tags": [], **changes}  # fmt: skip


def latency(p99: float) -> dict[str, float]:
    return {"p50": p99 / 4, "p90": p99 / 2, "p95": p99 / 1.5, "p99": p99, "p99_9": p99 * 1.2,
            "max": p99 * 1.5, "mean": p99 / 3}  # fmt: skip


def write_run(
    run_dir: Path,
    *,
    p99: float = 40.0,
    rps: float = 100.0,
    started: str = "2026-12-01T10:00:00",
    slos: list[dict[str, Any]] | None = None,
    **changes: Any,
) -> Path:
    """A load test's directory whose figures are ``p99`` and ``rps`` (10 s, every second)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    seconds = [{"time": t, "users": 2, "requests": int(rps), "rps": int(rps), "failures": 0,
                "p50": p99 / 4, "p95": p99 / 1.5, "p99": p99, "dropped": 0}
               for t in range(10)]  # fmt: skip
    figures = {"requests": int(rps * 10), "failures": 0, "error_rate": 0.0, "rps": rps,
               "latency_ms": latency(p99)}  # fmt: skip
    summary = {
        "schema_version": 2, "spendcast_version": "0.1.0", "timestamp": f"{started}.000Z",
        "finished": f"{started}.000Z", "duration_s": 10.0, "config": config(**changes),
        **figures, "iterations": None, "late": 0, "dropped": 0,
        "endpoints": [{"method": "GET", "name": "/predict", **figures}], "stages": [],
        "timeseries": seconds, "slos": slos or [], "passed": True, "aborted": False,
        "abort": None, "files": {},
    }  # fmt: skip
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return run_dir


def metadata(kind: str = "loadtest", commit: str | None = "a" * 40) -> RunMetadata:
    return RunMetadata(kind=kind, command="spendcast loadtest", recorded_at="2026-12-01T10:00:11Z",
                       machine=MACHINE, kit_version="0.1.0", git_commit=commit,
                       git_dirty=False)  # fmt: skip


def spendcast(
    *args: str, cwd: Path, url: str, code: int = 0, timeout: float = 90
) -> subprocess.CompletedProcess[str] | Done:
    """``spendcast ARGS`` with the store ``url`` and no other ``SPENDCAST_*`` setting: a
    subprocess for the commands that send load, in the test's process for the others."""
    if args[0] not in LOAD_COMMANDS:
        unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SPENDCAST_")}
        done: subprocess.CompletedProcess[str] | Done = in_process.spendcast(
            *args, cwd=cwd, env={**unset, HISTORY_URL_ENV: url}
        )
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPENDCAST_")}
        done = subprocess.run([sys.executable, "-m", "spendcast", *args], cwd=cwd,
                              env={**env, HISTORY_URL_ENV: url}, capture_output=True,
                              text=True, timeout=timeout, check=False)  # fmt: skip
    assert done.returncode == code, done.stdout + done.stderr
    return done


def loadtest(
    host: str, out: Path, *options: str, cwd: Path, url: str, code: int = 0, seconds: int = 2
) -> subprocess.CompletedProcess[str] | Done:
    return spendcast("loadtest", "--host", host, "--duration", f"{seconds}s", "--out", str(out),
                     "--quiet", *options, cwd=cwd, url=url, code=code)  # fmt: skip


def listed(cwd: Path, url: str, *filters: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = json.loads(
        spendcast("history", "list", "--json", *filters, cwd=cwd, url=url).stdout
    )
    return runs


def summary(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    return data
