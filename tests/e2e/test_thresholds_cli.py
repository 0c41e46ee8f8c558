"""Thresholds as a CI engineer uses them: k6's syntax and the kit's, the SLO env var with spaced
names, ``--junit`` read by a JUnit parser, the GitHub job summary, and ``--abort-on-fail``
ending a run whose requests all fail (a path prefix that 404s).

The mixed scenario's run is against the real API (its batches must be answered in full); the
runs that check only the kit's verdicts, against the fixed service (far cheaper to start:
tests/support/fixed_service.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from junitparser import JUnitXml

from spendcast.loadtest.shared.contract import PROGRESS_FILE, RECORDING_FILE
from tests.support.fixed_service import fixed_service
from tests.support.server import running_server

pytestmark = pytest.mark.e2e

TOKEN = "thresholds-e2e-token-7d1e"
LONG_RUN_S = 60  # an aborted run must end long before this


def _loadtest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SPENDCAST_LOADTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "spendcast", "loadtest", "--users", "2", "--quiet", *args],
        env={**clean, "SPENDCAST_API_TOKEN": TOKEN, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _summary(out: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary


def _cases(path: Path) -> dict[str, Any]:
    parsed = JUnitXml.fromfile(str(path))
    suites = list(parsed) if isinstance(parsed, JUnitXml) else [parsed]
    assert len(suites) == 1
    return {case.name: case for case in suites[0]}


K6_SLOS = ("GET /predict:p(95)<5000;rate<0.01\nmed<5000;avg<=5000;max<60000;min>=0;dropped==0;"
           "predict:p(99.9)<5000")  # fmt: skip


def test_k6_thresholds_from_the_env_var_hold_with_junit_and_job_summary(workdir: Path) -> None:
    # --abort-on-fail with a 1 s grace: every SLO is checked live, and none may abort the run
    out, junit, step_summary = workdir / "run", workdir / "junit.xml", workdir / "summary.md"
    step_summary.write_text("# earlier step\n", encoding="utf-8")
    with running_server(workdir, token=TOKEN) as server:
        result = _loadtest(
            "--host", server.url, "--scenario", "mixed", "--duration", "3s", "--out", str(out),
            "--junit", str(junit), "--abort-on-fail", "--abort-grace", "1s",
            env={"SPENDCAST_LOADTEST_SLO": K6_SLOS, "GITHUB_STEP_SUMMARY": str(step_summary)},
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = _summary(out)
    expressions = [e.strip() for e in K6_SLOS.replace("\n", ";").split(";")]
    assert summary["config"]["slos"] == expressions
    assert [s["passed"] for s in summary["slos"]] == [True] * 8
    assert (summary["slos"][0]["method"], summary["slos"][0]["endpoint"]) == ("GET", "/predict")
    assert summary["slos"][0]["observed"] > 0
    assert summary["aborted"] is False
    # the live samples carried what the SLOs need: the total, /predict over GET and POST
    samples = [json.loads(line) for line in (out / PROGRESS_FILE).read_text().splitlines()]
    live = samples[-2]
    assert live["final"] is False
    assert live["total"]["requests"] == live["requests"]
    methods = [live["endpoints"][f"{m} /predict"]["requests"] for m in ("GET", "POST")]
    assert live["routes"]["/predict"]["requests"] == sum(methods)
    assert live["routes"]["/predict"]["p99.9_ms"] > 0
    assert {"max_ms", "min_ms", "mean_ms"} <= set(live["total"])
    cases = _cases(junit)
    assert list(cases) == expressions
    assert all(case.is_passed for case in cases.values())
    text = step_summary.read_text(encoding="utf-8")
    assert text.startswith("# earlier step\n### spendcast loadtest mixed")
    assert "✅ passed" in text
    get = next(e for e in summary["endpoints"] if (e["method"], e["name"]) == ("GET", "/predict"))
    assert f"| GET /predict | {get['requests']:,} | 0 |" in text
    assert f"| **total** | {summary['requests']:,} | 0 |" in text
    assert "| `GET /predict:p(95)<5000` |" in text


def test_a_broken_k6_threshold_exits_3_with_its_junit_failure(tmp_path: Path) -> None:
    out, junit = tmp_path / "run", tmp_path / "junit.xml"
    with fixed_service(service_ms=1) as server:
        result = _loadtest(
            "--host", server.url, "--duration", "2s", "--out", str(out), "--junit", str(junit),
            "--slo", "p(50)<0.001", "--slo", "rate<0.01",
        )  # fmt: skip
    assert result.returncode == 3, result.stdout + result.stderr
    assert "1 of 2 SLOs failed" in result.stderr
    summary = _summary(out)
    assert [s["passed"] for s in summary["slos"]] == [False, True]
    root = ET.parse(junit).getroot()
    assert (root.tag, root.attrib["tests"], root.attrib["failures"]) == ("testsuite", "2", "1")
    failure = _cases(junit)["p(50)<0.001"].result[0]
    observed = summary["slos"][0]["observed"]
    assert failure.message == f"observed {observed:.3g} ms vs threshold < 0.001 ms"


def test_a_bad_threshold_is_one_line_and_exit_2() -> None:
    result = _loadtest("--host", "http://127.0.0.1:9", "--slo", "p(95)<200kb")
    assert result.returncode == 2
    assert "give a time unit" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("slo", "grace", "final"),
    [("failures==0", "30s", True), ("errors<1%", "2s", False)],
)
def test_abort_on_fail_ends_a_failing_run_early_and_still_writes_it(
    tmp_path: Path, slo: str, grace: str, final: bool
) -> None:
    out, junit = tmp_path / "run", tmp_path / "junit.xml"
    with fixed_service(service_ms=1) as server:
        result = _loadtest(
            "--host", f"{server.url}/no/such/prefix", "--scenario", "health",
            "--duration", f"{LONG_RUN_S}s", "--out", str(out), "--junit", str(junit),
            "--slo", "p(95)<60000", "--slo", slo, "--abort-on-fail", "--abort-grace", grace,
        )  # fmt: skip
    assert result.returncode == 3, result.stdout + result.stderr
    summary = _summary(out)
    assert summary["requests"] > 0
    assert summary["failures"] == summary["requests"]  # every request got a 404
    assert summary["aborted"] is True
    assert summary["passed"] is False
    abort = summary["abort"]
    assert (abort["expression"], abort["final"], abort["passed"]) == (slo, final, False)
    if not final:
        assert abort["elapsed_s"] >= 2
    assert summary["duration_s"] < LONG_RUN_S
    assert [s["passed"] for s in summary["slos"]] == [True, False]
    assert "aborted at" in result.stderr
    assert (out / RECORDING_FILE).exists()
    last = json.loads((out / PROGRESS_FILE).read_text().splitlines()[-1])
    assert last["final"] is True
    assert last["requests"] == summary["requests"]
    failure = _cases(junit)[slo].result[0]
    assert "aborted at" in str(failure.text)
