"""Run ``timeline_app`` (latency that steps at a known time, arrivals logged) on a free port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from spendcast.loadtest.run.server_process import started_server
from tests.support.fixed_service import REPO

APP = "tests.support.timeline_app:app"


@dataclass(frozen=True)
class Timeline:
    url: str
    log: Path

    def arrivals(self) -> list[tuple[float, str]]:
        """``(epoch s, query string)`` of each request received, in order of arrival."""
        lines = self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []
        pairs = [line.partition(" ") for line in lines]
        return sorted((float(at), query) for at, _, query in pairs)


@contextmanager
def timeline_server(
    log: Path, before_ms: float = 0, after_ms: float = 0, switch_s: float = 0
) -> Iterator[Timeline]:
    """``/predict`` takes ``before_ms`` for ``switch_s`` s after the first request, then
    ``after_ms``; every arrival is logged to ``log``."""
    env = {
        "TIMELINE_BEFORE_MS": f"{before_ms:g}",
        "TIMELINE_AFTER_MS": f"{after_ms:g}",
        "TIMELINE_SWITCH_S": f"{switch_s:g}",
        "TIMELINE_LOG": str(log),
    }
    command = [sys.executable, "-m", "uvicorn", APP, "--port", "{port}", "--log-level", "warning"]
    with started_server(command, cwd=REPO, env=env, ready_path="/ready") as server:
        yield Timeline(server.url, log)
