"""Prometheus' own checker accepts every metrics output and the shipped scrape configuration.

``promtool check metrics`` lints an exposition as Prometheus reads it (types, ``_total`` on
counters, ``quantile`` only on summaries, units in names); ``promtool check config`` parses
deploy/prometheus.yml as the server would.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import require_tool
from tests.metrics.conftest import LiveMetrics

pytestmark = pytest.mark.e2e

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    require_tool("promtool")
    path = shutil.which("promtool")
    assert path is not None
    return subprocess.run(
        [path, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def _types(text: str) -> dict[str, str]:
    return {family.name: family.type for family in text_string_to_metric_families(text)}


def test_promtool_accepts_the_api_metrics(live_metrics: LiveMetrics) -> None:
    result = promtool("check", "metrics", stdin=live_metrics.api)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""  # not even a lint warning
    types = _types(live_metrics.api)
    assert types["spendcast_http_requests"] == "counter"
    assert types["spendcast_predictions"] == "counter"
    assert types["spendcast_http_request_duration_seconds"] == "histogram"


def test_docs_schema_and_assets_have_their_own_route_label(live_metrics: LiveMetrics) -> None:
    routes = {
        (sample.labels["route"], sample.labels["status"])
        for family in text_string_to_metric_families(live_metrics.api)
        if family.name == "spendcast_http_requests"
        for sample in family.samples
        if sample.name == "spendcast_http_requests_total"
    }
    assert {
        ("/openapi.json", "200"),
        ("/docs", "200"),
        ("/docs/assets/{path}", "200"),
        ("/docs/assets/{path}", "404"),
        ("unmatched", "404"),
        ("/predict", "200"),
        ("/predict", "422"),
        ("/predict", "401"),
    } <= routes
    assert not any(route.startswith("/no/") for route, _ in routes)


def test_promtool_accepts_the_live_loadtest_export(live_metrics: LiveMetrics) -> None:
    result = promtool("check", "metrics", stdin=live_metrics.loadtest)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""
    types = _types(live_metrics.loadtest)
    assert types["spendcast_loadtest_response_time_seconds"] == "summary"
    assert types["spendcast_loadtest_requests"] == "counter"
    assert types["spendcast_loadtest_failures"] == "counter"


def test_promtool_refuses_what_the_export_used_to_send() -> None:
    """The check has teeth: the old gauge with a quantile label is refused (exit 3)."""
    old = (
        "# HELP spendcast_loadtest_response_time_seconds Exact quantiles.\n"
        "# TYPE spendcast_loadtest_response_time_seconds gauge\n"
        'spendcast_loadtest_response_time_seconds{method="GET",name="/",quantile="0.5"} 0.1\n'
    )
    result = promtool("check", "metrics", stdin=old)
    assert result.returncode != 0
    assert 'should not have "quantile" label' in result.stdout + result.stderr


def test_promtool_accepts_the_scrape_config() -> None:
    result = promtool("check", "config", str(DEPLOY / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_the_process_metrics_cover_the_whole_server(live_metrics: LiveMetrics) -> None:
    """Two workers and their supervisor, summed: what a remote diagnosis reads as the
    server's CPU (prometheus_client alone would describe the one worker that answered)."""
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(live_metrics.api)
        for sample in family.samples
    }
    assert values["spendcast_server_processes"] == 3
    assert values["process_cpu_seconds_total"] > 0
    assert values["process_open_fds"] >= 3 * 3  # stdin, stdout, stderr of each at least
    assert values["process_resident_memory_bytes"] > 3 * 10_000_000
    assert values["process_start_time_seconds"] <= time.time()
