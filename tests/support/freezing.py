"""Run ``freezing_app`` (answers at once, except ``F`` seconds every ``P``) on a free port."""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spendcast.loadtest.run.server_process import ServerProcess, started_server

REPO = Path(__file__).resolve().parents[2]
APP = "tests.support.freezing_app:app"


@contextmanager
def freezing_server(freeze_s: float, period_s: float) -> Iterator[ServerProcess]:
    """One uvicorn worker frozen during ``[n·period_s, n·period_s + freeze_s)`` (epoch)."""
    command = [sys.executable, "-m", "uvicorn", APP, "--port", "{port}", "--log-level", "warning"]
    env = {"FREEZE_S": f"{freeze_s:g}", "FREEZE_PERIOD_S": f"{period_s:g}"}
    with started_server(command, cwd=REPO, env=env, ready_path="/ready") as server:
        yield server


def received(url: str) -> dict[str, int]:
    """Requests the server received, by path (``/ready`` and ``/count`` left out)."""
    with urllib.request.urlopen(f"{url}/count", timeout=10) as response:
        counts = json.loads(response.read())
    return {str(path): int(n) for path, n in counts.items()}
