"""Where the time of one request goes, measured in-process (no server, no network, no noise
from the load generator): the app is driven through ASGI calls, and each piece of the
``/predict`` path is timed on its own.

    python -m bench hotpath [--requests 20000] [--rounds 5] [--quick]

Prints microseconds per request for the bare ASGI hello, ``/health`` and ``/predict`` (the
best round; results.json keeps every round's, and ``/predict / /health`` paired per round),
then the cost of each component of ``/predict``. The server's own HTTP work
(parsing, writing) is not in these numbers: ``throughput.py`` measures it with the hello.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bench.options import shared_options
from bench.report import format_table
from bench.results import Ratio, Results, command_line
from bench.suites import spendcast_env, train_model

EDUCATIONS = ("High School", "Bachelor", "Master", "PhD")
TOKEN = "hotpath-token"
App = Callable[..., Any]
POOL = 1000


def _scope(path: str, query: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"wrk"),
            (b"cookie", f"spendcast_token={TOKEN}".encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


def _queries(count: int) -> list[bytes]:
    rng = random.Random(5)
    return [
        f"education={rng.choice(EDUCATIONS).replace(' ', '%20')}&age={rng.randint(18, 80)}"
        f"&income={rng.randint(12, 150) * 1000}".encode()
        for _ in range(count)
    ]


async def _drive(app: App, path: str, queries: list[bytes]) -> float:
    """Seconds per request over ``queries``; fails unless every answer is a 200."""
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    # A small pool of templates, copied per request (the app adds keys to its scope): a list
    # of one scope per request would itself make the garbage collector's full passes slow.
    templates = [_scope(path, query) for query in queries[:POOL]]
    start = time.perf_counter()
    for index in range(len(queries)):
        await app(dict(templates[index % len(templates)]), receive, send)
    elapsed = time.perf_counter() - start
    bad = [s for s in statuses if s != 200]
    if bad:
        raise click.ClickException(f"{path}: {len(bad)} answers were not 200 (first {bad[0]})")
    return elapsed / len(queries)


async def _cpu_per_request(runtime: Any, app: App, path: str, queries: list[bytes]) -> float:
    """Process CPU seconds per request, counting the deferred work of the background threads
    (log lines written, inferences inserted) once they have caught up."""
    await _settle(runtime)  # the rows of earlier rounds are not this route's work
    start = time.process_time()
    await _drive(app, path, queries)
    await _settle(runtime)
    return (time.process_time() - start) / len(queries)


async def _settle(runtime: Any) -> None:
    """Wait until the recorder and the log writer threads have caught up."""
    deadline = time.monotonic() + 60
    while runtime.recorder_stats().backlog and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # the log writer thread wakes every 0.1 s


def _micro(stmt: Callable[[], object], number: int = 50_000) -> float:
    """Best-of-5 microseconds per call."""
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e6


async def _measure(requests: int, rounds: int) -> tuple[dict[str, list[float]], dict[str, float]]:
    from bench.hello_asgi import app as hello
    from spendcast.api.app import create_app
    from spendcast.api.responses import with_model_version
    from spendcast.monitoring import Inference
    from spendcast.settings import Settings

    app = create_app(Settings())
    queries = _queries(requests)
    no_query = [b""] * requests
    routes: dict[str, list[float]] = {}
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        for _ in range(rounds):
            for name, target, path, query in (
                ("bare ASGI hello", hello, "/health", no_query),
                ("/health", app, "/health", no_query),
                ("/predict", app, "/predict", queries),
            ):
                routes.setdefault(name, []).append(await _drive(target, path, query))
        for name, target, path, query in (
            ("/health", app, "/health", no_query),
            ("/predict", app, "/predict", queries),
        ):
            routes[f"{name} CPU incl. log + recorder threads"] = [
                await _cpu_per_request(runtime, target, path, query)
            ]
        predictor, recorder = runtime.predictor, runtime.recorder
        inference = Inference("PhD", 42, 50_000.0, 1234.5, predictor.version)
        parts = {
            "predictor.predict_one": _micro(lambda: predictor.predict_one("PhD", 42, 50_000.0)),
            "Inference(...) (id, timestamp)": _micro(
                lambda: Inference("PhD", 42, 50_000.0, 1234.5, predictor.version)
            ),
            "recorder.record(inference)": _micro(lambda: recorder.record(inference)),
            "access_log.write(...)": _micro(
                lambda: runtime.access_log.write("127.0.0.1:40000", "GET", "/predict", 200, 0.1)
            ),
            "metrics.observe_request(...)": _micro(
                lambda: runtime.metrics.observe_request("GET", "/predict", 200, 0.0001)
            ),
            "metrics.predictions.inc()": _micro(runtime.metrics.predictions.inc),
            "with_model_version(number)": _micro(
                lambda: with_model_version(1234.5, predictor.version)
            ),
        }
    return {k: [v * 1e6 for v in values] for k, values in routes.items()}, parts


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options("hotpath", rounds=5, quick_rounds=2, quick="2,000 requests a round", pin="process")
@click.option("--requests", type=int, default=None, help="Per round [20,000; --quick: 2,000].")
@click.option("--loop", type=click.Choice(["uvloop", "asyncio"]), default="uvloop",
              show_default=True, help="Event loop the app runs on.")  # fmt: skip
def main(quick: bool, rounds: int, pin: bool, out: Path, requests: int | None, loop: str) -> None:
    """Microseconds per request in-process, and per component of /predict."""
    requests = requests or (2_000 if quick else 20_000)
    with tempfile.TemporaryDirectory(prefix="spendcast-hotpath-") as tmp:
        work = Path(tmp)
        train_model(work / "models")
        os.environ.update(spendcast_env(work, work / "models", TOKEN))
        if loop == "uvloop":
            import uvloop

            routes, parts = uvloop.run(_measure(requests, rounds))
        else:
            routes, parts = asyncio.run(_measure(requests, rounds))

    best = {name: min(values) for name, values in routes.items()}
    predict = best["/predict"]
    rows = [[name, f"{us:.1f}", f"{us / predict:.0%}"] for name, us in best.items()]
    click.echo(format_table(["in-process route", "us/request", "of /predict"], rows))
    click.echo(f"\n/predict - /health = {predict - best['/health']:.1f} us")
    click.echo(f"predict/health rps ratio in-process = {best['/health'] / predict:.2f}\n")
    rows = [[name, f"{us:.2f}", f"{us / predict:.0%}"] for name, us in parts.items()]
    click.echo(format_table(["component of /predict", "us/call", "of /predict"], rows))
    pairs = zip(routes["/predict"], routes["/health"], strict=True)
    results = Results(
        "hotpath",
        command_line(),
        rounds,
        ratios={"/predict / /health, us per request": Ratio.of([p / h for p, h in pairs])},
        figures={
            f"{name}: us/request": tuple(round(v, 3) for v in values)
            for name, values in routes.items()
        },
    )
    written = results.write(out, {"settings": {"requests": requests, "loop": loop},
                                  "components_us": parts})  # fmt: skip
    click.echo(f"\nwrote {written}")


if __name__ == "__main__":
    main()
