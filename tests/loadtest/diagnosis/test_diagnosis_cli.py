"""``spendcast capacity`` names the bottleneck of servers whose bottleneck is known.

Each server (``tests/support/bottleneck_app.py``) is searched through the real CLI with short
steps; the diagnosis in ``capacity.json`` must name the right bottleneck and, for the local
Python servers sampled at the knee, the function that costs or the stack that waits. The
server is found each of the three ways: started by ``--server-cmd``, by ``--server-pid``, and
from the port of a local ``--host``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.bottleneck import REPO, bottleneck_server, command, environment
from tests.support.in_process import spendcast

pytestmark = pytest.mark.e2e


def capacity(out: Path, *options: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a short search (a loose latency SLO: the knee is where throughput stops growing,
    whatever the machine's other load does to latency); its ``diagnosis``, printed too."""
    done = subprocess.run(
        [sys.executable, "-m", "spendcast", "capacity", "--out", str(out), "--window", "1s",
         "--stable-windows", "3", "--max-step-time", "8s", "--bisect", "0", "--knee-sample",
         "4", "--slo", "p99<2s", "--slo", "errors<1%", *options],
        capture_output=True, text=True, timeout=150, check=False, cwd=REPO,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    diagnosis: dict[str, Any] = json.loads((out / "capacity.json").read_text())["diagnosis"]
    assert f"diagnosis: {diagnosis['bottleneck']}" in done.stdout
    return diagnosis


def test_cpu_burnt_in_one_process_is_server_cpu_and_names_the_function(tmp_path: Path) -> None:
    diagnosis = capacity(tmp_path / "run", "--server-cmd", command(), "--ready-path", "/ready",
                         env=environment("cpu", ms=10))  # fmt: skip
    assert diagnosis["bottleneck"] == "server-cpu", diagnosis["evidence"]
    assert diagnosis["server_source"] == "processes"
    top = diagnosis["top_functions"][0]
    assert (top["function"], top["file"]) == ("slow_checksum", "tests/support/fixed_service_app.py")
    assert top["share"] > 0.5
    assert diagnosis["knee"]["hot"]["function"] == "slow_checksum"
    assert any("--workers" in line for line in diagnosis["what_to_try"])
    knee = next(s for s in diagnosis["steps"] if s["index"] == diagnosis["knee_step"])
    assert knee["server"][0]["threads"] >= 1
    assert knee["server"][0]["rss_mb"] > 0
    assert knee["generator"], "Locust's processes are watched too"


def test_a_lock_held_while_sleeping_is_server_waiting_on_that_lock(tmp_path: Path) -> None:
    with bottleneck_server("lock", ms=20) as server:  # found from the port it listens on
        diagnosis = capacity(tmp_path / "run", "--host", server.url)
    assert diagnosis["bottleneck"] == "server-waiting", diagnosis["evidence"]
    assert diagnosis["knee"]["on_cpu_share"] < 0.5
    assert diagnosis["top_functions"][0]["function"] == "hold_lock"
    assert any("hold_lock" in line for line in diagnosis["what_to_try"])


def test_a_small_pool_of_slots_is_server_waiting_in_the_pool(tmp_path: Path) -> None:
    with bottleneck_server("pool", ms=30, slots=2) as server:
        diagnosis = capacity(tmp_path / "run", "--host", server.url,
                             "--server-pid", str(server.process.pid))  # fmt: skip
    assert diagnosis["bottleneck"] == "server-waiting", diagnosis["evidence"]
    # Requests wait for a slot (the semaphore's acquire) and, holding one, in the sleep.
    stacks = [w["frames"] for w in diagnosis["knee"]["waiting_stacks"]]
    assert all(s[-1].startswith("use_slot (tests/support/bottleneck_app.py") for s in stacks)
    assert any("Semaphore.acquire" in frame for stack in stacks for frame in stack), stacks
    # Two slots of 30 ms: about two requests at once.
    assert any("about 2." in line or "about 1.9" in line for line in diagnosis["what_to_try"])


def test_a_trivial_server_loaded_by_one_locust_process_is_the_load_generator(
    tmp_path: Path,
) -> None:
    with bottleneck_server("fast") as server:
        diagnosis = capacity(tmp_path / "run", "--host", server.url, "--growth", "x4",
                             "--max-steps", "6")  # fmt: skip
    assert diagnosis["bottleneck"] == "load-generator", diagnosis["evidence"]
    assert any("--processes" in line for line in diagnosis["what_to_try"])


def test_failures_rising_before_saturation_are_errors(tmp_path: Path) -> None:
    with bottleneck_server("errors", ms=20, slots=2) as server:
        diagnosis = capacity(tmp_path / "run", "--host", server.url)
    assert diagnosis["bottleneck"] == "errors", diagnosis["evidence"]
    assert any("of the requests failed" in line for line in diagnosis["evidence"])


def test_a_load_test_that_breaks_its_slo_is_diagnosed_too(tmp_path: Path) -> None:
    with bottleneck_server("lock", ms=20) as server:
        done = subprocess.run(
            [sys.executable, "-m", "spendcast", "loadtest", "--host", server.url, "--users", "4",
             "--duration", "8s", "--slo", "p99<10ms", "--out", str(tmp_path / "run"), "--quiet"],
            capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
        )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    diagnosis = json.loads((tmp_path / "run" / "summary.json").read_text())["diagnosis"]
    assert diagnosis["bottleneck"] == "server-waiting", diagnosis["evidence"]
    assert diagnosis["server_source"] == "processes"
    assert "diagnosis: server-waiting" in done.stdout


def test_a_server_pid_that_does_not_exist_is_refused_in_one_line() -> None:
    done = spendcast("capacity", "--host", "http://127.0.0.1:9", "--server-pid", "999999999")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "Error: --server-pid 999999999: no such process on this machine"
