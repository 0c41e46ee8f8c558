"""Cost of ``Recorder.record()`` per call: journal write + enqueue, against a bare queue put.

    .venv/bin/python -m bench recorder [--calls 200000]

Prints nanoseconds per call (best of 5 rounds). The recorder writes to a temporary SQLite file
with its writer thread running, as in the API; the bare queue is the floor (no journal, no lock).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from queue import SimpleQueue
from typing import Any

import click

from spendcast.monitoring import Inference, Recorder

ROUNDS = 5


def sample(index: int) -> Inference:
    return Inference("Master", 18 + index % 60, 30_000.0 + index, 1234.5 + index, "bench")


def per_call(put: Callable[[Inference], None], rows: list[Inference]) -> float:
    """Best ns per call of ``put(row)`` over ROUNDS rounds."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        for row in rows:
            put(row)
        best = min(best, (time.perf_counter_ns() - start) / len(rows))
    return best


@click.command()
@click.option(
    "--calls", type=int, default=100_000, show_default=True, help="record() calls per round."
)
def main(calls: int) -> None:
    """What ``Recorder.record`` costs the request path, per call."""
    rows = [sample(index) for index in range(calls)]

    queue: SimpleQueue[Inference] = SimpleQueue()
    bare = per_call(queue.put, rows)

    # (label, Recorder options, rows per round)
    cases: list[tuple[str, dict[str, Any], int]] = [
        ("record(), writer idle", {"batch_size": 10**9, "flush_seconds": 3600.0}, calls),
        ("record(), writer inserting", {}, calls),
        ("record(), fsync=True", {"fsync": True}, max(calls // 100, 100)),
    ]
    print(f"{'bare SimpleQueue.put':30} {bare:10.0f} ns/call")
    with tempfile.TemporaryDirectory() as tmp:
        for number, (label, options, count) in enumerate(cases):
            url = f"sqlite:///{Path(tmp) / f'bench-{number}.db'}"
            journal = Path(tmp) / f"journal-{number}"
            recorder = Recorder(url, journal, buffer_rows=ROUNDS * calls + 1, **options)
            recorder.start()
            cost = per_call(recorder.record, rows[:count])
            recorder.stop(timeout=600)
            print(f"{label:30} {cost:10.0f} ns/call")


if __name__ == "__main__":
    main()
