"""Start the real ``spendcast serve`` on a free port, for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from spendcast.loadtest.run.server_process import free_port, wait_ready

# Set by tests/conftest.py for the whole run: every server started by a test finds the models
# that an earlier one compiled (one load per trained model, not one per server start).
MODEL_CACHE = "SPENDCAST_MODEL_CACHE_DIR"

__all__ = [
    "MODEL_CACHE", "Server", "free_port", "running_server", "serve_from", "wait_ready",
    "worker_pids",
]  # fmt: skip


def serve_from(directory: Path, trained_model_dir: Path, env: pytest.MonkeyPatch) -> Path:
    """``directory`` set up for one server, through ``env``: ``SPENDCAST_MODEL_DIR`` points at
    a private copy of the trained model in it (a test that retrains disturbs no other), and no
    other ``SPENDCAST_`` variable is set, as in a user's shell, but the run's model cache
    (``MODEL_CACHE``, a machine's setting as pip's cache is)."""
    models = directory / "models"
    shutil.copytree(trained_model_dir, models)
    for name in [n for n in os.environ if n.startswith("SPENDCAST_") and n != MODEL_CACHE]:
        env.delenv(name)
    env.setenv("SPENDCAST_MODEL_DIR", str(models))
    return directory


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    workdir: Path
    env: dict[str, str]

    @property
    def database_path(self) -> Path:
        return self.workdir / "spendcast.db"

    @property
    def log_path(self) -> Path:
        return self.workdir / "api_logfile.log"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal the server and wait for it to exit; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


@contextmanager
def running_server(
    workdir: Path,
    *,
    workers: int = 1,
    token: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[Server]:
    """Run ``spendcast serve`` in ``workdir`` (its database, log and journal land there).

    The model directory must already hold a trained model (see the ``model_dir`` fixture).
    """
    port = free_port()
    env = {**os.environ, "SPENDCAST_MODEL_POLL_SECONDS": "0.5"}
    env.pop("SPENDCAST_API_TOKEN", None)
    if token is not None:
        env["SPENDCAST_API_TOKEN"] = token
    env.update(extra_env or {})
    command = [
        sys.executable, "-m", "spendcast", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), *extra_args,
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=workdir, env=env)
    server = Server(process, f"http://127.0.0.1:{port}", workdir, env)
    try:
        wait_ready(server.url, process)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def worker_pids(server: Server) -> list[int]:
    """The uvicorn worker processes of a multi-worker server (not its resource tracker)."""
    pids = []
    for child in psutil.Process(server.process.pid).children():
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                pids.append(child.pid)
        except psutil.Error:
            pass  # a dead worker not reaped yet
    return pids
