"""The performance kit against the real API: ``spendcast loadtest``, plain ``locust`` in the
repository root, a lab-style locustfile, a proxy with a path prefix, and the quick start.

Every run that counts is checked against the server's own accounts: rows in its inference log
and lines in its API log file. One server serves the module's runs, each run counted in its own
window of its logs (tests/support/server_ledger.py); the quick start starts its own.
"""

from __future__ import annotations

import csv
import http.client
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.fixed_service import fixed_service
from tests.support.server import free_port
from tests.support.server_ledger import Ledger, shared_server

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "loadtest-e2e-token-51c2"
BATCH_SIZE = 20


def _loadtest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spendcast", "loadtest", *args],
        env={**os.environ, "SPENDCAST_API_TOKEN": TOKEN, **(env or {})},
        capture_output=True,
        text=True,
        timeout=240,
    )


def _plain_locust(
    locustfile: str,
    host: str,
    json_file: Path,
    *options: str,
    cwd: Path,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Plain ``locust --headless`` (no spendcast), its totals in ``json_file``.json."""
    return subprocess.run(
        [sys.executable, "-m", "locust", "--headless", "-f", locustfile, "--host", host,
         *options, "--json-file", str(json_file)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _summary(out: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary


def _endpoint(summary: dict[str, Any], method: str, name: str) -> dict[str, Any]:
    found = [e for e in summary["endpoints"] if (e["method"], e["name"]) == (method, name)]
    return found[0] if found else {"requests": 0, "failures": 0}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, trained_model_dir: Path) -> Iterator[Ledger]:
    with shared_server(tmp_path_factory.mktemp("api"), trained_model_dir, TOKEN) as ledger:
        yield ledger


def _locust_csv_total(path: Path) -> tuple[int, int]:
    with path.open() as file:
        total = next(row for row in csv.DictReader(file) if row["Name"] == "Aggregated")
    return int(total["Request Count"]), int(total["Failure Count"])


def _locust_json_total(path: Path) -> tuple[int, int]:
    """Requests and failures from Locust's ``--json-file`` (written after the last request;
    its CSV files are rewritten once a second and may miss the last one)."""
    entries = json.loads(path.read_text())
    return sum(e["num_requests"] for e in entries), sum(e["num_failures"] for e in entries)


def test_met_slos_exit_0_and_counts_match_the_server(tmp_path: Path, api: Ledger) -> None:
    out = tmp_path / "run"
    with api.window() as served:
        result = _loadtest(
            "--host", api.server.url, "--users", "4", "--duration", "3s", "--out", str(out),
            "--slo", "p99<30s", "--slo", "errors<=0%", "--slo", "predict:rps>=1",
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = _summary(out)
    predict = _endpoint(summary, "GET", "/predict")
    assert summary["failures"] == 0
    assert predict["requests"] > 0
    assert summary["requests"] == predict["requests"]
    assert served.rows == predict["requests"]
    assert served.logged("GET", "/predict") == predict["requests"]
    assert _locust_csv_total(out / "locust_stats.csv") == (summary["requests"], 0)
    assert summary["passed"] is True
    assert [s["passed"] for s in summary["slos"]] == [True, True, True]
    assert summary["config"]["host"] == api.server.url
    assert TOKEN not in (out / "summary.json").read_text()
    assert sum(row["requests"] for row in summary["timeseries"]) == summary["requests"]
    for name in ("report.html", "recording.json", *summary["files"]["plots"]):
        assert (out / name).stat().st_size > 0
    assert "✓ p99<30s" in result.stdout


def test_mixed_scenario_on_two_locust_processes(tmp_path: Path, api: Ledger) -> None:
    out = tmp_path / "run"
    with api.window() as served:
        result = _loadtest(
            "--host", api.server.url, "--scenario", "mixed", "--users", "4", "--duration", "3s",
            "--processes", "2", "--out", str(out),
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = _summary(out)
    single = _endpoint(summary, "GET", "/predict")["requests"]
    batches = _endpoint(summary, "POST", "/predict")["requests"]
    health = _endpoint(summary, "GET", "/health")["requests"]
    assert summary["failures"] == 0
    assert single > 0
    assert served.rows == single + BATCH_SIZE * batches
    assert served.logged("GET", "/predict") == single
    assert served.logged("POST", "/predict") == batches
    assert served.logged("GET", "/health") == health + 1  # + the host check
    assert _locust_csv_total(out / "locust_stats.csv") == (summary["requests"], 0)


def test_impossible_slo_exits_3(tmp_path: Path) -> None:
    # Only the kit's verdict is checked: the fixed service (far cheaper to start) will do.
    out = tmp_path / "run"
    with fixed_service(service_ms=1) as server:
        result = _loadtest(
            "--host", server.url, "--users", "2", "--duration", "2s", "--out", str(out),
            "--slo", "p50<0.001ms", "--slo", "errors<1%",
        )  # fmt: skip
    assert result.returncode == 3, result.stdout + result.stderr
    summary = _summary(out)
    assert summary["passed"] is False
    assert [s["passed"] for s in summary["slos"]] == [False, True]
    assert "✗ p50<0.001ms" in result.stdout
    assert "1 of 2 SLOs failed" in result.stderr


def test_bad_option_exits_2() -> None:
    result = _loadtest("--host", "http://127.0.0.1:9", "--slo", "p95<fast")
    assert result.returncode == 2
    assert "--slo" in result.stderr


def test_unreachable_host_exits_1_with_one_line() -> None:
    result = _loadtest("--host", f"http://127.0.0.1:{free_port()}", "--duration", "2s")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "does not answer" in result.stderr


def test_plain_locust_in_the_repository_root(tmp_path: Path, api: Ledger) -> None:
    with api.window() as served:
        result = _plain_locust(
            "locustfile.py", api.server.url, tmp_path / "plain", "-u", "5", "-r", "5", "-t", "3s",
            cwd=REPO_ROOT, env={**os.environ, "SPENDCAST_API_TOKEN": TOKEN},
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    requests, failures = _locust_json_total(tmp_path / "plain.json")
    assert requests > 0
    assert failures == 0
    # Plain locust runs PredictUser; users stopped mid-request may leave answers uncounted.
    assert served.rows >= requests
    assert served.logged("GET", "/predict") >= requests


LAB_LOCUSTFILE = """
from locust import FastHttpUser, task

YOUR_COOKIE = "spendcast_token={token}"


class ApiUser(FastHttpUser):
    @task
    def predict(self):
        self.client.get(
            "/predict?education=PhD&age=12&income=1000", headers={{"Cookie": YOUR_COOKIE}}
        )
"""


def test_a_lab_style_locustfile(tmp_path: Path, api: Ledger) -> None:
    locustfile = tmp_path / "lab_locustfile.py"
    locustfile.write_text(LAB_LOCUSTFILE.format(token=TOKEN))
    with api.window() as served:
        result = _plain_locust(
            str(locustfile), api.server.url, tmp_path / "lab", "-u", "3", "-r", "3", "-t", "2s",
            "--stop-timeout", "5", cwd=tmp_path,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    requests, failures = _locust_json_total(tmp_path / "lab.json")
    assert requests > 0
    assert failures == 0
    assert served.rows == requests


@contextmanager
def _prefix_proxy(upstream: str, prefix: str, session: str) -> Iterator[tuple[str, list[str]]]:
    """A proxy like the lab's: it wants its own session cookie and strips a path prefix."""
    seen: list[str] = []
    upstream_host = upstream.removeprefix("http://")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            seen.append(self.path)
            cookies = self.headers.get("Cookie", "")
            if f"lab_session={session}" not in cookies or not self.path.startswith(prefix + "/"):
                self.send_response(401 if self.path.startswith(prefix) else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            connection = http.client.HTTPConnection(upstream_host, timeout=30)
            headers = {"Cookie": cookies, "Content-Type": self.headers.get("Content-Type", "")}
            connection.request(self.command, self.path[len(prefix) :], body, headers)
            answer = connection.getresponse()
            payload = answer.read()
            connection.close()
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.getheader("Content-Type", ""))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _forward

        def log_message(self, format: str, *args: Any) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}{prefix}/", seen
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_behind_a_proxy_with_a_path_prefix_and_a_raw_cookie(tmp_path: Path, api: Ledger) -> None:
    out = tmp_path / "run"
    cookie = f"lab_session=abc123; spendcast_token={TOKEN}"
    with (
        api.window() as served,
        _prefix_proxy(api.server.url, "/jupyter/user/admin/swagger", "abc123") as (host, seen),
    ):
        result = _loadtest(
            "--host", host, "--scenario", "mixed", "--users", "2", "--duration", "2s",
            "--think-time", "0.01", "--out", str(out),
            env={"SPENDCAST_API_TOKEN": "", "SPENDCAST_COOKIE": cookie},
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = _summary(out)
    assert summary["failures"] == 0
    assert summary["requests"] > 0
    assert all(path.startswith("/jupyter/user/admin/swagger/") for path in seen)
    single = _endpoint(summary, "GET", "/predict")["requests"]
    batches = _endpoint(summary, "POST", "/predict")["requests"]
    assert served.rows == single + BATCH_SIZE * batches


def test_quickstart_script(workdir: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "quickstart_loadtest.py")],
        cwd=workdir,
        env={**os.environ, "SPENDCAST_QUICKSTART_DURATION": "3s"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(
        line.split(": ", 1) for line in result.stdout.splitlines() if line.count(": ") == 1
    )
    successes = int(lines["successful GET /predict"])
    assert successes > 0
    assert int(lines["inference log rows added"]) == successes
    (run,) = (workdir / "runs").iterdir()
    assert _summary(run)["requests"] == successes
