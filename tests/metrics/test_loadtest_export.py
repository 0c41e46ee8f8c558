"""``spendcast loadtest --prometheus-port/--jsonl``: a run's live figures for dashboards."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from spendcast.loadtest.run.live_export import JsonLinesExport, PrometheusExport
from spendcast.loadtest.shared.progress import Progress
from tests.support.server import free_port, running_server

TOKEN = "export-e2e-token-0b6e"
PREDICT = {"method": "GET", "name": "/predict"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    text = httpx.get(url, timeout=5).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, metric: str, /, **labels: str) -> float | None:
    return samples.get((metric, frozenset(labels.items())))


LINE: dict[str, Any] = {
    "elapsed": 2.0,
    "time": 1_800_000_000.0,
    "users": 3,
    "requests": 120,
    "failures": 2,
    "rps": 61.5,
    "p95_ms": 4.0,
    "endpoints": {"GET /predict": {"requests": 120, "failures": 2, "p50_ms": 1.5, "p95_ms": 3.25}},
    "dropped": 7,
    "final": False,
}
SAMPLE = Progress.from_json(LINE)


def test_prometheus_export_serves_the_latest_sample() -> None:
    export = PrometheusExport(0, labels={"scenario": "predict", "host": "http://h"})
    url = f"http://127.0.0.1:{export.port}/metrics"
    try:
        export.start()
        before = scrape(url)
        export.update(SAMPLE)
        during = scrape(url)
        export.update(replace(SAMPLE, final=True))
        after = scrape(url)
    finally:
        export.close()
    assert value(before, "spendcast_loadtest_running") == 1
    assert value(before, "spendcast_loadtest_users") is None
    info = {"scenario": "predict", "host": "http://h"}
    assert value(during, "spendcast_loadtest_info", **info) == 1
    assert value(during, "spendcast_loadtest_users") == 3
    assert value(during, "spendcast_loadtest_rps") == 61.5
    assert value(during, "spendcast_loadtest_recent_p95_seconds") == 0.004
    assert value(during, "spendcast_loadtest_requests_total", **PREDICT) == 120
    assert value(during, "spendcast_loadtest_failures_total", **PREDICT) == 2
    assert value(during, "spendcast_loadtest_dropped_total") == 7
    latency = "spendcast_loadtest_response_time_seconds"
    assert value(during, latency, **PREDICT, quantile="0.5") == 0.0015
    assert value(during, latency, **PREDICT, quantile="0.95") == 0.00325
    assert value(during, latency, **PREDICT, quantile="0.99") is None  # not in the sample
    assert value(during, f"{latency}_count", **PREDICT) == 120  # the quantiles are over 120
    assert value(after, "spendcast_loadtest_running") == 0


def test_jsonl_export_writes_one_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "live" / "run.jsonl"
    export = JsonLinesExport(path)
    export.update(SAMPLE)
    export.update(SAMPLE)
    export.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [LINE] * 2  # as progress.jsonl


@pytest.mark.e2e
def test_live_run_is_scraped_and_logged_consistently_with_the_summary(workdir: Path) -> None:
    out, jsonl, port = workdir / "run", workdir / "live.jsonl", free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    scrapes: list[Samples] = []
    with running_server(workdir, token=TOKEN) as server:
        command = [
            sys.executable, "-m", "spendcast", "loadtest", "--host", server.url,
            "--scenario", "mixed", "--users", "3", "--duration", "4s", "--out", str(out),
            "--quiet", "--prometheus-port", str(port), "--jsonl", str(jsonl),
        ]  # fmt: skip
        process = subprocess.Popen(
            command,
            env={**os.environ, "SPENDCAST_API_TOKEN": TOKEN},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        while process.poll() is None:
            with contextlib.suppress(httpx.TransportError):  # not listening yet, or closed
                scrapes.append(scrape(url))
            time.sleep(0.2)
        output = process.communicate()[0]
    assert process.returncode == 0, output
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())

    live = [s for s in scrapes if (value(s, "spendcast_loadtest_requests_total", **PREDICT) or 0)]
    assert live, "no scrape saw a request"
    assert value(live[0], "spendcast_loadtest_running") == 1
    assert value(live[0], "spendcast_loadtest_users") == 3
    info = {"scenario": "mixed", "host": server.url}
    assert value(live[0], "spendcast_loadtest_info", **info) == 1
    for quantile in ("0.5", "0.95", "0.99"):
        seconds = value(
            live[-1], "spendcast_loadtest_response_time_seconds", **PREDICT, quantile=quantile
        )
        assert seconds is not None
        assert seconds > 0
    counts = [value(s, "spendcast_loadtest_requests_total", **PREDICT) or 0.0 for s in live]
    assert counts == sorted(counts)
    predict = next(
        e for e in summary["endpoints"] if (e["method"], e["name"]) == ("GET", "/predict")
    )
    assert counts[-1] <= predict["requests"]

    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    ticks, last = lines[:-1], lines[-1]
    assert len(ticks) >= 2
    assert [line["final"] for line in ticks] == [False] * len(ticks)
    seconds_of = [int(line["time"]) for line in ticks]
    assert seconds_of == sorted(set(seconds_of))  # at most one line a second
    assert [line["requests"] for line in lines] == sorted(line["requests"] for line in lines)
    assert last["final"] is True
    assert (last["requests"], last["failures"]) == (summary["requests"], summary["failures"])
    for figures in summary["endpoints"]:
        logged = last["endpoints"][f"{figures['method']} {figures['name']}"]
        assert (logged["requests"], logged["failures"]) == (
            figures["requests"],
            figures["failures"],
        )
        for key in ("p50", "p95", "p99"):
            assert round(logged[f"{key}_ms"], 3) == figures["latency_ms"][key]
    progress = (out / "progress.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in progress] == lines
