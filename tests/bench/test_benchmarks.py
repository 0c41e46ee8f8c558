"""Micro-benchmarks on a harness (pytest-benchmark): a prediction and a recorded row.

``python -m bench micro`` runs them measured (calibrated rounds, results in
``runs/bench/micro/benchmarks-N.json`` per round and ``results.json``; ``pytest-benchmark
compare`` reads two of them). Under ``make test`` the harness is off (``--benchmark-disable``
in pyproject): each body runs once, so the suite keeps every benchmark working, and the
assertions check what was measured.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from queue import SimpleQueue
from typing import Any

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from spendcast.model.dataset import generate, sample_customers
from spendcast.model.predictor import Predictor
from spendcast.model.training import train
from spendcast.monitoring import Inference, Recorder

Benchmark = Callable[..., Any]  # pytest-benchmark's fixture: benchmark(function, *args)
ROW = Inference("Master", 42, 50_000.0, 1234.5, "bench")
DISTINCT = 20_000  # inferences test_record cycles through


@pytest.fixture(scope="module")
def models() -> tuple[Pipeline, Predictor]:
    pipeline = train(generate()).pipeline
    return pipeline, Predictor.from_pipeline(pipeline, "bench")


def test_predict_one(benchmark: Benchmark, models: tuple[Pipeline, Predictor]) -> None:
    pipeline, predictor = models
    value = benchmark(predictor.predict_one, "PhD", 42, 50_000.0)
    expected = pipeline.predict(np.array([[42, "PhD", 50_000.0]], dtype=object))[0]
    assert value == pytest.approx(expected)


def test_predict_many_per_thousand_rows(
    benchmark: Benchmark, models: tuple[Pipeline, Predictor]
) -> None:
    _, predictor = models
    rows = sample_customers(1000, seed=1)
    values = benchmark(predictor.predict_many, rows)
    assert values == [predictor.predict_one(*row) for row in rows]


def test_the_pipeline_on_one_row_what_the_lab_did(
    benchmark: Benchmark, models: tuple[Pipeline, Predictor]
) -> None:
    pipeline, predictor = models
    value = benchmark(pipeline.predict, np.array([[42, "PhD", 50_000.0]], dtype=object))
    assert value[0] == pytest.approx(predictor.predict_one("PhD", 42, 50_000.0))


def test_a_bare_queue_put_the_floor(benchmark: Benchmark) -> None:
    queue: SimpleQueue[Inference] = SimpleQueue()
    benchmark(queue.put, ROW)
    assert queue.qsize() >= 1


@pytest.fixture(params=["writer idle", "writer inserting"])
def recorder(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Recorder, Path]]:
    database = tmp_path / "bench.db"
    idle = request.param == "writer idle"  # the writer never wakes: record() alone is timed
    recorder = Recorder(
        f"sqlite:///{database}",
        tmp_path / "journal",
        buffer_rows=10**7,
        batch_size=10**9 if idle else 500,
        flush_seconds=3600.0 if idle else 0.2,
    )
    recorder.start()
    yield recorder, database
    recorder.stop(timeout=600)


def test_record(benchmark: Benchmark, recorder: tuple[Recorder, Path]) -> None:
    """``record()``: journal write and enqueue, what a request pays."""
    running, database = recorder
    # distinct ids (one row each; the same one recorded twice is one row), built untimed
    pool = [Inference("Master", 42, 50_000.0, 1234.5, "bench") for _ in range(DISTINCT)]
    calls = 0

    def record() -> None:
        nonlocal calls
        running.record(pool[calls % DISTINCT])
        calls += 1

    benchmark(record)
    running.stop(timeout=600)
    with sqlite3.connect(database) as connection:
        (rows,) = connection.execute("SELECT count(*) FROM inference_log").fetchone()
    assert rows == min(calls, DISTINCT) >= 1
