"""Locust's distributed mode through ``spendcast loadtest``: exact merged histograms.

A master and two workers (separate ``spendcast loadtest --master/--worker`` processes on
loopback) load the real API. The master's results must hold every request exactly once:
counts equal the sum of the workers' own dumps and the server's records (log lines, inference
rows after SIGTERM), and the percentiles equal those of the union of the workers' histograms.
Each user pauses 50 ms between requests: exact counting needs no flat-out load (nor its CPU).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spendcast.loadtest.shared.latency import LatencyHistogram
from spendcast.loadtest.shared.recording_file import read_recording
from tests.distributed.support import (
    BATCH_SIZE,
    TOKEN,
    dumps,
    endpoint,
    finish,
    rounded_stats,
    rows,
    same_percentiles,
    server_counts,
    spendcast,
    summary,
    union,
)
from tests.support.server import free_port, running_server

pytestmark = pytest.mark.e2e


def test_master_and_two_workers_merge_exact_histograms(workdir: Path) -> None:
    out, dump_dir, port = workdir / "run", workdir / "dumps", free_port()
    with running_server(workdir, token=TOKEN) as server:
        master = spendcast(
            "loadtest", "--master", "--master-bind-host", "127.0.0.1",
            "--master-bind-port", str(port), "--expect-workers", "2",
            "--expect-workers-max-wait", "120", "--host", server.url, "--scenario", "mixed",
            "--users", "4", "--think-time", "0.05", "--duration", "3s", "--out", str(out),
            "--quiet", "--slo", "p99<60s", "--slo", "errors<=0%",
        )  # fmt: skip
        worker_args = [
            "loadtest", "--worker", "--master-host", "127.0.0.1", "--master-port", str(port),
            "--worker-dump", str(dump_dir),
        ]  # fmt: skip
        workers = [spendcast(*worker_args) for _ in range(2)]
        master_code, master_output = finish(master)
        worker_results = [finish(worker, timeout=60) for worker in workers]
        assert server.stop() in (0, -15)
    assert master_code == 0, master_output
    assert [code for code, _ in worker_results] == [0, 0], worker_results

    result = summary(out)
    assert result["config"]["workers"] == 2
    assert result["failures"] == 0
    assert result["passed"] is True
    recording = read_recording(out / "recording.json")
    assert len(json.loads((out / "recording.json").read_text())["workers"]) == 2

    workers_recorded = dumps(dump_dir)
    assert len(workers_recorded) == 2
    assert all(sum(t.requests for t in w.endpoints.values()) > 0 for w in workers_recorded)
    merged = union(workers_recorded)
    assert set(merged) == set(recording.endpoints)
    for key, tally in merged.items():
        master_tally = recording.endpoints[key]
        assert (master_tally.requests, master_tally.failures) == (tally.requests, tally.failures)
        assert same_percentiles(master_tally.histogram, tally.histogram), key
        assert endpoint(result, *key)["latency_ms"] == rounded_stats(tally.histogram)
    everything = LatencyHistogram.merged(t.histogram for t in merged.values())
    assert result["requests"] == everything.count
    assert result["latency_ms"] == rounded_stats(everything)
    per_second = sum(t.requests for w in workers_recorded for t in w.seconds.values())
    assert sum(row["requests"] for row in result["timeseries"]) == per_second == everything.count

    single = endpoint(result, "GET", "/predict")["requests"]
    batches = endpoint(result, "POST", "/predict")["requests"]
    health = endpoint(result, "GET", "/health")["requests"]
    assert single > 0
    logged = server_counts(server)
    assert logged.get(("GET", "/predict"), 0) == single
    assert logged.get(("POST", "/predict"), 0) == batches
    assert logged.get(("GET", "/health"), 0) == health + 1  # + the master's host check
    assert rows(server) == single + BATCH_SIZE * batches


def test_processes_merge_exact_histograms(workdir: Path) -> None:
    """``--processes 2``: Locust forks the workers; the same hand-over keeps them exact."""
    out, dump_dir = workdir / "run", workdir / "dumps"
    with running_server(workdir, token=TOKEN) as server:
        args = [
            "loadtest", "--host", server.url, "--users", "4", "--think-time", "0.05",
            "--duration", "8s", "--processes", "2", "--out", str(out), "--quiet",
        ]  # fmt: skip
        code, output = finish(
            spendcast(*args, env={"SPENDCAST_LOADTEST_WORKER_DUMP": str(dump_dir)})
        )
        server.stop()
    assert code == 0, output
    result = summary(out)
    workers_recorded = dumps(dump_dir)
    assert len(workers_recorded) == 2
    merged = union(workers_recorded)
    predict = merged[("GET", "/predict")]
    assert result["requests"] == predict.requests == rows(server)
    master_predict = read_recording(out / "recording.json").endpoints[("GET", "/predict")]
    assert same_percentiles(master_predict.histogram, predict.histogram)
    assert endpoint(result, "GET", "/predict")["latency_ms"] == rounded_stats(predict.histogram)
    # The live rate is a complete second's, not what the last report happened to bring: from
    # the 5th second on (the workers report every 3 s), no line reads 0 between reports.
    lines = [json.loads(line) for line in (out / "progress.jsonl").read_text().splitlines()]
    live = [line["rps"] for line in lines if not line["final"] and line["elapsed"] >= 5]
    assert live
    assert min(live) > 0
