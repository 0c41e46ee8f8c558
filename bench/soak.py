"""Soak: a steady load on the real ``spendcast serve`` for a long time, then the bill.

    .venv/bin/python -m bench soak                  # 30 minutes, 2 workers, fresh PostgreSQL db
    .venv/bin/python -m bench soak --duration 2m --rps 1000 --out runs/soak
    .venv/bin/python -m bench soak --quick --database-url sqlite:///soak.db

It trains a model in a temp directory, creates a fresh PostgreSQL database (dropped after; or
uses ``--database-url``), starts ``spendcast serve`` there, sends ``GET /predict`` at a fixed
rate (open loop: a slow answer does not slow the schedule) over keep-alive connections, each
request with an income of its own, samples the resident memory (RSS) of every worker, stops the
server with SIGTERM, and reports: requests, 200s, errors, achieved rate, latency percentiles,
rows the run added against 200s answered (``rows lost``, must be 0), rows sharing a request's
income (``duplicates``: a request recorded twice, must be 0), and each worker's RSS growth
after the warm-up (median of the first three samples after it against the last three: must stay
under 5 %), into ``--out``'s results.json with every RSS sample. Exit code 1 when one of these
fails, a worker was replaced or the stop was unclean.
A benchmark, not a test: nothing here is timed.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench.cpu import worker_pids
from bench.options import shared_options
from bench.results import Ratio, Results, command_line
from bench.servers import free_port
from bench.soak_load import steady_load
from bench.suites import train_model
from spendcast.loadtest.shared.duration import format_duration, parse_duration
from spendcast.monitoring.database import Database
from spendcast.monitoring.table import inference_log

# About half of what bench/throughput.py measured for /predict on the 2-vCPU VM (6.6-7.2k rps),
# leaving room for this generator, which shares the machine.
DEFAULT_RPS = 3000
POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
RSS_GROWTH_LIMIT_PCT = 5.0
RSS_WINDOW = 3  # samples whose median is the RSS at the end of the warm-up and at the end


def rss_growth(
    samples: Sequence[tuple[float, Mapping[int, float]]], warmup_seconds: float
) -> dict[int, dict[str, float]]:
    """Per worker: RSS (MiB) at the first sample, after the warm-up, at the end, and the growth
    in percent from after the warm-up to the end (medians of ``RSS_WINDOW`` samples each).

    ``samples`` are ``(seconds since the load started, {pid: RSS MiB})``; a worker missing from
    some samples (it died) is reported over the samples that have it.
    """
    result: dict[int, dict[str, float]] = {}
    for pid in sorted({pid for _, rss in samples for pid in rss}):
        series = [(t, rss[pid]) for t, rss in samples if pid in rss]
        after = [value for t, value in series if t >= warmup_seconds] or [series[-1][1]]
        settled = statistics.median(after[:RSS_WINDOW])
        end = statistics.median(after[-RSS_WINDOW:])
        result[pid] = {
            "start": round(series[0][1], 1),
            "after_warmup": round(settled, 1),
            "end": round(end, 1),
            "growth_pct": round((end - settled) / settled * 100, 2),
        }
    return result


@contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    """A new database ``spendcast_soak_<hex>`` on ``server_url``'s server, dropped after."""
    admin = create_engine(make_url(server_url), isolation_level="AUTOCOMMIT")
    name = f"spendcast_soak_{secrets.token_hex(4)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _rows_since(database_url: str, since: datetime) -> tuple[int, int]:
    """Rows of the inference log created since ``since``, and their distinct incomes."""
    database = Database(database_url)
    query = select(func.count(), func.count(inference_log.c.income.distinct())).where(
        inference_log.c.created_at >= since
    )
    try:
        with database.engine.connect() as connection:
            rows, incomes = connection.execute(query).one()
    finally:
        database.close()
    return int(rows), int(incomes)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"spendcast serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise click.ClickException("spendcast serve was not ready within 120 s")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@shared_options(
    "soak", rounds=1, quick_rounds=1, quick="10 s at 300 rps, RSS every second", pin="none"
)
@click.option("--duration", help="How long: 90, 30s, 2m, 1h [30m; --quick: 10s].")
@click.option(
    "--warmup",
    help="RSS growth is measured from the end of this [default: a sixth of the duration].",
)
@click.option("--sample-every", help="How often the RSS of each worker is sampled [10s; 1s].")
@click.option(
    "--rps",
    type=click.FloatRange(min=1),
    help=f"Requests per second, steady (about half of the measured capacity) [{DEFAULT_RPS}; 300].",
)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--database-url",
    envvar="SPENDCAST_DATABASE_URL",
    help="Inference log database [default: a fresh database on --postgres, dropped after].",
)
@click.option(
    "--postgres",
    "postgres_server",
    default=POSTGRES_SERVER,
    show_default=True,
    help="The PostgreSQL server (any database on it) where the fresh database is created.",
)
def main(
    quick: bool, rounds: int, pin: bool, out: Path, duration: str | None, warmup: str | None,
    sample_every: str | None, rps: float | None, workers: int, database_url: str | None,
    postgres_server: str,
) -> None:  # fmt: skip
    """Run a steady /predict load on spendcast serve; report errors, lost rows and RSS growth."""
    seconds = _seconds(duration or ("10s" if quick else "30m"), "--duration")
    warmup_seconds = _seconds(warmup, "--warmup") if warmup else seconds / 6
    every = _seconds(sample_every or ("1s" if quick else "10s"), "--sample-every")
    rps = rps or (300 if quick else DEFAULT_RPS)
    reports: list[dict[str, object]] = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="spendcast-soak-") as temp:
            workdir = Path(temp)
            if database_url is not None:
                report = _soak(workdir, database_url, workers, rps, seconds, warmup_seconds, every)
            else:
                with fresh_postgres(postgres_server) as url:
                    report = _soak(workdir, url, workers, rps, seconds, warmup_seconds, every)
        click.echo(json.dumps({k: v for k, v in report.items() if k != "rss_samples"}, indent=2))
        reports.append(report)
    failed = sorted({name for r in reports for name, bad in _verdicts(r).items() if bad})
    written = Results("soak", command_line(), rounds, *_figures(reports)).write(
        out, {"reports": reports, "failed": failed}
    )  # every RSS sample
    click.echo(f"wrote {written}", err=True)
    click.echo(f"soak: {'FAILED: ' + ', '.join(failed) if failed else 'passed'}", err=True)
    if failed:
        raise SystemExit(1)


def _figures(
    reports: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, Ratio], dict[str, tuple[float, ...]]]:
    """Per round: achieved / target rate (a ratio), rate, latency, RSS growth, rows lost."""
    ratios = {
        "achieved / target rps": Ratio.of([r["achieved_rps"] / r["target_rps"] for r in reports])
    }
    figures = {
        "achieved rps": tuple(r["achieved_rps"] for r in reports),
        "p50 ms": tuple(r["latency_ms"]["p50"] for r in reports),
        "p99 ms": tuple(r["latency_ms"]["p99"] for r in reports),
        "max rss growth %": tuple(r["max_rss_growth_pct"] for r in reports),
        "rows lost": tuple(r["rows_lost"] for r in reports),
    }
    return ratios, figures


def _seconds(value: str, hint: str) -> int:
    try:
        return parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=hint) from None


def _verdicts(report: Mapping[str, object]) -> dict[str, bool]:
    """What failed (True) among the soak's promises."""
    growth = report["max_rss_growth_pct"]
    assert isinstance(growth, float | int)
    return {
        "errors": bool(report["errors"]),
        "rows lost": report["rows_lost"] != 0,
        "duplicates": bool(report["duplicates"]),
        f"RSS growth >= {RSS_GROWTH_LIMIT_PCT:g} %": growth >= RSS_GROWTH_LIMIT_PCT,
        "a worker was replaced": bool(report["workers_replaced"]),
        "unclean stop": report["exit_code"] != 0,
    }


def _soak(
    workdir: Path,
    database_url: str,
    workers: int,
    rps: float,
    seconds: int,
    warmup_seconds: float,
    sample_seconds: float,
) -> dict[str, object]:
    token = "soak-" + os.urandom(8).hex()
    train_model(workdir / "models")
    env = {
        **os.environ,
        "SPENDCAST_MODEL_DIR": str(workdir / "models"),
        "SPENDCAST_DATABASE_URL": database_url,
        "SPENDCAST_API_TOKEN": token,
        "SPENDCAST_LOG_LEVEL": "warning",
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "spendcast", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=workdir, env=env)
    samples: list[tuple[float, dict[int, float]]] = []
    try:
        _wait_ready(url, process)
        pids = worker_pids(process.pid)
        click.echo(
            f"soak: {format_duration(seconds)} at {rps:g} rps on {workers} worker(s), "
            f"RSS every {sample_seconds:g} s, growth measured after {warmup_seconds:g} s",
            err=True,
        )
        since = datetime.now(UTC) - timedelta(seconds=1)
        started = time.monotonic()
        tally = asyncio.run(steady_load(url, token, rps, seconds, pids, sample_seconds, samples))
        elapsed = time.monotonic() - started
        replaced = sorted(set(worker_pids(process.pid)) - set(pids))
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    rows, incomes = _rows_since(database_url, since)
    growth = rss_growth(samples, warmup_seconds)
    return {
        "duration_s": seconds,
        "target_rps": rps,
        "achieved_rps": round(tally.ok / elapsed, 1),
        "workers": workers,
        "database": make_url(database_url).get_backend_name(),
        "requests": tally.sent,
        "ok_200": tally.ok,
        "errors": tally.errors,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "transport_errors": tally.transport_errors,
        "latency_ms": {
            "p50": round(_percentile(tally.latencies_ms, 0.50), 2),
            "p99": round(_percentile(tally.latencies_ms, 0.99), 2),
            "max": round(max(tally.latencies_ms, default=0.0), 2),
        },
        "rows_written": rows,
        "rows_lost": tally.ok - rows,
        "duplicates": rows - incomes,
        "warmup_s": warmup_seconds,
        "rss_mib": {str(pid): values for pid, values in growth.items()},
        "max_rss_growth_pct": max((v["growth_pct"] for v in growth.values()), default=0.0),
        "rss_growth_limit_pct": RSS_GROWTH_LIMIT_PCT,
        "rss_samples": [
            {"t_s": round(t, 1), **{str(pid): round(mib, 1) for pid, mib in rss.items()}}
            for t, rss in samples
        ],
        "workers_replaced": replaced,
        "exit_code": exit_code,
    }


if __name__ == "__main__":
    main()
