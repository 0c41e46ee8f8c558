"""What a real server and a real load-test run export, captured once for the metrics tests.

``live_metrics`` starts ``spendcast serve`` (two workers: the multiprocess exposition), sends it
each kind of request (predictions, errors, docs, schema, assets, an unknown path), then runs
``spendcast loadtest --prometheus-port`` against it and scrapes the export while the run goes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import free_port, running_server

TOKEN = "live-metrics-token-51c0"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# (path, headers, expected status)
TRAFFIC: tuple[tuple[str, dict[str, str], int], ...] = (
    ("/predict?education=PhD&age=40&income=30000", AUTH, 200),
    ("/predict?education=PhD&age=400&income=30000", AUTH, 422),
    ("/predict?education=PhD&age=40&income=30000", {}, 401),
    ("/health", {}, 200),
    ("/ready", {}, 200),
    ("/openapi.json", {}, 200),
    ("/docs", {}, 200),
    ("/docs/assets/swagger-ui.css", {}, 200),
    ("/docs/assets/no-such-asset.js", {}, 404),
    ("/no/such/route", {}, 404),
)


@dataclass(frozen=True)
class LiveMetrics:
    api: str  # GET /metrics of the server after the traffic and the run
    loadtest: str  # the run's export, last scrape that saw requests


def metric_names(text: str) -> set[str]:
    """Every sample name in an exposition (``_total``, ``_bucket``... included)."""
    return {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }


def _scrape(url: str) -> str:
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200
    return response.text


@pytest.fixture(scope="session")
def live_metrics(tmp_path_factory: pytest.TempPathFactory, trained_model_dir: Path) -> LiveMetrics:
    workdir = tmp_path_factory.mktemp("live-metrics")
    shutil.copytree(trained_model_dir, workdir / "models")
    env = {"SPENDCAST_MODEL_DIR": str(workdir / "models")}
    port = free_port()
    export_url = f"http://127.0.0.1:{port}/metrics"
    with running_server(workdir, workers=2, token=TOKEN, extra_env=env) as server:
        for path, headers, status in TRAFFIC:
            response = httpx.get(f"{server.url}{path}", headers=headers, timeout=10)
            assert response.status_code == status, (path, response.text)
        command = [
            sys.executable, "-m", "spendcast", "loadtest", "--host", server.url,
            "--users", "2", "--duration", "3s", "--out", str(workdir / "run"), "--quiet",
            "--prometheus-port", str(port),
        ]  # fmt: skip
        run_env = {k: v for k, v in os.environ.items() if not k.startswith("SPENDCAST_")}
        process = subprocess.Popen(
            command,
            env=run_env | {"SPENDCAST_API_TOKEN": TOKEN},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        exported = ""
        while process.poll() is None:
            with contextlib.suppress(httpx.TransportError):  # not listening yet, or closed
                text = _scrape(export_url)
                if "spendcast_loadtest_requests_total{" in text:
                    exported = text
            time.sleep(0.2)
        output = process.communicate()[0]
        assert process.returncode == 0, output
        assert exported, "no scrape of the live export saw a request"
        api = _scrape(f"{server.url}/metrics")
    return LiveMetrics(api=api, loadtest=exported)
