"""``spendcast capacity`` against a server whose capacity is known.

``fixed_service_app`` serves one request at a time in 20 ms (it blocks its event loop), so it
holds at most 1000 / 20 = 50 req/s. The search must find that within ±25 %: the server's own
overhead (HTTP parsing, a busy 2-core machine shared with other tests) can only take a few
requests/s off, and a step's figures are averaged over windows of whole seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.fixed_service import fixed_service
from tests.support.in_process import spendcast
from tests.support.user_locustfiles import FIXED_SERVICE, WITH_A_SHAPE

pytestmark = pytest.mark.e2e

SERVICE_MS = 20
KNOWN_CAPACITY = 1000 / SERVICE_MS
TOLERANCE = 0.25


def run_capacity(host: str, out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "spendcast", "capacity", "--host", host, "--out", str(out),
        "--window", "1s", "--stable-windows", "3", "--max-step-time", "8s",
        "--knee-sample", "0", *options,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def found_by_rate(done: subprocess.CompletedProcess[str], out: Path) -> dict[str, Any]:
    """A rate-mode search's ``capacity.json``, checked: it held the known capacity and broke
    above it with a queue in sight."""
    assert done.returncode == 0, done.stdout + done.stderr
    data: dict[str, Any] = json.loads((out / "capacity.json").read_text())
    found = data["best"]["figures"]["rps"]
    assert KNOWN_CAPACITY * (1 - TOLERANCE) <= found <= KNOWN_CAPACITY * (1 + TOLERANCE)
    breaking = data["breaking"]
    assert breaking is not None
    # Above capacity requests wait for the server: latency counted from each intended start
    # grows far beyond the 20 ms service time (a closed model would hide it).
    assert breaking["figures"]["latency_ms"]["p99"] > 10 * SERVICE_MS
    return data


def test_users_mode_finds_the_known_capacity(tmp_path: Path) -> None:
    with fixed_service(SERVICE_MS) as server:
        done = run_capacity(server.url, tmp_path / "run", "--mode", "users", "--bisect", "0")
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((tmp_path / "run" / "capacity.json").read_text())
    found = data["best"]["figures"]["rps"]
    assert KNOWN_CAPACITY * (1 - TOLERANCE) <= found <= KNOWN_CAPACITY * (1 + TOLERANCE)
    # One user already keeps the single worker busy: more users only queue.
    assert data["steps"][0]["load"] == 1
    assert data["steps"][-1]["verdict"] == "flat"
    assert "stopped growing" in data["answer"]
    assert data["answer"] in done.stdout.replace("\n", " ") or "holds" in done.stdout
    assert {"capacity_throughput.png", "capacity_latency.png"} <= set(data["files"]["plots"])
    assert (tmp_path / "run" / "index.html").exists()


def test_rate_mode_finds_the_known_capacity_and_counts_queueing(tmp_path: Path) -> None:
    with fixed_service(SERVICE_MS) as server:
        done = run_capacity(
            server.url, tmp_path / "run", "--mode", "rate", "--start", "20", "--growth", "+15",
            "--slo", "p99<500ms", "--bisect", "1",
        )  # fmt: skip
    data = found_by_rate(done, tmp_path / "run")
    found = data["best"]["figures"]["rps"]
    assert data["breaking"]["load"] > KNOWN_CAPACITY * (1 - TOLERANCE)  # loaded: ~46 req/s
    assert data["answer"].startswith(f"holds {found:,.1f} req/s")
    # The run's iterations are the arrival slots sent: one request each, but for those a user
    # had just started when the search ended the run.
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    in_flight = summary["iterations"] - summary["requests"]
    assert 0 <= in_flight <= data["steps"][-1]["generator"]["users"], summary["iterations"]
    assert sum(step["generator"]["sent"] for step in data["steps"]) <= summary["iterations"]
    assert summary["dropped"] >= sum(step["generator"]["dropped"] for step in data["steps"])


def test_no_step_holding_exits_3_with_junit_and_job_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from junitparser import JUnitXml

    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("before\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    monkeypatch.setenv("SPENDCAST_CAPACITY_SLO", "p(99)<5;rate<0.01")  # k6's words, ';' between
    junit = tmp_path / "capacity.xml"
    with fixed_service(SERVICE_MS) as server:
        done = run_capacity(server.url, tmp_path / "run", "--max-steps", "1", "--junit", str(junit))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "breaks already at the first step" in done.stdout
    parsed = JUnitXml.fromfile(str(junit))
    suites = list(parsed) if isinstance(parsed, JUnitXml) else [parsed]
    cases = {case.name: case for case in suites[0]}
    assert list(cases) == ["p(99)<5", "rate<0.01"]
    assert cases["rate<0.01"].is_passed
    assert cases["p(99)<5"].result[0].message.endswith("vs threshold < 5 ms")
    text = step_summary.read_text(encoding="utf-8")
    assert text.startswith("before\n### spendcast capacity users")
    assert "**breaks already at the first step" in text
    assert "| `p(99)<5` |" in text


def test_usage_errors_exit_2() -> None:
    done = spendcast("capacity", "--host", "http://127.0.0.1:9", "--growth", "x1")
    assert done.returncode == 2
    assert "growth" in done.stderr


def test_unreachable_host_exits_1(tmp_path: Path) -> None:
    # Refused before any load: the CLI runs in the test's process.
    done = spendcast("capacity", "--host", "http://127.0.0.1:9", "--out", str(tmp_path / "run"),
                     "--window", "1s", "--stable-windows", "3", "--max-step-time", "8s",
                     "--knee-sample", "0")  # fmt: skip
    assert done.returncode == 1
    assert "does not answer" in done.stderr


def test_a_users_own_locustfile_is_searched_in_users_mode(tmp_path: Path) -> None:
    locustfile = tmp_path / "my_test.py"
    locustfile.write_text(FIXED_SERVICE)
    with fixed_service(SERVICE_MS) as server:
        done = run_capacity(server.url, tmp_path / "run", "-f", str(locustfile), "Caller",
                            "--mode", "users", "--bisect", "0", "--max-steps", "3")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((tmp_path / "run" / "capacity.json").read_text())
    found = data["best"]["figures"]["rps"]
    assert KNOWN_CAPACITY * (1 - TOLERANCE) <= found <= KNOWN_CAPACITY * (1 + TOLERANCE)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert [e["name"] for e in summary["endpoints"]] == ["my predict"]
    assert summary["config"]["scenario"] == "my_test.py: Caller"
    assert summary["config"]["locustfile"]["path"] == str(locustfile)


def test_a_users_own_locustfile_is_searched_in_rate_mode(tmp_path: Path) -> None:
    # The open model puts the file's own user class on the timetable (arrival.install).
    locustfile = tmp_path / "my_test.py"
    locustfile.write_text(FIXED_SERVICE)
    with fixed_service(SERVICE_MS) as server:
        done = run_capacity(
            server.url, tmp_path / "run", "-f", str(locustfile), "Caller", "--mode", "rate",
            "--start", "20", "--growth", "+15", "--slo", "p99<500ms", "--bisect", "0",
        )  # fmt: skip
    data = found_by_rate(done, tmp_path / "run")  # as for the kit's users
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert [e["name"] for e in summary["endpoints"]] == ["my predict"]
    assert summary["config"]["user_classes"] == ["Caller"]
    assert [step["load"] for step in data["steps"]][:2] == [20, 35]  # iterations/s, not users


def test_what_capacity_cannot_step_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "shaped.py").write_text(WITH_A_SHAPE)
    for mode in ("users", "rate"):
        done = spendcast("capacity", "--host", "http://127.0.0.1:9", "-f", "shaped.py",
                         "--mode", mode, cwd=tmp_path)  # fmt: skip
        assert done.returncode == 2, mode
        assert "shaped.py defines a load shape (Ramp)" in done.stderr, done.stderr
        assert done.stderr.strip().count("\n") == 0, done.stderr
