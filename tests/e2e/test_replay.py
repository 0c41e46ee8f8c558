"""``loadtest --replay`` through the real CLI: a recorded inference log (SQLite, PostgreSQL) or
access log sent to a server that logs each arrival and its query (tests/support/timeline_app)."""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.loadtest.run.test_replay import CUSTOMERS, T0, write_log
from tests.support.postgres import postgres_url  # noqa: F401 (a fixture)
from tests.support.timeline import Timeline, timeline_server

pytestmark = pytest.mark.e2e
SPENDCAST = [sys.executable, "-m", "spendcast"]
# 21 requests over 5.25 s, unevenly spaced (bursts of 4 then a pause)
GAPS = [0.15, 0.15, 0.15, 0.6] * 5


def _replay(server: Timeline, out: Path, *options: str) -> dict[str, Any]:
    done = subprocess.run(
        [*SPENDCAST, "loadtest", "--host", server.url, "--out", str(out), "--quiet", *options],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return summary


def _received(server: Timeline) -> Counter[tuple[str, int, float]]:
    found: Counter[tuple[str, int, float]] = Counter()
    for _, query in server.arrivals():
        fields = dict(parse_qsl(query))
        found[fields["education"], int(fields["age"]), float(fields["income"])] += 1
    return found


def _recorded(count: int) -> Counter[tuple[str, int, float]]:
    return Counter(CUSTOMERS[index % len(CUSTOMERS)] for index in range(count))


def _spacing(server: Timeline) -> tuple[float, float]:
    """The span of the arrivals and their median gap (s)."""
    times = [at for at, _ in server.arrivals()]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return times[-1] - times[0], statistics.median(gaps)


def test_an_inference_log_is_sent_again_with_its_parameters_and_spacing(tmp_path: Path) -> None:
    speed = 3.0  # the access log's test replays at 1x: the gaps scale with it
    write_log(f"sqlite:///{tmp_path / 'log.db'}", GAPS)
    with timeline_server(tmp_path / "arrivals") as server:
        summary = _replay(server, tmp_path / "run", "--replay", str(tmp_path / "log.db"),
                          "--speed", f"{speed:g}")  # fmt: skip
        assert _received(server) == _recorded(len(GAPS) + 1)  # one to one
        span, median_gap = _spacing(server)
    assert span == pytest.approx(sum(GAPS) / speed, rel=0.15, abs=0.1)
    assert median_gap == pytest.approx(0.15 / speed, abs=0.02)
    assert summary["requests"] == len(GAPS) + 1
    assert summary["config"]["replay"]["requests"] == len(GAPS) + 1
    assert summary["config"]["replay"]["speed"] == speed
    assert summary["iterations"] == len(GAPS) + 1
    assert summary["dropped"] == 0
    assert "uncorrected_latency_ms" in summary  # timed from the recorded time, and from the send


def test_since_and_until_on_postgres_and_two_processes(
    tmp_path: Path,
    postgres_url: str,  # noqa: F811 (the fixture)
) -> None:
    write_log(postgres_url, [0.1] * 29)  # T0 .. T0+2.9s
    since, until = T0 + timedelta(seconds=1), T0 + timedelta(seconds=2.5)
    with timeline_server(tmp_path / "arrivals") as server:
        summary = _replay(server, tmp_path / "run", "--replay", postgres_url,
                          "--since", since.isoformat(), "--until", until.isoformat(),
                          "--speed", "2", "--processes", "2")  # fmt: skip
        received = _received(server)
        span, median_gap = _spacing(server)
    expected = Counter(CUSTOMERS[index % len(CUSTOMERS)] for index in range(10, 25))
    assert received == expected
    assert summary["requests"] == 15
    assert span == pytest.approx(1.4 / 2, rel=0.15, abs=0.1)
    assert median_gap == pytest.approx(0.1 / 2, abs=0.02)
    assert summary["config"]["replay"]["kind"] == "inference-log"


def test_an_access_log_and_speed_max(tmp_path: Path) -> None:
    log = tmp_path / "api_logfile.log"
    lines = [f"2026-12-06T14:00:0{i // 4}.{(i % 4) * 250:03d}+00:00 127.0.0.1:40000 GET "
             "/predict 200 0.20ms\n" for i in range(8)]  # fmt: skip
    lines.insert(3, "2026-12-06T14:00:00.600+00:00 127.0.0.1:40000 GET /health 200 0.10ms\n")
    log.write_text("".join(lines), encoding="utf-8")
    with timeline_server(tmp_path / "arrivals") as server:
        summary = _replay(server, tmp_path / "run", "--replay", str(log))
        span, median_gap = _spacing(server)
        assert len(server.arrivals()) == 8  # /predict with a drawn customer (no query logged)
        assert all("education=" in query for _, query in server.arrivals())
        names = {(row["method"], row["name"]): row["requests"] for row in summary["endpoints"]}
        assert names == {("GET", "/health"): 1, ("GET", "/predict"): 8}
        assert span == pytest.approx(1.75, rel=0.15, abs=0.1)
        assert median_gap == pytest.approx(0.25, abs=0.05)
        log.with_name("arrivals").write_text("", encoding="utf-8")  # the app appends to it
        closed = _replay(server, tmp_path / "max", "--replay", str(log), "--speed", "max",
                         "--users", "2", "--duration", "60s")  # fmt: skip
        assert len(server.arrivals()) == 8
    assert closed["requests"] == 9
    assert closed["config"]["replay"]["speed"] == "max"


def test_a_bad_source_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # the real console script; the other bad inputs: tests/cli/test_loadtest.py
    done = subprocess.run(
        [*SPENDCAST, "loadtest", "--host", "http://127.0.0.1:9", "--replay", "missing.db"],
        check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == ["Error: replay source 'missing.db': no such file"]
