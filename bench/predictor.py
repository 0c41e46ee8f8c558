"""Cost of one prediction: the compiled ``Predictor`` against the scikit-learn pipeline.

    .venv/bin/python -m bench predictor [--calls 2000]

Prints microseconds per call (best of 5 rounds) for ``predict_one``, ``predict_many`` per row
(batches of 1,000), the pipeline's own ``predict`` on a one-row array (what the lab's API did
per request, without pandas), and the ratio. Measures only; asserts nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import click
import numpy as np

from spendcast.model.dataset import generate, sample_customers
from spendcast.model.predictor import Predictor
from spendcast.model.training import train

ROUNDS = 5
Customer = tuple[str, int, float]


def per_call(call: Callable[[Customer], object], customers: list[Customer]) -> float:
    """Best µs per call of ``call(customer)`` over ROUNDS rounds."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        for customer in customers:
            call(customer)
        best = min(best, (time.perf_counter_ns() - start) / len(customers) / 1000)
    return best


@click.command()
@click.option("--calls", type=int, default=2000, show_default=True, help="Calls per round.")
def main(calls: int) -> None:
    """The compiled Predictor against the scikit-learn pipeline, per call."""

    pipeline = train(generate()).pipeline
    predictor = Predictor.from_pipeline(pipeline, "bench")
    customers = sample_customers(calls, seed=0)
    batch = sample_customers(1000, seed=1)

    def sklearn_one(customer: Customer) -> object:
        education, age, income = customer
        return pipeline.predict(np.array([[age, education, income]], dtype=object))[0]

    def compiled_one(customer: Customer) -> object:
        return predictor.predict_one(*customer)

    def compiled_many(_: Customer) -> object:
        return predictor.predict_many(batch)

    fast = per_call(compiled_one, customers)
    many = per_call(compiled_many, customers[: max(1, calls // 100)]) / len(batch)
    slow = per_call(sklearn_one, customers[: max(1, calls // 10)])
    print(f"Predictor.predict_one        {fast:10.3f} µs/call")
    print(f"Predictor.predict_many       {many:10.3f} µs/row (batches of {len(batch)})")
    print(f"pipeline.predict (one row)   {slow:10.3f} µs/call")
    print(f"ratio pipeline / predict_one {slow / fast:10.0f} x")


if __name__ == "__main__":
    main()
