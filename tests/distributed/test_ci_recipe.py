"""The CI recipe (deploy/github-actions.yml, docs/ci.md) run locally through its own commands.

The workflow's load-test step is read from the YAML and run by bash in the repository root, as
GitHub's runner would, with a short duration and the SLO under test: a met SLO exits 0, an
impossible one 3 (which fails the job), and both leave the report where the workflow publishes
it from. An API that never gets ready, or exits before, fails the job (exit 1) with the
server's own output printed, and every file a message points at exists.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.server import free_port

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = REPO_ROOT / "deploy" / "github-actions.yml"


def _steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps: list[dict[str, Any]] = workflow["jobs"]["loadtest"]["steps"]
    return steps


def _step(name: str) -> dict[str, Any]:
    return next(step for step in _steps() if step.get("name") == name)


def _run_load_test_step(
    ci_dir: Path, slo: str, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    step = _step("Train, serve, load test with SLOs")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPENDCAST_")}
    env.update(step["env"])
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
            "SPENDCAST_CI_DIR": str(ci_dir),
            "SPENDCAST_PORT": str(free_port()),
            "SPENDCAST_WORKERS": "1",
            "SPENDCAST_LOADTEST_USERS": "2",
            "SPENDCAST_LOADTEST_DURATION": "2s",
            "SPENDCAST_LOADTEST_SLO": slo,
            **extra_env,
        }
    )
    return subprocess.run(
        ["bash", "-c", step["run"]],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _summary(ci_dir: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((ci_dir / "run" / "summary.json").read_text())
    return summary


def test_met_slos_pass_the_job(tmp_path: Path) -> None:
    result = _run_load_test_step(tmp_path, "p99<60s;errors<=0%")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = _summary(tmp_path)
    assert summary["passed"] is True
    assert [s["expression"] for s in summary["slos"]] == ["p99<60s", "errors<=0%"]
    assert summary["requests"] > 0
    assert (tmp_path / "run" / "report.html").stat().st_size > 0
    assert "load test passed" in result.stdout


@pytest.fixture(scope="module")
def impossible_slo(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One job with an SLO no server meets (its folder and the step's outcome), read by the
    tests below."""
    ci_dir = tmp_path_factory.mktemp("impossible-slo")
    return ci_dir, _run_load_test_step(ci_dir, "p50<0.001ms")


def test_an_impossible_slo_fails_the_job_with_exit_code_3(
    impossible_slo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    ci_dir, result = impossible_slo
    assert result.returncode == 3, result.stdout + result.stderr
    assert _summary(ci_dir)["passed"] is False
    assert (ci_dir / "run" / "report.html").stat().st_size > 0
    assert "::error title=SLO failed::p50<0.001ms" in result.stdout


def _pointed_at(output: str) -> list[str]:
    """The files the script's messages tell the reader to see."""
    return [path for see in re.findall(r"\(see ([^)]*)\)", output) for path in see.split()]


def test_an_api_that_never_gets_ready_fails_the_job_with_its_own_log(tmp_path: Path) -> None:
    # The API log is a FIFO no one reads: the app's startup blocks opening it, so the server
    # process stays alive and never answers (as one stuck on a volume or a dependency would).
    fifo = tmp_path / "api.log"
    os.mkfifo(fifo)
    ci_dir = tmp_path / "ci"
    result = _run_load_test_step(
        ci_dir, "p99<60s", SPENDCAST_LOG_FILE=str(fifo), SPENDCAST_READY_TIMEOUT="45"
    )  # room for serve's check that the model loads, before uvicorn's first line
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "::error title=API not ready::" in result.stdout
    assert "did not answer within 45s" in result.stdout
    printed = result.stdout.partition("----- serve.log: the API's own output -----\n")[2]
    log = (ci_dir / "serve.log").read_text()
    assert printed.startswith(f"{log}----- end of serve.log -----\n")
    assert "Waiting for application startup." in log  # uvicorn's own line, then stuck
    assert not (ci_dir / "run").exists()  # no load test against an API that is not there
    pointed = _pointed_at(result.stdout)
    assert pointed == [str(ci_dir / "serve.log")]
    assert all(Path(path).is_file() for path in pointed)


def test_an_api_that_exits_at_start_fails_the_job_with_its_own_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = _run_load_test_step(tmp_path, "p99<60s", SPENDCAST_PORT=port)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "::error title=API not ready::the API exited with code" in result.stdout
    assert "address already in use" in result.stdout.lower()  # from the server's own output
    assert not (tmp_path / "run").exists()
    pointed = _pointed_at(result.stdout)
    assert pointed
    assert all(Path(path).is_file() for path in pointed)


def test_every_file_a_failure_message_points_at_exists(
    impossible_slo: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    ci_dir, result = impossible_slo
    assert result.returncode == 3
    pointed = _pointed_at(result.stdout)
    assert pointed == [
        str(ci_dir / "run" / "report.html"),
        str(ci_dir / "run" / "summary.json"),
    ]
    assert all(Path(path).is_file() for path in pointed)


def test_the_workflow_is_least_privilege_cancels_stale_runs_and_caches_pip() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.ref" in workflow["concurrency"]["group"]
    setup = next(s for s in _steps() if str(s.get("uses", "")).startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "3.11"
    assert setup["with"]["cache"] == "pip"
    assert "[loadtest]" in _step("Install")["run"]


def test_the_workflow_installs_first_and_always_publishes_the_run() -> None:
    names = [step.get("name") for step in _steps()]
    assert names.index("Install") < names.index("Train, serve, load test with SLOs")
    publish = _step("Publish the report")
    assert publish["if"] == "always()"
    assert publish["with"]["path"].rstrip("/") == "ci-loadtest"  # the script's default folder
    assert re.search(r'SPENDCAST_CI_DIR="\$\{SPENDCAST_CI_DIR:-ci-loadtest\}"', _script())


def test_docs_show_the_shipped_workflow() -> None:
    docs = (REPO_ROOT / "docs" / "ci.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", docs, flags=re.DOTALL)
    assert WORKFLOW.read_text() in blocks


def _script() -> str:
    return (REPO_ROOT / "deploy" / "ci-loadtest.sh").read_text()
