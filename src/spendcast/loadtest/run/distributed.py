"""Locust's own distributed mode, as ``spendcast loadtest --master`` and ``--worker``.

The master (``MasterOptions`` in a ``RunConfig``) runs no user: it waits for its workers,
tells them what to run, merges their exact histograms and writes the run directory. A worker
(``run_worker``) only sends requests; it needs no host, no run directory and no SLO: it gets
them from the master and exits with 0 when the master says the run is over. Its credentials
come from its own environment (``SPENDCAST_API_TOKEN`` / ``SPENDCAST_COOKIE``): secrets never
travel between machines.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

from spendcast.loadtest.run.locustfile import UserLocustfile
from spendcast.loadtest.shared.contract import (
    DUMP_OPTION,
    RECORDING_LOCUSTFILE,
    SCENARIOS_LOCUSTFILE,
)
from spendcast.loadtest.shared.credentials import locust_environment

DEFAULT_MASTER_PORT: Final = 5557  # Locust's
DEFAULT_WORKERS_WAIT_S: Final = 300


@dataclass(frozen=True)
class MasterOptions:
    """How the master listens for workers and how many it waits for before starting."""

    expect_workers: int
    bind_host: str = "*"
    bind_port: int = DEFAULT_MASTER_PORT
    workers_wait_s: int = DEFAULT_WORKERS_WAIT_S

    def __post_init__(self) -> None:
        if self.expect_workers < 1:
            raise ValueError("expect_workers must be at least 1")
        if self.workers_wait_s < 1:
            raise ValueError("workers_wait_s must be at least 1")

    def locust_args(self) -> list[str]:
        return [
            "--master",
            "--master-bind-host", self.bind_host,
            "--master-bind-port", str(self.bind_port),
            "--expect-workers", str(self.expect_workers),
            "--expect-workers-max-wait", str(self.workers_wait_s),
        ]  # fmt: skip


@dataclass(frozen=True)
class WorkerConfig:
    """One load-generating machine: where its master is, how many processes it forks.

    ``dump_dir`` keeps all each worker process recorded (``worker-<client id>.json``);
    ``think_time`` is only a fallback: a master started with ``--think-time`` sends its own.
    ``user_file``: the user's locustfile, the same file the master runs (its users must be
    there: the master only sends their names).
    """

    master_host: str
    master_port: int = DEFAULT_MASTER_PORT
    processes: int | None = None
    dump_dir: Path | None = None
    think_time: str | None = None
    token: str | None = None
    cookie: str | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)
    user_file: UserLocustfile | None = None


def worker_command(config: WorkerConfig) -> list[str]:
    users = config.user_file.files if config.user_file else (SCENARIOS_LOCUSTFILE,)
    command = [
        sys.executable, "-m", "locust",
        "-f", ",".join(str(p) for p in [*users, RECORDING_LOCUSTFILE]),
        "--worker",
        "--master-host", config.master_host,
        "--master-port", str(config.master_port),
        "--exit-code-on-error", "0",  # failed requests are results, not a crash
    ]  # fmt: skip
    if config.processes is not None:
        command += ["--processes", str(config.processes)]
    if config.dump_dir is not None:
        command += [DUMP_OPTION, str(config.dump_dir.resolve())]
    return command


def worker_environment(config: WorkerConfig) -> dict[str, str]:
    env = locust_environment(config.extra_env, config.token, config.cookie, config.think_time)
    if config.user_file is not None:
        env["PYTHONPATH"] = config.user_file.python_path(env)
    return env


def run_worker(config: WorkerConfig, output: IO[bytes] | None = None) -> int:
    """Run a Locust worker until its master ends the run; Locust's exit code (0: done)."""
    # cwd: a neutral folder, so no locust.conf or pyproject.toml around changes the run.
    process = subprocess.Popen(
        worker_command(config),
        cwd=tempfile.gettempdir(),
        env=worker_environment(config),
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        stdin=subprocess.DEVNULL,
    )
    try:
        return process.wait()
    except BaseException:
        if process.poll() is None:  # Ctrl-C: Locust stops its users and tells the master
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
        raise
