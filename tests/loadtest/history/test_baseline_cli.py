"""A blessed baseline: ``compare --against-baseline`` and ``loadtest --compare-baseline`` judge
a slower server exactly as ``compare BASE_DIR RUN_DIR --fail-if slower`` does (exit code 3),
even once the baseline's directory is gone; and capacity searches are remembered too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from spendcast.loadtest.run.server_process import free_port, started_server
from tests.loadtest.history.support import listed, loadtest, spendcast
from tests.support.fixed_service import REPO, command, environment, fixed_service

pytestmark = pytest.mark.e2e


def comparison(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "comparison.json").read_text())
    return data


def judged(data: dict[str, Any]) -> list[tuple[str, str, float, float]]:
    return [(f["name"], f["verdict"], f["p_value"], f["ratio"]) for f in data["figures"]]


def test_against_the_blessed_baseline_is_compare_of_the_two_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    # One host, so one key for both servers; 10 s runs give 8 full seconds a side, enough for
    # the per-second test to call a 4x slowdown significant even on a loaded machine.
    runs, port = tmp_path / "runs", free_port()
    with started_server(command(), cwd=REPO, env=environment(5), port=port) as fast:
        loadtest(fast.url, runs / "fast", cwd=tmp_path, url=url, seconds=10)
    none = spendcast("compare", "--against-baseline", str(runs / "fast"), cwd=tmp_path, url=url,
                     code=2)  # fmt: skip
    assert none.stderr.startswith("Error: no baseline blessed for key ")
    assert none.stderr.count("\n") == 1
    blessed = spendcast("history", "bless", str(runs / "fast"), cwd=tmp_path, url=url)
    assert "is the baseline of key" in blessed.stdout
    with started_server(command(), cwd=REPO, env=environment(20), port=port) as slow:
        gated = loadtest(slow.url, runs / "slow", "--compare-baseline", cwd=tmp_path, url=url,
                         seconds=10, code=3)  # fmt: skip
    assert "verdict: slower" in gated.stdout
    assert gated.stderr.endswith("(--fail-if slower)\n")

    direct = spendcast("compare", str(runs / "fast"), str(runs / "slow"), "--fail-if", "slower",
                       "--out", str(tmp_path / "direct"), cwd=tmp_path, url=url,
                       code=3)  # fmt: skip
    shutil.rmtree(runs / "fast")  # a CI job keeps the store, not the baseline's directory
    against = spendcast("compare", "--against-baseline", str(runs / "slow"), "--out",
                        str(tmp_path / "against"), cwd=tmp_path, url=url, code=3)  # fmt: skip
    expected = comparison(tmp_path / "direct")
    assert expected["verdict"] == "slower"
    for out in (tmp_path / "against", runs / "slow" / "baseline-comparison"):
        assert comparison(out)["verdict"] == expected["verdict"]
        assert judged(comparison(out)) == judged(expected)
    assert against.stderr == direct.stderr
    stored = listed(tmp_path, url, "--kind", "loadtest")
    assert [(Path(r["run_dir"]).name, r["blessed"]) for r in stored] == [
        ("fast", True),
        ("slow", False),
    ]
    assert len({r["key"] for r in stored}) == 1


def test_a_capacity_search_is_remembered_with_its_knee(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    with fixed_service(5) as server:
        spendcast("capacity", "--host", server.url, "--window", "1s",
                  "--max-step-time", "5s", "--max-steps", "2", "--bisect", "0", "--quiet",
                  "--out", str(tmp_path / "search"), cwd=tmp_path, url=url,
                  timeout=120)  # fmt: skip
    (run,) = listed(tmp_path, url)
    capacity = json.loads((tmp_path / "search" / "capacity.json").read_text())
    assert (run["kind"], run["verdict"], run["passed"]) == ("capacity", capacity["answer"], True)
    knee = next(f for f in run["figures"] if f["endpoint"] == "capacity")
    assert knee["rps"] == capacity["best"]["figures"]["rps"]
    assert run["key_inputs"]["load"] == capacity["plan"]
