"""``spendcast compare BASE_DIR RUN_DIR``: two stored run directories compared second by second.

One fast (5 ms) and one slow (20 ms) run of 8 s, made once for the module: every test only
reads them, each writing its comparison into a directory of its own, through the CLI run in the
test's process (``tests/support/in_process.py``: no Python start per comparison).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.in_process import Done, spendcast
from tests.support.run_dirs import fast_and_slow

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``fast`` and ``slow``: 8 s of 2 users each, 8 whole seconds a side for the test."""
    return fast_and_slow(tmp_path_factory.mktemp("runs"), 5, 20, seconds=8)


def compare(*arguments: str) -> Done:
    return spendcast("compare", *arguments)


def test_two_run_directories_are_compared_second_by_second(
    tmp_path: Path, runs: dict[str, Path]
) -> None:
    done = compare(str(runs["fast"]), str(runs["slow"]), "--out", str(tmp_path / "cmp"))
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert data["method"] == "seconds"
    verdicts = {figure["name"]: figure["verdict"] for figure in data["figures"]}
    assert verdicts["rps"] == "slower"
    assert verdicts["p50"] == "slower"


def test_fail_if_slower_gates_a_candidate_on_a_stored_baseline(
    tmp_path: Path, runs: dict[str, Path]
) -> None:
    fast, slow = runs["fast"], runs["slow"]

    def gate(base: Path, cand: Path, fail_if: str) -> Done:
        out = tmp_path / f"cmp-{base.name}-{cand.name}"
        return compare(str(base), str(cand), "--fail-if", fail_if, "--out", str(out))

    regression = gate(fast, slow, "slower")
    assert regression.returncode == 3, regression.stdout + regression.stderr
    assert "verdict: slower" in regression.stdout
    assert "(--fail-if slower)" in regression.stderr
    improvement = gate(slow, fast, "slower")
    assert improvement.returncode == 0, improvement.stdout + improvement.stderr
    assert "verdict: faster" in improvement.stdout
    assert gate(slow, fast, "different").returncode == 3
    same = gate(fast, fast, "different")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "verdict: no significant difference" in same.stdout
