"""deploy/grafana-dashboard.json and deploy/prometheus.yml query what the API and the load-test
exporter really expose."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from spendcast.api.app import create_app
from spendcast.loadtest.run.live_export import PrometheusExport
from spendcast.loadtest.run.runner import Progress
from tests.api.conftest import make_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRIC = re.compile(r"\bspendcast_[a-z0-9_]+")


def _dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    return dashboard


def _expressions() -> list[str]:
    return [
        target["expr"] for panel in _dashboard()["panels"] for target in panel.get("targets", [])
    ]


def _names(text: str) -> set[str]:
    return {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }


def _api_names(workdir: Path) -> set[str]:
    with TestClient(create_app(make_settings(workdir))) as client:
        assert client.get("/predict?education=PhD&age=30&income=1000").status_code == 200
        return _names(client.get("/metrics").text)


def _loadtest_names() -> set[str]:
    export = PrometheusExport(0)
    try:
        export.start()
        endpoints = {"GET /predict": {"requests": 1, "failures": 0, "p50_ms": 1.0}}
        export.update(Progress(1.0, 1, 1, 0, 1.0, 1.0, endpoints=endpoints))
        return _names(httpx.get(f"http://127.0.0.1:{export.port}/metrics").text)
    finally:
        export.close()


def test_every_dashboard_query_names_an_exposed_metric(workdir: Path) -> None:
    exposed = _api_names(workdir) | _loadtest_names()
    queried = {name for expr in _expressions() for name in METRIC.findall(expr)}
    assert queried
    assert queried <= exposed, queried - exposed
    # Both sides are on the board.
    assert any(name.startswith("spendcast_http_") for name in queried)
    assert any(name.startswith("spendcast_loadtest_") for name in queried)


def test_dashboard_jobs_match_the_scrape_config() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    variables = {v["name"]: v for v in _dashboard()["templating"]["list"]}
    assert {variables["api_job"]["query"], variables["loadtest_job"]["query"]} == jobs
    for panel in _dashboard()["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
