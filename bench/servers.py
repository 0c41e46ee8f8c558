"""Start a server under test on a free loopback port, wait for it, find its workers, stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.cpu import worker_pids

# The placeholder each command uses for the port it must listen on.
PORT = "{port}"


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server: ``command`` holds ``{port}``; ``cpus`` pins it with taskset."""

    name: str
    command: tuple[str, ...]
    workers: int = 1
    cpus: str | None = None
    ready_path: str = "/health"
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    startup_timeout_s: float = 120.0


@dataclass
class RunningServer:
    spec: ServerSpec
    process: subprocess.Popen[bytes]
    url: str
    workers: list[int]
    log_path: Path


def free_port() -> int:
    """A port the kernel just handed out on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _wait(server: RunningServer) -> None:
    deadline = time.monotonic() + server.spec.startup_timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{server.spec.name} exited early:\n{tail}")
        if _answers(server.url + server.spec.ready_path):
            return
        time.sleep(0.2)
    raise TimeoutError(f"{server.spec.name} did not answer within {server.spec.startup_timeout_s}s")


def _settle_workers(server: RunningServer) -> list[int]:
    """Wait until the expected number of worker processes exist (they start after the master)."""
    deadline = time.monotonic() + 30
    pids = worker_pids(server.process.pid)
    while len(pids) < server.spec.workers and time.monotonic() < deadline:
        time.sleep(0.2)
        pids = worker_pids(server.process.pid)
    return pids


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def running(spec: ServerSpec, log_dir: Path) -> Iterator[RunningServer]:
    """Run ``spec`` in its own process group until the block ends; its output goes to a log."""
    port = free_port()
    command = [part.replace(PORT, str(port)) for part in spec.command]
    if spec.cpus:
        command = ["taskset", "-c", spec.cpus, *command]
    log_path = log_dir / f"{spec.name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=spec.cwd,
            env={**os.environ, **spec.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = RunningServer(spec, process, f"http://127.0.0.1:{port}", [], log_path)
    try:
        _wait(server)
        server.workers = _settle_workers(server)
        yield server
    finally:
        _stop(process)
