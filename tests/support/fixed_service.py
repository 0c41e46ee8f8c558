"""Run ``fixed_service_app`` (one uvicorn worker, a known service time) on a free port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spendcast.loadtest.run.server_process import ServerProcess, started_server

REPO = Path(__file__).resolve().parents[2]
APP = "tests.support.fixed_service_app:app"


def command() -> list[str]:
    """The server command, ``{port}`` left for ``started_server`` (env sets the service time)."""
    return [sys.executable, "-m", "uvicorn", APP, "--port", "{port}", "--log-level", "warning"]


def environment(service_ms: float = 10, cpu_ms: float = 0) -> dict[str, str]:
    return {"FIXED_SERVICE_MS": f"{service_ms:g}", "FIXED_CPU_MS": f"{cpu_ms:g}"}


@contextmanager
def fixed_service(service_ms: float = 10, cpu_ms: float = 0) -> Iterator[ServerProcess]:
    """One worker serving ``/predict`` in ``service_ms`` (+ ``cpu_ms`` of CPU), one at a time."""
    with started_server(
        command(), cwd=REPO, env=environment(service_ms, cpu_ms), ready_path="/ready"
    ) as server:
        yield server
