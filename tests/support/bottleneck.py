"""Run ``bottleneck_app`` (one uvicorn worker, its bottleneck known) on a free port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spendcast.loadtest.run.server_process import ServerProcess, started_server

REPO = Path(__file__).resolve().parents[2]
APP = "tests.support.bottleneck_app:app"


def command() -> str:
    """The server command for ``--server-cmd`` or ``started_server`` (``{port}`` left in)."""
    return f"{sys.executable} -m uvicorn {APP} --port {{port}} --log-level warning"


def environment(mode: str, ms: float = 10, slots: int = 4) -> dict[str, str]:
    return {"BOTTLENECK": mode, "BOTTLENECK_MS": f"{ms:g}", "BOTTLENECK_SLOTS": str(slots)}


@contextmanager
def bottleneck_server(mode: str, ms: float = 10, slots: int = 4) -> Iterator[ServerProcess]:
    with started_server(command(), cwd=REPO, env=environment(mode, ms, slots)) as server:
        yield server
