"""``spendcast compare`` on two servers whose speed is known (``fixed_service_app``).

The candidate serves in 20 ms what the baseline serves in 10 ms: a 2x slowdown, which the
comparison must call slower; the same server twice must show no significant difference.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.fixed_service import REPO, command, environment
from tests.support.in_process import spendcast

pytestmark = pytest.mark.e2e


def server(service_ms: float) -> str:
    variables = [f"{k}={v}" for k, v in environment(service_ms).items()]
    return " ".join(["env", *variables, *command()])


def compare(out: Path, baseline_ms: float, candidate_ms: float, pairs: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "spendcast", "compare",
         "--baseline-cmd", server(baseline_ms), "--candidate-cmd", server(candidate_ms),
         "--pairs", str(pairs), "--users", "4", "--duration", "2s", "--warmup", "0",
         "--out", str(out)],
        capture_output=True, text=True, timeout=150, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data: dict[str, Any] = json.loads((out / "comparison.json").read_text())
    assert f"verdict: {data['verdict']}" in done.stdout
    return data


def verdicts(data: dict[str, Any]) -> dict[str, str]:
    return {figure["name"]: figure["verdict"] for figure in data["figures"]}


def test_a_2x_slowdown_is_slower(tmp_path: Path) -> None:
    # 5 pairs, as for identical servers: with 3, one pair whose Locust was starved of CPU (a
    # container build beside it) left the throughput's paired test short of significance.
    data = compare(tmp_path / "cmp", baseline_ms=10, candidate_ms=20, pairs=5)
    assert data["verdict"] == "slower"
    assert verdicts(data)["rps"] == "slower"
    assert verdicts(data)["p50"] == "slower"
    rps = next(f for f in data["figures"] if f["name"] == "rps")
    assert 0.4 <= rps["ratio"] <= 0.65
    assert len(rps["per_pair"]) == 5
    assert data["baseline"]["runs"]
    assert len(data["candidate"]["runs"]) == 5
    markdown = (tmp_path / "cmp" / "comparison.md").read_text()
    assert "| throughput (req/s) |" in markdown
    assert "slower" in markdown
    for name in ("index.html", "compare_figures.png", "compare_latency.png"):
        assert (tmp_path / "cmp" / name).stat().st_size > 0


def test_identical_servers_show_no_significant_difference(tmp_path: Path) -> None:
    data = compare(tmp_path / "cmp", baseline_ms=10, candidate_ms=10, pairs=5)
    assert data["verdict"] == "no significant difference", verdicts(data)
    rps = next(f for f in data["figures"] if f["name"] == "rps")
    assert 0.9 <= rps["ratio"] <= 1.1


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    for arguments in ([], ["--baseline-cmd", "x"], [str(tmp_path), "--baseline-cmd", "x"]):
        assert spendcast("compare", *arguments).returncode == 2, arguments


def test_two_servers_loaded_by_a_users_own_locustfile(tmp_path: Path) -> None:
    from tests.support.user_locustfiles import FIXED_SERVICE

    locustfile = tmp_path / "my_test.py"
    locustfile.write_text(FIXED_SERVICE)
    out = tmp_path / "cmp"
    done = subprocess.run(
        [sys.executable, "-m", "spendcast", "compare", "--baseline-cmd", server(20),
         "--candidate-cmd", server(60), "-f", str(locustfile), "Caller", "--pairs", "3",
         "--users", "2", "--duration", "2s", "--warmup", "0", "--out", str(out)],
        capture_output=True, text=True, timeout=150, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((out / "comparison.json").read_text())
    assert data["config"]["scenario"] == "my_test.py: Caller"
    assert data["config"]["user_classes"] == ["Caller"]
    runs = [Path(run) for side in ("baseline", "candidate") for run in data[side]["runs"]]
    assert len(runs) == 6
    for run in runs:
        summary = json.loads((run / "summary.json").read_text())
        assert [(e["name"], e["failures"]) for e in summary["endpoints"]] == [("my predict", 0)]
    rps = next(f for f in data["figures"] if f["name"] == "rps")
    # One request at a time, 60 ms against 20 ms each: a third of the throughput.
    assert rps["ratio"] < 0.7, rps


def test_two_pairs_are_refused_they_can_almost_never_differ() -> None:
    done = spendcast("compare", "--baseline-cmd", server(10), "--candidate-cmd", server(20),
                     "--pairs", "2", cwd=REPO)  # fmt: skip
    assert done.returncode == 2
    assert "Invalid value for '--pairs': 2 is not in the range x>=3." in done.stderr
