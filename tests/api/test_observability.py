"""The API log file (one line per call, never the token) and the Prometheus metrics."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from spendcast.api.app import create_app
from spendcast.settings import Settings
from tests.api.conftest import TOKEN

LAB_URL = "/predict?education=PhD&age=12&income=1000"
LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d "
    r"\S+ (GET|POST|DELETE) (/\S*) (\d{3}) \d+\.\d\dms$"
)


def test_each_call_is_one_log_line_without_the_token(token_settings: Settings) -> None:
    calls = [
        ("GET", LAB_URL, {"Cookie": f"spendcast_token={TOKEN}"}, 200),
        ("GET", LAB_URL, {"Authorization": f"Bearer {TOKEN}"}, 200),
        ("GET", LAB_URL, {"Authorization": "Bearer wrong"}, 401),
        ("GET", "/health", {}, 200),
        ("GET", "/missing", {}, 404),
        ("DELETE", "/health", {}, 405),
        ("GET", f"/predict?education=PhD&age=12&income=1000&token={TOKEN}", {}, 401),
    ]
    with TestClient(create_app(token_settings)) as client:
        for method, url, headers, status in calls:
            assert client.request(method, url, headers=headers).status_code == status
    text = token_settings.log_file.read_text()
    assert TOKEN not in text
    lines = text.splitlines()
    assert len(lines) == len(calls)
    for line, (method, url, _, status) in zip(lines, calls, strict=True):
        match = LINE.match(line)
        assert match, line
        assert match.groups() == (method, url.partition("?")[0], str(status))


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    for _ in range(3):
        assert client.get(LAB_URL).status_code == 200
    assert client.get("/predict?age=1").status_code == 422
    batch = [{"education": "PhD", "age": 1, "income": 2}] * 2
    assert client.post("/predict", json=batch).status_code == 200
    assert client.get("/no/such/path").status_code == 404
    version = client.get("/ready").json()["model_version"]
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'spendcast_http_requests_total{method="GET",route="/predict",status="200"} 3.0' in text
    assert 'spendcast_http_requests_total{method="GET",route="/predict",status="422"} 1.0' in text
    assert 'spendcast_http_requests_total{method="POST",route="/predict",status="200"} 1.0' in text
    assert 'spendcast_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert 'spendcast_http_request_duration_seconds_count{route="/predict"} 5.0' in text
    assert "spendcast_predictions_total 5.0" in text
    assert f'spendcast_model_info{{version="{version}"}} 1.0' in text
    assert "spendcast_recorder_backlog " in text
    for state in ("database_unreachable", "journal_degraded", "buffer_full"):
        assert f"spendcast_recorder_{state} 0.0" in text
    for counter in ("written", "spilled", "replayed", "journal_errors", "dropped"):
        assert f"# TYPE spendcast_recorder_{counter}_total counter" in text
    assert "spendcast_predictions_refused_total 0.0" in text
    assert "/no/such/path" not in text
