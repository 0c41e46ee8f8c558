"""What the kit's recording costs Locust per request, in-process (no network, no server).

    .venv/bin/python -m bench recording [--requests 100000] [--rate 8000] [--rounds 5]

Fires Locust's ``events.request`` as a request would, without and with the kit's listener
(``LocustSide.on_request``, which ``hooks.register`` attaches), both in every round, and prints
the difference in microseconds per request (the best round; results.json keeps every round's).
Then the work the kit does once a second, at ``--rate`` requests a second: moving a second's
response times into the HDR histograms, closing the second, and the live percentiles of the
progress line, per second and per request. Importing Locust monkey-patches this process with
gevent: run it as a script, never import it.
"""

from __future__ import annotations

import random
import time
import timeit
from pathlib import Path
from typing import Any

import click
from locust import events

from bench.options import shared_options
from bench.report import format_table
from bench.results import Ratio, Results, command_line
from spendcast.loadtest.locust.progress_writer import LIVE_PERCENTILES
from spendcast.loadtest.locust.side import LocustSide
from spendcast.loadtest.shared.recording import Recording


def _fire_cost(requests: int) -> float:
    """Microseconds per ``events.request.fire`` with the listeners attached now."""
    context: dict[str, object] = {}
    times = [2.5 + (i % 100) * 0.01 for i in range(requests)]

    request: Any = events.request  # EventHook is untyped

    def fire() -> None:
        now = time.time()
        for response_time in times:
            request.fire(
                request_type="GET", name="/health", response_time=response_time,
                response_length=15, response=None, context=context, exception=None,
                start_time=now, url="http://127.0.0.1/health",
            )  # fmt: skip

    return timeit.timeit(fire, number=1) / requests * 1e6


FIGURES = (
    "fire, Locust's own listeners: us/request",
    "fire, with the kit's listener: us/request",
    "into the histograms: ms/second",
    "close the second: ms/second",
    "live percentiles: ms/second",
)


def _per_second_cost(rate: int) -> tuple[float, float, float]:
    """Median milliseconds per second of flushing, closing and live percentiles."""
    recording = Recording()
    rng = random.Random(1)
    start = 1_700_000_000
    flush, close, live = [], [], []
    for second in range(20):
        for i in range(rate):
            ms = rng.lognormvariate(1.0, 0.5)
            recording.record("GET", "/health", ms, False, start + second + i / rate)
        a = time.perf_counter()
        endpoints = recording.endpoints  # moves the pending values into the histograms
        b = time.perf_counter()
        recording.close_seconds(start + second)
        c = time.perf_counter()
        for tally in endpoints.values():
            tally.histogram.percentiles_ms(LIVE_PERCENTILES)
        d = time.perf_counter()
        flush.append(b - a)
        close.append(c - b)
        live.append(d - c)

    def median_ms(values: list[float]) -> float:
        return sorted(values)[len(values) // 2] * 1000

    return median_ms(flush), median_ms(close), median_ms(live)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options(
    "recording", rounds=5, quick_rounds=2, quick="10,000 requests at 2,000/s", pin="process"
)
@click.option("--requests", type=int, default=None, help="Requests per round [100,000; 10,000].")
@click.option("--rate", type=int, default=None, help="Requests per second [8,000; 2,000].")
def main(
    quick: bool, rounds: int, pin: bool, out: Path, requests: int | None, rate: int | None
) -> None:
    """What the kit's recording costs Locust: per request, and its once-a-second work."""
    requests = requests or (10_000 if quick else 100_000)
    rate = rate or (2_000 if quick else 8_000)
    request: Any = events.request  # EventHook is untyped
    figures: dict[str, list[float]] = {}
    for _ in range(rounds):
        bare = _fire_cost(requests)
        side = LocustSide()
        request.add_listener(side.on_request)
        with_kit = _fire_cost(requests)
        request.remove_listener(side.on_request)
        per_second = _per_second_cost(rate)
        for name, value in zip(FIGURES, (bare, with_kit, *per_second), strict=True):
            figures.setdefault(name, []).append(round(value, 4))
    bare, with_kit, flush, close, live = (min(figures[name]) for name in FIGURES)
    per_request = (flush + close + live) * 1000 / rate
    rows = [
        ["events.request.fire, Locust's own listeners", f"{bare:.2f}", ""],
        ["... with the kit's listener", f"{with_kit:.2f}", ""],
        ["the kit's listener", f"{with_kit - bare:.2f}", ""],
        [f"once a second at {rate:,} req/s: into the histograms", "", f"{flush:.2f}"],
        ["... close the second (encode it)", "", f"{close:.2f}"],
        ["... live p50/p95/p99", "", f"{live:.2f}"],
        ["the per-second work, per request", f"{per_request:.2f}", ""],
    ]
    click.echo(format_table(["kit recording", "us/request", "ms/second"], rows))
    pairs = zip(figures[FIGURES[1]], figures[FIGURES[0]], strict=True)
    results = Results(
        "recording",
        command_line(),
        rounds,
        ratios={"with the kit's listener / without, per request": Ratio.of(
            [kit / plain for kit, plain in pairs]
        )},
        figures={name: tuple(values) for name, values in figures.items()},
    )  # fmt: skip
    written = results.write(out, {"settings": {"requests": requests, "rate": rate}})
    click.echo(f"\nwrote {written}", err=True)


if __name__ == "__main__":
    main()
