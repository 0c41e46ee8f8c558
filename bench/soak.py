"""Soak: a steady load on the real ``spendcast serve`` for a long time, then the bill.

    .venv/bin/python bench/soak.py                       # 10 minutes, 2 workers, SQLite
    .venv/bin/python bench/soak.py --duration 2m --database-url \\
        postgresql+psycopg://postgres@127.0.0.1:5432/soak

It trains a model in a temp directory, starts ``spendcast serve`` there, sends ``GET /predict``
at a fixed rate (open loop: a slow answer does not slow the schedule) over keep-alive
connections, stops the server with SIGTERM, and reports: requests, 200s, errors, achieved rate,
latency percentiles, rows the inference log gained against 200s answered (``rows lost``, must be
0), and the resident memory (RSS) of each worker at start and end. Exit code 1 when there was
an error, a lost row or an unclean stop. A benchmark, not a test: nothing here is timed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import click
import httpx

from bench.cpu import worker_pids
from bench.servers import free_port
from spendcast.loadtest.run.duration import format_duration, parse_duration
from spendcast.monitoring import count_rows

EDUCATIONS = ("High School", "Bachelor", "Master", "PhD")
# About half of what bench/throughput.py measured for /predict on the 2-vCPU VM (6.6-7.2k rps),
# leaving room for this generator, which shares the machine.
DEFAULT_RPS = 3000
CONNECTIONS = 32


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


def _request(number: int, host: str, token: str | None) -> bytes:
    query = (
        f"education={EDUCATIONS[number % 4]}&age={18 + number % 60}&income={1000 + number % 90_000}"
    )
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


async def _load(url: str, token: str | None, rps: float, seconds: float) -> Tally:
    host, port = url.removeprefix("http://").split(":")
    tally = Tally()
    schedule = _Schedule(rps, seconds)
    await asyncio.gather(
        *(_connection(host, int(port), token, schedule, tally) for _ in range(CONNECTIONS))
    )
    return tally


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
@click.option("--duration", default="10m", show_default=True, help="How long: 90, 30s, 2m, 1h.")
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
    help="Inference log database [default: a fresh SQLite file in the temp directory].",
)
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Also write the report.")
def main(
    duration: str, rps: float, workers: int, database_url: str | None, json_path: Path | None
) -> None:
    """Run a steady /predict load on spendcast serve and report errors, lost rows and RSS."""
    try:
        seconds = parse_duration(duration)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--duration") from None
    with tempfile.TemporaryDirectory(prefix="spendcast-soak-") as temp:
        workdir = Path(temp)
        database_url = database_url or f"sqlite:///{workdir / 'spendcast.db'}"
        report = _soak(workdir, database_url, workers, rps, seconds)
    text = json.dumps(report, indent=2)
    click.echo(text)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(text + "\n")
    if report["errors"] or report["rows_lost"] or report["exit_code"] != 0:
        raise SystemExit(1)


def _soak(
    workdir: Path, database_url: str, workers: int, rps: float, seconds: int
) -> dict[str, object]:
    token = "soak-" + os.urandom(8).hex()
    subprocess.run(
        [sys.executable, "-m", "spendcast", "train", "--model-dir", str(workdir / "models")],
        check=True,
        capture_output=True,
    )
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
    try:
        _wait_ready(url, process)
        rows_before = count_rows(database_url)
        pids = worker_pids(process.pid)
        rss_start = {pid: rss_mib(pid) for pid in pids}
        click.echo(
            f"soak: {format_duration(seconds)} at {rps:g} rps on {workers} worker(s)", err=True
        )
        started = time.monotonic()
        tally = asyncio.run(_load(url, token, rps, seconds))
        elapsed = time.monotonic() - started
        rss_end = {pid: rss_mib(pid) for pid in pids if Path(f"/proc/{pid}").exists()}
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    rows = count_rows(database_url) - rows_before
    return {
        "duration_s": seconds,
        "target_rps": rps,
        "achieved_rps": round(tally.ok / elapsed, 1),
        "workers": workers,
        "database": database_url.split("://")[0],
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
        "rss_mib": {
            str(pid): {"start": round(rss_start[pid], 1), "end": round(rss_end.get(pid, 0.0), 1)}
            for pid in pids
        },
        "exit_code": exit_code,
    }


if __name__ == "__main__":
    main()
