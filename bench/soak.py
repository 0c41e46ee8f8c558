"""Soak: a steady load on the real ``spendcast serve`` for a long time, then the bill.

    .venv/bin/python -m bench soak                  # 30 minutes, 2 workers, fresh PostgreSQL db
    .venv/bin/python -m bench soak --duration 2m --rps 1000 --json soak.json
    .venv/bin/python -m bench soak --database-url sqlite:///soak.db

It trains a model in a temp directory, creates a fresh PostgreSQL database (dropped after; or
uses ``--database-url``), starts ``spendcast serve`` there, sends ``GET /predict`` at a fixed
rate (open loop: a slow answer does not slow the schedule) over keep-alive connections, each
request with an income of its own, samples the resident memory (RSS) of every worker, stops the
server with SIGTERM, and reports: requests, 200s, errors, achieved rate, latency percentiles,
rows the run added against 200s answered (``rows lost``, must be 0), rows sharing a request's
income (``duplicates``: a request recorded twice, must be 0), and each worker's RSS growth
after the warm-up (median of the first three samples after it against the last three: must stay
under 5 %). Exit code 1 when one of these fails, a worker was replaced or the stop was unclean.
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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench.cpu import worker_pids
from bench.servers import free_port
from bench.suites import train_model
from spendcast.loadtest.shared.duration import format_duration, parse_duration
from spendcast.monitoring.database import Database
from spendcast.monitoring.table import inference_log

EDUCATIONS = ("High School", "Bachelor", "Master", "PhD")
# About half of what bench/throughput.py measured for /predict on the 2-vCPU VM (6.6-7.2k rps),
# leaving room for this generator, which shares the machine.
DEFAULT_RPS = 3000
CONNECTIONS = 32
POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
RSS_GROWTH_LIMIT_PCT = 5.0
RSS_WINDOW = 3  # samples whose median is the RSS at the end of the warm-up and at the end


@dataclass
class Tally:
    sent: int = 0
    ok: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return self.sent - self.ok


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` (VmRSS), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


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


def _income(number: int) -> str:
    """A distinct income per request (0.0, 0.1, ... 9999999.9: 100 million of them)."""
    return f"{number // 10}.{number % 10}"


def _request(number: int, host: str, token: str | None) -> bytes:
    query = f"education={EDUCATIONS[number % 4]}&age={18 + number % 60}&income={_income(number)}"
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"GET /predict?{query.replace(' ', '%20')} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n".encode()
    )


async def _connection(
    host: str, port: int, token: str | None, schedule: _Schedule, tally: Tally
) -> None:
    """One keep-alive connection taking the next slot of the schedule until it ends."""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while (slot := await schedule.next()) is not None:
        number, due = slot
        tally.sent += 1
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            writer.write(_request(number, f"{host}:{port}", token))
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            tally.transport_errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        tally.latencies_ms.append((time.monotonic() - due) * 1000)
        tally.statuses[status] = tally.statuses.get(status, 0) + 1
        if status == 200:
            tally.ok += 1
    if writer is not None:
        writer.close()


class _Schedule:
    """Slot ``n`` is due at ``start + n / rps``; ends after ``seconds``."""

    def __init__(self, rps: float, seconds: float) -> None:
        self.rps = rps
        self.start = time.monotonic()
        self.end = self.start + seconds
        self.number = 0

    async def next(self) -> tuple[int, float] | None:
        number = self.number
        self.number += 1
        due = self.start + number / self.rps
        if due >= self.end:
            return None
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return number, due


async def _load(
    url: str,
    token: str | None,
    rps: float,
    seconds: float,
    pids: list[int],
    sample_seconds: float,
    samples: list[tuple[float, dict[int, float]]],
) -> Tally:
    host, port = url.removeprefix("http://").split(":")
    tally = Tally()
    schedule = _Schedule(rps, seconds)
    sampler = asyncio.create_task(_sample_rss(pids, sample_seconds, schedule, samples))
    await asyncio.gather(
        *(_connection(host, int(port), token, schedule, tally) for _ in range(CONNECTIONS))
    )
    sampler.cancel()
    samples.append((time.monotonic() - schedule.start, _rss_now(pids)))
    return tally


def _rss_now(pids: list[int]) -> dict[int, float]:
    return {pid: rss_mib(pid) for pid in pids if Path(f"/proc/{pid}").exists()}


async def _sample_rss(
    pids: list[int],
    every: float,
    schedule: _Schedule,
    samples: list[tuple[float, dict[int, float]]],
) -> None:
    while True:
        samples.append((time.monotonic() - schedule.start, _rss_now(pids)))
        await asyncio.sleep(every)


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


@click.command()
@click.option("--duration", default="30m", show_default=True, help="How long: 90, 30s, 2m, 1h.")
@click.option(
    "--warmup",
    help="RSS growth is measured from the end of this [default: a sixth of the duration].",
)
@click.option(
    "--sample-every",
    default="10s",
    show_default=True,
    help="How often the RSS of each worker is sampled.",
)
@click.option(
    "--rps",
    default=DEFAULT_RPS,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Requests per second, steady (about half of the measured capacity).",
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
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Also write the report.")
def main(
    duration: str,
    warmup: str | None,
    sample_every: str,
    rps: float,
    workers: int,
    database_url: str | None,
    postgres_server: str,
    json_path: Path | None,
) -> None:
    """Run a steady /predict load on spendcast serve; report errors, lost rows and RSS growth."""
    seconds = _seconds(duration, "--duration")
    warmup_seconds = _seconds(warmup, "--warmup") if warmup else seconds / 6
    every = _seconds(sample_every, "--sample-every")
    with tempfile.TemporaryDirectory(prefix="spendcast-soak-") as temp:
        workdir = Path(temp)
        if database_url is not None:
            report = _soak(workdir, database_url, workers, rps, seconds, warmup_seconds, every)
        else:
            with fresh_postgres(postgres_server) as url:
                report = _soak(workdir, url, workers, rps, seconds, warmup_seconds, every)
    click.echo(json.dumps({k: v for k, v in report.items() if k != "rss_samples"}, indent=2))
    if json_path is not None:  # with every RSS sample
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2) + "\n")
    failed = [name for name, bad in _verdicts(report).items() if bad]
    click.echo(f"soak: {'FAILED: ' + ', '.join(failed) if failed else 'passed'}", err=True)
    if failed:
        raise SystemExit(1)


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
        tally = asyncio.run(_load(url, token, rps, seconds, pids, sample_seconds, samples))
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
