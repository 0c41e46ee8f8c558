"""The soak's load: ``GET /predict`` at a fixed rate (open loop: slot ``n`` is due at
``start + n / rps`` whatever the answers' pace) over keep-alive connections, each request with
an income of its own, while the resident memory of the server's workers is sampled."""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from dataclasses import dataclass, field

from bench.memory import resident_kib

EDUCATIONS = ("High School", "Bachelor", "Master", "PhD")
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
    host: str, port: int, token: str | None, schedule: Schedule, tally: Tally
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


class Schedule:
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


async def steady_load(
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
    schedule = Schedule(rps, seconds)
    sampler = asyncio.create_task(_sample_rss(pids, sample_seconds, schedule, samples))
    await asyncio.gather(
        *(_connection(host, int(port), token, schedule, tally) for _ in range(CONNECTIONS))
    )
    sampler.cancel()
    samples.append((time.monotonic() - schedule.start, rss_now(pids)))
    return tally


def rss_now(pids: list[int]) -> dict[int, float]:
    """Resident memory (MiB) of each of ``pids`` that is resident now: one gone, or a zombie (no
    ``VmRSS``: it died, not yet reaped), is missing from the sample, as ``soak.rss_growth``
    expects of a worker that died (a 0 would be read as its memory)."""
    sample: dict[int, float] = {}
    for pid in pids:
        with suppress(FileNotFoundError, ProcessLookupError):
            if (kib := resident_kib(pid)) > 0:
                sample[pid] = kib / 1024
    return sample


async def _sample_rss(
    pids: list[int],
    every: float,
    schedule: Schedule,
    samples: list[tuple[float, dict[int, float]]],
) -> None:
    while True:
        samples.append((time.monotonic() - schedule.start, rss_now(pids)))
        await asyncio.sleep(every)
