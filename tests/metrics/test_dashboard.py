"""deploy/grafana-dashboard.json and deploy/prometheus.yml query what the API and the load-test
exporter really expose (captured from a live server and a live run: tests/metrics/conftest.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.metrics.conftest import LiveMetrics, metric_names

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRIC = re.compile(r"\bspendcast_[a-z0-9_]+")


def _dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    return dashboard


def _expressions() -> list[str]:
    return [
        target["expr"] for panel in _dashboard()["panels"] for target in panel.get("targets", [])
    ]


@pytest.mark.e2e
def test_every_dashboard_query_names_an_exposed_metric(live_metrics: LiveMetrics) -> None:
    """Against what a real ``spendcast serve`` and a real run with --prometheus-port export."""
    exposed = metric_names(live_metrics.api) | metric_names(live_metrics.loadtest)
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
