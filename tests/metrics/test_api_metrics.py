"""``/metrics`` of the real API with two worker processes: every worker's counts, exactly.

Requests go out on many fresh connections at once, so both workers answer some; whichever
worker answers a scrape must report the totals of both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from spendcast.monitoring import count_rows
from tests.support.server import Server, running_server

pytestmark = pytest.mark.e2e

TOKEN = "metrics-e2e-token-93af"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PREDICT = "/predict?education=Master&age=35&income=42000"
BATCH = [{"education": "PhD", "age": 50, "income": 60000}] * 3
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests_total(samples: Samples, method: str, route: str, status: int) -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return value(samples, "spendcast_http_requests_total", **labels)


def wait_for_written(server: Server, rows: int) -> Samples:
    """Scrape until the recorders report ``rows`` written (they write off the request path)."""
    deadline = time.monotonic() + 60
    while True:
        samples = scrape(server.url)
        written = value(samples, "spendcast_recorder_written_total")
        if written >= rows or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


def send(method: str, path: str, status: int, **kwargs: object) -> None:
    # A fresh connection per request: the kernel hands them to both workers.
    response = httpx.request(method, path, timeout=10, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text


def test_counts_of_both_workers_exactly(workdir: Path) -> None:
    calls = (
        [("GET", PREDICT, 200, {"headers": AUTH})] * 60
        + [("POST", "/predict", 200, {"headers": AUTH, "json": BATCH})] * 10
        + [("GET", "/predict?education=PhD&age=500&income=1", 422, {"headers": AUTH})] * 7
        + [("GET", PREDICT, 401, {})] * 5
        + [("GET", "/health", 200, {})] * 12
        + [("GET", "/no/such/route", 404, {})] * 4
    )
    with running_server(workdir, workers=2, token=TOKEN) as server:
        version = httpx.get(f"{server.url}/ready").json()["model_version"]
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [
                pool.submit(send, method, f"{server.url}{path}", status, **kwargs)
                for method, path, status, kwargs in calls
            ]
            for future in futures:
                future.result()
        rows = 60 + 10 * len(BATCH)
        first = wait_for_written(server, rows)
        scrapes = [scrape(server.url) for _ in range(6)]
        server.stop()
    assert count_rows(f"sqlite:///{server.database_path}") == rows
    for samples in [first, *scrapes]:
        assert requests_total(samples, "GET", "/predict", 200) == 60
        assert requests_total(samples, "POST", "/predict", 200) == 10
        assert requests_total(samples, "GET", "/predict", 422) == 7
        assert requests_total(samples, "GET", "/predict", 401) == 5
        assert requests_total(samples, "GET", "/health", 200) == 12
        assert requests_total(samples, "GET", "unmatched", 404) == 4
        count = value(samples, "spendcast_http_request_duration_seconds_count", route="/predict")
        assert count == 60 + 10 + 7 + 5
        infinite = {"route": "/predict", "le": "+Inf"}
        assert value(samples, "spendcast_http_request_duration_seconds_bucket", **infinite) == count
        assert value(samples, "spendcast_predictions_total") == rows
        assert value(samples, "spendcast_recorder_written_total") == rows
        assert value(samples, "spendcast_recorder_backlog") == 0
        assert value(samples, "spendcast_recorder_spilled_total") == 0
        assert value(samples, "spendcast_recorder_replayed_total") == 0
        assert value(samples, "spendcast_model_info", version=version) == 1
    # Each scrape counts itself once it is answered, whichever worker answered it.
    scraped_before = [requests_total(s, "GET", "/metrics", 200) for s in scrapes]
    assert scraped_before == [scraped_before[0] + i for i in range(len(scrapes))]


def test_scraped_under_load_matches_the_load_test(workdir: Path) -> None:
    out = workdir / "run"
    seen: list[float] = []
    with running_server(workdir, workers=2, token=TOKEN) as server:
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                seen.append(requests_total(scrape(server.url), "GET", "/predict", 200))
                time.sleep(0.3)

        command = [
            sys.executable, "-m", "spendcast", "loadtest", "--host", server.url,
            "--users", "4", "--duration", "3s", "--out", str(out), "--quiet",
        ]  # fmt: skip
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            result = subprocess.run(
                command,
                env={**os.environ, "SPENDCAST_API_TOKEN": TOKEN},
                capture_output=True,
                text=True,
                timeout=180,
            )
        finally:
            stop.set()
            watcher.join()
        assert result.returncode == 0, result.stdout + result.stderr
        summary = json.loads((out / "summary.json").read_text())
        final = wait_for_written(server, summary["requests"])
        server.stop()
    assert summary["failures"] == 0
    assert requests_total(final, "GET", "/predict", 200) == summary["requests"]
    assert value(final, "spendcast_predictions_total") == summary["requests"]
    assert value(final, "spendcast_recorder_written_total") == summary["requests"]
    assert count_rows(f"sqlite:///{server.database_path}") == summary["requests"]
    assert seen == sorted(seen)  # counters never go back, whichever worker answers
    assert seen[-1] > 0
