"""Real run directories for report tests: a load test, a capacity search, a profile."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.fixed_service import REPO, command, environment, fixed_service

SPENDCAST = [sys.executable, "-m", "spendcast"]


def loadtest_dir(out: Path, service_ms: float = 10, seconds: int = 3) -> Path:
    with fixed_service(service_ms) as server:
        subprocess.run([*SPENDCAST, "loadtest", "--host", server.url, "--users", "2",
                        "--duration", f"{seconds}s", "--out", str(out), "--quiet"],
                       check=True, timeout=90, capture_output=True)  # fmt: skip
    return out


def capacity_dir(out: Path, service_ms: float = 20) -> Path:
    with fixed_service(service_ms) as server:
        subprocess.run([*SPENDCAST, "capacity", "--host", server.url, "--window", "1s",
                        "--max-step-time", "6s", "--bisect", "0", "--out", str(out), "--quiet"],
                       check=True, timeout=120, capture_output=True)  # fmt: skip
    return out


def profile_dir(out: Path) -> Path:
    server = " ".join(["env", *(f"{k}={v}" for k, v in environment(0, 3).items()), *command()])
    subprocess.run([*SPENDCAST, "profile", "--server-cmd", server, "--users", "2",
                    "--duration", "3s", "--out", str(out)],
                   check=True, timeout=120, capture_output=True, cwd=REPO)  # fmt: skip
    return out
