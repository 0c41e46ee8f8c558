"""bench.arrivals: the inter-arrival CV, the rates option, and the arrival server's kernel
receive times (a quick run of the whole benchmark: tests/bench/test_quick_runs.py)."""

from __future__ import annotations

import http.client
import json
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from bench.arrival_server import ARRIVALS_PATH
from bench.arrivals import Run, _rates, gap_cv, rows
from bench.servers import PORT, RunningServer, ServerSpec, running

ROOT = Path(__file__).resolve().parents[2]


def test_the_cv_of_a_metronome_is_zero_and_of_alternating_gaps_their_spread() -> None:
    assert gap_cv([0.0, 0.5, 1.0, 1.5, 2.0]) == 0.0
    # gaps 0.1 and 0.9 in turn: mean 0.5, standard deviation 0.4
    assert gap_cv([0.0, 0.1, 1.0, 1.1, 2.0]) == pytest.approx(0.8)
    assert math.isnan(gap_cv([1.0, 2.0]))  # one gap: no spread to speak of


def test_rates_are_positive_numbers_told_in_one_line() -> None:
    assert _rates("200,1000") == (200.0, 1000.0)
    for bad in ("fast", "200,0"):
        with pytest.raises(click.BadParameter):
            _rates(bad)


def test_rows_say_which_generator_meets_the_cv_target() -> None:
    runs = [
        Run("plain", 200.0, 0, 400, 2.0, 4.5, 0.1),
        Run("spendcast", 200.0, 0, 400, 2.0, 0.05, 0.2),
    ]
    table = rows(runs)
    assert [row[:2] for row in table] == [["200/s", "plain"], ["200/s", "spendcast"]]
    assert [row[3] for row in table] == ["ABOVE", "ok"]
    assert table[1][4].startswith("200 ")  # 400 in 2 s
    assert table[1][5].startswith("2000 ")  # 400 per 0.2 cpu-s


@pytest.fixture(scope="module")
def arrival_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    spec = ServerSpec("arrivals", (sys.executable, "-m", "bench.arrival_server", PORT), cwd=ROOT)
    with running(spec, tmp_path_factory.mktemp("server")) as server:
        yield server


def test_each_request_is_noted_at_its_kernel_receive_time_and_drained_once(
    arrival_server: RunningServer,
) -> None:
    host, port = arrival_server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)

    def get(path: str) -> bytes:
        connection.request("GET", path)
        return connection.getresponse().read()

    get(ARRIVALS_PATH)  # the readiness probes were noted too
    windows = []
    for _ in range(3):
        before = time.time()
        assert get("/health") == b"ok"
        windows.append((before, time.time()))
    noted = json.loads(get(ARRIVALS_PATH))
    assert len(noted) == 3
    # each within its own request's round trip: when the bytes came, not when they were read
    assert all(start <= at <= end for at, (start, end) in zip(noted, windows, strict=True))
    assert json.loads(get(ARRIVALS_PATH)) == []  # drained, and /arrivals is not noted itself
    connection.close()
