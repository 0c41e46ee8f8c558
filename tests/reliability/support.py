"""The real server under faults: a launcher that can restart on the same state, a steady load
whose every answer is traceable to one row, and readers of ``/ready`` and ``/metrics``.

Each request of a ``Load`` carries a distinct income (``FIRST_INCOME + n``), so the set of rows
in the database can be compared with the set of requests answered 200, one for one.
"""

from __future__ import annotations

import itertools
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import httpx
import psutil

from spendcast.monitoring import read_rows
from tests.support.server import Server, free_port, wait_ready

FIRST_INCOME = 10_000
EDUCATIONS = ("High School", "Bachelor", "Master", "PhD")


@contextmanager
def serve(
    workdir: Path,
    *,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
) -> Iterator[Server]:
    """Run ``spendcast serve`` in ``workdir``; its output is appended to ``workdir/serve.log``.

    Unlike ``tests.support.server.running_server`` the output is kept for assertions and the
    caller may kill the process any way it likes; whatever still runs at exit gets SIGKILL.
    """
    port = port or free_port()
    inherited = {k: v for k, v in os.environ.items() if k != "SPENDCAST_API_TOKEN"}
    full_env = {
        **inherited,
        "SPENDCAST_MODEL_POLL_SECONDS": "0.5",
        "SPENDCAST_JOURNAL_DIR": str(workdir / "journal"),
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "spendcast", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    with (workdir / "serve.log").open("ab") as output:
        process = subprocess.Popen(
            command, cwd=workdir, env=full_env, stdout=output, stderr=subprocess.STDOUT
        )
    server = Server(process, f"http://127.0.0.1:{port}", workdir, full_env)
    try:
        wait_ready(server.url, process)
        yield server
    finally:
        if process.poll() is None:
            try:
                for child in psutil.Process(process.pid).children(recursive=True):
                    child.kill()
            except psutil.Error:
                pass  # it exited meanwhile
            process.kill()
            process.wait()


def journaled_bytes(journal_dir: Path) -> dict[int, int]:
    """Bytes of journal segments per writing process (segments are named ``<pid>-...``)."""
    sizes: dict[int, int] = {}
    for segment in journal_dir.glob("*.jsonl"):
        pid = int(segment.name.split("-", 1)[0])
        sizes[pid] = sizes.get(pid, 0) + segment.stat().st_size
    return sizes


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Poll until ``condition()`` holds; fail after ``timeout`` seconds (a hang guard only)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout} s: {what or condition}")
        time.sleep(0.05)


class Load:
    """``threads`` clients sending ``GET /predict`` back to back until ``stop()``.

    ``ok`` holds the income of every request answered 200; ``failed`` the income of every
    request that got anything else (a status or a transport error), whose row may or may not
    exist depending on when it failed. ``refused`` holds those answered 503 (backpressure: no
    row), and ``retry_after`` the ``Retry-After`` values they carried.
    """

    def __init__(self, url: str, *, threads: int = 4, token: str | None = None) -> None:
        self.url = url
        self.token = token
        self.ok: list[float] = []
        self.failed: list[float] = []
        self.refused: list[float] = []
        self.retry_after: set[str | None] = set()
        self.statuses: list[int] = []
        self.versions: dict[float, str] = {}  # income -> the model version that answered it
        self._numbers = itertools.count(FIRST_INCOME)
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(30)

    def wait_for(self, answered: int, timeout: float = 30.0) -> None:
        """Until ``answered`` more requests got a 200 than now."""
        target = len(self.ok) + answered
        wait_until(lambda: len(self.ok) >= target, timeout, f"{answered} more 200s")

    def _run(self, n: int) -> None:
        headers = {}
        if self.token is not None:  # half the clients use the cookie, half the bearer
            headers = (
                {"Cookie": f"spendcast_token={self.token}"}
                if n % 2
                else {"Authorization": f"Bearer {self.token}"}
            )
        with httpx.Client(base_url=self.url, headers=headers, timeout=20) as client:
            while not self._stopping.is_set():
                number = next(self._numbers)
                income = float(number)
                query = f"education={EDUCATIONS[number % 4]}&age={number % 100}&income={number}"
                try:
                    response = client.get(f"/predict?{query}")
                except httpx.TransportError:
                    self.failed.append(income)
                    time.sleep(0.01)
                    continue
                status = response.status_code
                self.statuses.append(status)
                (self.ok if status == 200 else self.failed).append(income)
                if status == 200:
                    self.versions[income] = response.headers.get("x-model-version", "")
                if status == 503:
                    self.refused.append(income)
                    self.retry_after.add(response.headers.get("retry-after"))
                    time.sleep(0.005)  # a refused request is cheap: do not spin on it


def recorded_incomes(database_url: str) -> list[float]:
    """The income of every row of the inference log, sorted (one per recorded request)."""
    return sorted(row["income"] for row in read_rows(database_url))


def ready(server: Server) -> dict[str, object]:
    """``/ready`` of whichever worker answers (200 or 503: both carry the recorder's state)."""
    body: dict[str, object] = httpx.get(f"{server.url}/ready", timeout=10).json()
    return body


def readiness(server: Server) -> tuple[int, list[str]]:
    """``/ready``'s status code and reasons, as a load balancer polling it sees them."""
    response = httpx.get(f"{server.url}/ready", timeout=10)
    reasons = response.json()["reasons"]
    assert isinstance(reasons, list)
    return response.status_code, [str(reason) for reason in reasons]


def recorder_status(server: Server) -> dict[str, int]:
    """The recorder counters of the worker that answered ``/ready``."""
    status = ready(server)["recorder"]
    assert isinstance(status, dict)
    return {name: int(value) for name, value in status.items()}


def recorder_metrics(server: Server) -> dict[str, float]:
    """``spendcast_recorder_*`` and ``spendcast_predictions_*`` from ``/metrics`` without their
    prefix (``backlog``, ``written_total``, ``predictions_refused_total``...): gauges summed
    over the live workers, counters over every worker that ever ran."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    pattern = re.compile(r"^spendcast_(?:recorder_)?(\w+) (\S+)$", re.MULTILINE)
    return {match[1]: float(match[2]) for match in pattern.finditer(text)}


@contextmanager
def sqlite_write_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Hold ``BEGIN EXCLUSIVE`` on the SQLite file at ``path`` from this (outside) process:
    the server's writes wait, as behind a long maintenance job."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield connection
        connection.execute("ROLLBACK")
    finally:
        connection.close()
