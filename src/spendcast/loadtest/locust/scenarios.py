"""The Locust users that load the API, one class per scenario.

=================  ==========  ====================================================  ===========
class              scenario    what each user does                                   task tags
=================  ==========  ====================================================  ===========
HealthUser         health      ``GET /health`` (the lab's first test)                health
PredictUser        predict     ``GET /predict`` with a realistic random customer     predict
BatchPredictUser   batch       ``POST /predict`` with ``batch_size`` customers       batch
MixedUser          mixed       80 % single predictions, 10 % batches, 10 % health    all three
=================  ==========  ====================================================  ===========

Customers are drawn from the training data's distribution (``spendcast.model.dataset``),
never constants. Requests are named by route (``/predict``), so Locust's statistics hold one
row per route however many query strings were sent. Paths are appended to the host, which may
carry a path prefix (``http://proxy/some/prefix/``). Authentication comes from the environment
(see ``credentials``). ``SPENDCAST_LOADTEST_THINK_TIME`` sets each user's pause between
requests in seconds, ``0.1`` or a range ``0.05-0.2`` (default 0: send as soon as answered).

This module imports Locust (and so gevent): only Locust processes import it.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from typing import Any, ClassVar, Final
from urllib.parse import urlencode

from locust import FastHttpUser, between, constant, tag, task

from spendcast.loadtest.shared.contract import THINK_TIME_ENV
from spendcast.loadtest.shared.credentials import auth_headers, base_url
from spendcast.loadtest.shared.duration import parse_think_time
from spendcast.model.dataset import sample_customers

CUSTOMERS_PER_USER: Final = 1000

__all__ = ["BatchPredictUser", "HealthUser", "MixedUser", "PredictUser"]


def think_time(text: str | None = None) -> Callable[..., float]:
    """A Locust ``wait_time`` from ``"0.1"`` (constant) or ``"0.05-0.2"`` (uniform), in seconds."""
    text = os.environ.get(THINK_TIME_ENV, "0") if text is None else text
    low, high = parse_think_time(text.strip() or "0")
    return constant(low) if low == high else between(low, high)


class SpendcastUser(FastHttpUser):
    """Shared plumbing: authentication headers, the host's base URL, realistic customers."""

    abstract = True
    wait_time = think_time()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = base_url(self.host or "")
        self.headers = auth_headers()
        self.customers = sample_customers(CUSTOMERS_PER_USER, seed=random.getrandbits(32))
        self.next_customer = 0

    def customer(self) -> tuple[str, int, float]:
        customer = self.customers[self.next_customer]
        self.next_customer = (self.next_customer + 1) % len(self.customers)
        return customer

    def health(self) -> None:
        self.client.get(f"{self.base}/health", name="/health", headers=self.headers)

    def predict(self) -> None:
        education, age, income = self.customer()
        query = urlencode({"education": education, "age": age, "income": income})
        with self.client.get(
            f"{self.base}/predict?{query}",
            name="/predict",
            headers=self.headers,
            catch_response=True,
        ) as response:
            if response.status_code == 200 and not _is_number(response.text):
                response.failure(f"not a number: {response.text[:80]!r}")

    def predict_batch(self, size: int) -> None:
        rows = [
            {"education": e, "age": a, "income": i}
            for e, a, i in (self.customer() for _ in range(size))
        ]
        with self.client.post(
            f"{self.base}/predict", name="/predict", headers=self.headers, json=rows,
            catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code == 200 and not _is_list_of(response.text, size):
                response.failure(f"expected {size} numbers: {response.text[:80]!r}")


def _is_number(text: str | None) -> bool:
    try:
        value = json.loads(text or "")
    except ValueError:
        return False
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_list_of(text: str | None, size: int) -> bool:
    try:
        values = json.loads(text or "")
    except ValueError:
        return False
    return isinstance(values, list) and len(values) == size


class HealthUser(SpendcastUser):
    """``GET /health``: is the API up and reachable through its proxy?"""

    @tag("health")
    @task
    def get_health(self) -> None:
        self.health()


class PredictUser(SpendcastUser):
    """``GET /predict?education=..&age=..&income=..`` with a random realistic customer."""

    @tag("predict")
    @task
    def get_predict(self) -> None:
        self.predict()


class BatchPredictUser(SpendcastUser):
    """``POST /predict`` with ``batch_size`` customers in one JSON list."""

    batch_size: ClassVar[int] = 20

    @tag("batch")
    @task
    def post_predict(self) -> None:
        self.predict_batch(self.batch_size)


class MixedUser(SpendcastUser):
    """A weighted mix: mostly single predictions, some batches, a few health checks."""

    batch_size: ClassVar[int] = 20

    @tag("predict")
    @task(8)
    def get_predict(self) -> None:
        self.predict()

    @tag("batch")
    @task(1)
    def post_predict(self) -> None:
        self.predict_batch(self.batch_size)

    @tag("health")
    @task(1)
    def get_health(self) -> None:
        self.health()
