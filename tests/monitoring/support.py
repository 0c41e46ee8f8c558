"""Helpers for the inference-log tests: sample rows, waiting for a condition."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from spendcast.monitoring import Inference

EDUCATIONS = ("High School", "Bachelor", "Master", "PhD")
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def sample(index: int, tag: str = "t") -> Inference:
    """A distinct, reproducible row; ``tag`` keeps ids of different writers apart."""
    return Inference(
        education=EDUCATIONS[index % 4],
        age=18 + index % 60,
        income=1000.0 + index * 1.37,
        prediction=index / 3,
        model_version=f"v-{tag}",
        created_at=EPOCH + timedelta(microseconds=index),
        id=f"{tag}-{index:08d}",
    )


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll until ``condition()`` holds; fail after ``timeout`` seconds (a hang guard only)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.02)
